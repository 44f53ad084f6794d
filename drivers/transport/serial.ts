/**
 * Serial transport over serialport v13 (RS-232/RS-485 USB adapters, and socat PTYs in tests).
 *
 * Pitfalls handled (protocols.md §7):
 * - An unplugged adapter emits 'close' with `disconnected: true`; older releases emitted nothing until
 *   the next write failed with ENXIO, so the configured path is also watched: when the device node or
 *   its /dev/serial/by-id link disappears the link is reported lost without waiting for a write.
 * - "Cannot lock port": the port is held by another process or by an instance not closed. It is mapped to
 *   `busy`; close() always releases the lock before a caller may reopen.
 * - No built-in reconnect: this class only reports the loss through onClose; the supervisor reopens.
 * - PTYs ignore the baud rate and do not implement modem-line ioctls, so nothing here calls get()/set().
 */
import { access } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { Faults } from '../../protocol/faults.js';
import type { Transport } from './types.js';

export interface SerialTransportOptions {
  /** Prefer /dev/serial/by-id/… or /dev/serial/by-path/…: ttyUSBn numbers change after a re-plug. */
  path: string;
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 1.5 | 2;
  /** Exclusive lock (TIOCEXCL), default true: two agents driving one projector is never right. */
  lock?: boolean;
  /** How often the path's presence is checked while open; 0 disables. Default 1000 ms. */
  presenceCheckMs?: number;
}

function openError(description: string, err: NodeJS.ErrnoException): AgentError {
  const msg = err.message ?? String(err);
  if (/cannot lock port|resource temporarily unavailable/i.test(msg)) {
    return new AgentError(ErrorCodes.busy, `${description}: port is in use by another program (cannot lock port)`, { retryable: true, cause: err, fault: Faults.port_locked });
  }
  if (err.code === 'ENOENT' || /no such file/i.test(msg)) {
    return new AgentError(ErrorCodes.not_found, `${description}: no such device (adapter unplugged?)`, { retryable: true, cause: err, fault: Faults.adapter_missing });
  }
  if (err.code === 'EACCES' || /permission denied/i.test(msg)) {
    return new AgentError(ErrorCodes.forbidden, `${description}: permission denied (is the agent's user in the dialout group?)`, { cause: err, fault: Faults.port_permission });
  }
  return new AgentError(ErrorCodes.disconnected, `${description}: ${msg}`, { retryable: true, cause: err });
}

export class SerialTransport implements Transport {
  readonly description: string;
  private readonly opts: Required<SerialTransportOptions>;
  private port: SerialPort | undefined;
  private closing = false;
  private lost = false;
  private watch: NodeJS.Timeout | undefined;
  private readonly dataListeners: ((chunk: Buffer) => void)[] = [];
  private readonly closeListeners: ((err: Error) => void)[] = [];

  constructor(options: SerialTransportOptions) {
    this.opts = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, lock: true, presenceCheckMs: 1000, ...options };
    this.description = `serial ${options.path}@${this.opts.baudRate}`;
  }

  get isOpen(): boolean {
    return this.port !== undefined && this.port.isOpen && !this.lost;
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (err: Error) => void): void {
    this.closeListeners.push(listener);
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    if (this.port) await this.close();
    this.closing = false;
    this.lost = false;
    try {
      await access(this.opts.path);
    } catch (err) {
      throw openError(this.description, err as NodeJS.ErrnoException);
    }
    const port = new SerialPort({
      path: this.opts.path,
      baudRate: this.opts.baudRate,
      dataBits: this.opts.dataBits,
      parity: this.opts.parity as 'none',
      stopBits: this.opts.stopBits,
      lock: this.opts.lock,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(openError(this.description, err as NodeJS.ErrnoException)) : resolve()));
    });
    this.port = port;
    port.on('data', (chunk: Buffer) => {
      for (const l of this.dataListeners) l(chunk);
    });
    // 'error' without a listener would throw; the 'close' that follows (or the watchdog) reports the loss.
    port.on('error', (err) => {
      if (!port.isOpen) this.markLost(port, err);
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      this.markLost(port, err ?? new Error('port closed'));
    });
    if (this.opts.presenceCheckMs > 0) {
      this.watch = setInterval(() => {
        access(this.opts.path).catch((err: unknown) => {
          if (this.port === port) this.markLost(port, err as Error, 'device path vanished (adapter unplugged)');
        });
      }, this.opts.presenceCheckMs);
      this.watch.unref();
    }
  }

  private markLost(port: SerialPort, cause: Error, text?: string): void {
    if (this.closing || this.port !== port || this.lost) return;
    this.lost = true;
    clearInterval(this.watch);
    this.watch = undefined;
    if (port.isOpen) port.close(() => undefined);
    const err = new AgentError(ErrorCodes.disconnected, `${this.description}: ${text ?? cause.message ?? 'port lost'}`, {
      retryable: true,
      cause,
      ...(text ? { fault: Faults.adapter_missing } : {}),
    });
    for (const l of this.closeListeners) l(err);
  }

  write(data: Uint8Array): Promise<void> {
    const port = this.port;
    if (this.closing) return Promise.reject(new AgentError(ErrorCodes.closed, `${this.description}: closed`));
    if (!port || !port.isOpen || this.lost) {
      return Promise.reject(new AgentError(ErrorCodes.disconnected, `${this.description}: not open`, { retryable: true }));
    }
    return new Promise<void>((resolve, reject) => {
      const fail = (err: Error): void =>
        reject(
          this.closing
            ? new AgentError(ErrorCodes.closed, `${this.description}: closed`)
            : new AgentError(ErrorCodes.disconnected, `${this.description}: write failed: ${err.message}`, { retryable: true, cause: err }),
        );
      port.write(Buffer.from(data), (err) => {
        if (err) return fail(err);
        // drain waits until the bytes have left the OS buffer (tcdrain), so a timeout measures the device.
        port.drain((err2) => (err2 ? fail(err2) : resolve()));
      });
    });
  }

  close(): Promise<void> {
    this.closing = true;
    clearInterval(this.watch);
    this.watch = undefined;
    const port = this.port;
    this.port = undefined;
    if (!port || !port.isOpen) return Promise.resolve();
    return new Promise<void>((resolve) => {
      port.close(() => resolve());
    });
  }
}
