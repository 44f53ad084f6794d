/**
 * TCP transport over node:net for PJLink (4352), ESC/VP.net (3629), NEC (7142), NovaStar (5200) and
 * serial-to-Ethernet bridges.
 *
 * - Connect timeout: a projector behind a switched mains socket is simply absent; without a timeout a
 *   SYN to a dead host hangs for minutes (pypjlink's missing-timeout bug, protocols.md §1.7).
 * - TCP keepalive: a village LAN switch losing power leaves a half-open socket that would never error.
 * - allowHalfOpen is off: a peer FIN (PJLink's 30 s idle disconnect) closes our side too and is reported
 *   through onClose, so nothing writes into a half-closed socket.
 */
import { Socket } from 'node:net';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { Faults, type Fault } from '../../protocol/faults.js';
import type { Transport } from './types.js';

export interface TcpTransportOptions {
  host: string;
  port: number;
  /** Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Idle time before the first keepalive probe; 0 disables. Default 10 000 ms. */
  keepAliveMs?: number;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset by peer',
  EPIPE: 'connection closed by peer',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
};

function describeNetError(err: NodeJS.ErrnoException): string {
  return (err.code && NETWORK_CODES[err.code]) || err.message;
}

/** Why a connect failed, for the technician's fix (a refused port is not a dead host). */
function connectFault(err: NodeJS.ErrnoException): Fault {
  if (err.code === 'ECONNREFUSED') return Faults.connection_refused;
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return Faults.host_not_found;
  return Faults.host_unreachable;
}

export class TcpTransport implements Transport {
  readonly description: string;
  private readonly opts: Required<TcpTransportOptions>;
  private socket: Socket | undefined;
  private closing = false;
  /** Rejects the connect under way: close() during a connect ends it at once with `closed`. */
  private abortConnect: ((err: AgentError) => void) | undefined;
  /** Rejecters of writes not yet handed to the kernel. */
  private readonly inFlight = new Set<(err: AgentError) => void>();
  private readonly dataListeners: ((chunk: Buffer) => void)[] = [];
  private readonly closeListeners: ((err: Error) => void)[] = [];

  constructor(options: TcpTransportOptions) {
    this.opts = { connectTimeoutMs: 5000, keepAliveMs: 10_000, ...options };
    this.description = `tcp ${options.host}:${options.port}`;
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.socket.destroyed && !this.socket.connecting;
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (err: Error) => void): void {
    this.closeListeners.push(listener);
  }

  open(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    this.closing = false;
    return new Promise<void>((resolve, reject) => {
      const socket = new Socket({ allowHalfOpen: false });
      let connected = false;
      let lastError: Error | undefined;
      const timer = setTimeout(() => {
        this.abortConnect = undefined;
        socket.destroy();
        reject(
          new AgentError(ErrorCodes.timeout, `${this.description}: no connection within ${this.opts.connectTimeoutMs} ms`, { retryable: true, fault: Faults.host_unreachable }),
        );
      }, this.opts.connectTimeoutMs);
      this.abortConnect = (err) => {
        this.abortConnect = undefined;
        clearTimeout(timer);
        reject(err);
      };
      socket.setNoDelay(true);
      socket.on('data', (chunk: Buffer) => {
        for (const l of this.dataListeners) l(chunk);
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        lastError = err;
        if (!connected) {
          clearTimeout(timer);
          this.abortConnect = undefined;
          socket.destroy();
          reject(new AgentError(ErrorCodes.disconnected, `${this.description}: ${describeNetError(err)}`, { retryable: true, cause: err, fault: connectFault(err) }));
        }
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = undefined;
        if (!connected || this.closing) return;
        const reason = lastError
          ? `${this.description}: ${describeNetError(lastError as NodeJS.ErrnoException)}`
          : `${this.description}: connection closed by peer`;
        const err = new AgentError(ErrorCodes.disconnected, reason, { retryable: true, cause: lastError });
        for (const fail of [...this.inFlight]) fail(err);
        for (const l of this.closeListeners) l(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        this.abortConnect = undefined;
        connected = true;
        if (this.opts.keepAliveMs > 0) socket.setKeepAlive(true, this.opts.keepAliveMs);
        resolve();
      });
      this.socket = socket;
      socket.connect({ host: this.opts.host, port: this.opts.port });
    });
  }

  write(data: Uint8Array): Promise<void> {
    const socket = this.socket;
    if (this.closing) return Promise.reject(new AgentError(ErrorCodes.closed, `${this.description}: closed`));
    if (!socket || socket.destroyed || socket.connecting || !socket.writable) {
      return Promise.reject(new AgentError(ErrorCodes.disconnected, `${this.description}: not connected`, { retryable: true }));
    }
    return new Promise<void>((resolve, reject) => {
      const fail = (e: AgentError): void => {
        this.inFlight.delete(fail);
        reject(e);
      };
      this.inFlight.add(fail);
      // The callback fires once the data is handed to the kernel, which is the drain we need.
      socket.write(data, (err) => {
        if (!this.inFlight.delete(fail)) return; // close() or the lost link already rejected it
        // A write cancelled because the socket was destroyed (peer reset, close()) is called back
        // without an error by Node: a destroyed socket means the bytes were not sent.
        if (err || socket.destroyed) {
          const cause = err ?? socket.errored ?? undefined;
          const why = cause ? describeNetError(cause as NodeJS.ErrnoException) : 'connection closed before the data was sent';
          reject(new AgentError(ErrorCodes.disconnected, `${this.description}: ${why}`, { retryable: true, cause }));
        } else resolve();
      });
    });
  }

  close(): Promise<void> {
    this.closing = true;
    // Node calls back a write cancelled by destroy() without an error, as if it had been sent: writes
    // still in flight are rejected here, at once, with `closed`.
    for (const fail of [...this.inFlight]) fail(new AgentError(ErrorCodes.closed, `${this.description}: closed`));
    // A connect to a host that is gone would otherwise run to its timeout (5 s), past the agent's stop limit.
    this.abortConnect?.(new AgentError(ErrorCodes.closed, `${this.description}: closed while connecting`));
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      // destroy() rather than end(): a wedged peer must not keep the socket (and the fd) around.
      socket.destroy();
    });
  }
}
