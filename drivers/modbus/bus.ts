/**
 * One RS-485 bus: one serial port, several Modbus RTU units. The devices on it share this object
 * through ctx.shared (key `modbus:<path>`), so there is one transport and one request queue, and
 * requests for different units never overlap on the half-duplex line.
 */
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { Faults } from '../../protocol/faults.js';
import type { SerialConfig } from '../../config/schema.js';
import { FramedLink } from '../framed-link.js';
import { LengthFramer } from '../framing/length.js';
import { serialTransport } from '../transport/from-config.js';
import type { Transport } from '../transport/types.js';
import {
  EXCEPTION_TEXT,
  FC_READ_COILS,
  FC_WRITE_MULTIPLE_COILS,
  FC_WRITE_SINGLE_COIL,
  crcValid,
  decodeReply,
  encodeReadCoils,
  encodeWriteCoil,
  encodeWriteCoils,
  expectedReplyLength,
  unpackBits,
  type ModbusReply,
} from './codec.js';

export interface ModbusBusOptions {
  serial: SerialConfig;
  log?: Logger;
  /** Reply timeout per request; relay boards answer within tens of ms. Default 500. */
  timeoutMs?: number;
  /** For tests: a transport other than the serial port. */
  transport?: Transport;
  /** The agent's stop signal (DriverContext.signal): ends the exchange under way at once. */
  signal?: AbortSignal;
}

export const busKey = (path: string): string => `modbus:${path}`;

/** Largest RTU frame: 256 bytes (Modbus over serial line spec §2.5.1). */
const MAX_FRAME = 256;

export function replyFramer(): LengthFramer {
  return new LengthFramer({
    headerLength: 3,
    frameLength: (h) => {
      const n = expectedReplyLength(h);
      return n !== undefined && n <= MAX_FRAME ? n : undefined;
    },
    maxLength: MAX_FRAME,
    // Unit ids 1..247; 0 is broadcast and never answers.
    isStart: (b) => b >= 1 && b <= 247,
    // A real master ignores frames with a bad CRC; the exchange then reports it (see `exchange`).
    validate: (f) => crcValid(f),
  });
}

export class ModbusBus {
  readonly description: string;
  private readonly link: FramedLink<Buffer>;
  private readonly timeoutMs: number;
  /** 3.5 character times of silence between frames (RTU framing rule), at least 2 ms. */
  private readonly gapMs: number;
  private lastActivity = 0;
  private opening: Promise<void> | undefined;
  private readonly listeners = new Set<(err: Error) => void>();

  constructor(readonly options: ModbusBusOptions) {
    const s = options.serial;
    const transport =
      options.transport ??
      serialTransport(s);
    this.description = transport.description;
    this.timeoutMs = options.timeoutMs ?? 500;
    const bitsPerChar = 1 + s.data_bits + (s.parity === 'none' ? 0 : 1) + s.stop_bits;
    this.gapMs = Math.max(2, Math.ceil((3.5 * bitsPerChar * 1000) / s.baud_rate));
    this.link = new FramedLink({ transport, framer: replyFramer, ...(options.log ? { log: options.log } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    this.link.onDisconnect((err) => {
      for (const l of this.listeners) l(err);
    });
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  /** Idempotent; devices sharing the bus may call it concurrently. */
  open(): Promise<void> {
    if (this.link.isOpen) return Promise.resolve();
    this.opening ??= this.link.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  /** Listener per device; remove it when the device lets go of the bus. */
  onDisconnect(listener: (err: Error) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.link.close();
  }

  async readCoils(unit: number, start: number, count: number): Promise<boolean[]> {
    const r = await this.exchange(unit, FC_READ_COILS, encodeReadCoils(unit, start, count), `read ${count} coil(s) at ${start}`);
    if (!('coils' in r)) throw new AgentError(ErrorCodes.protocol, `unit ${unit}: unexpected reply to read coils`, { retryable: true });
    if (r.coils.length !== Math.ceil(count / 8)) {
      throw new AgentError(ErrorCodes.protocol, `unit ${unit}: ${r.coils.length} coil bytes for ${count} coils`, { retryable: true });
    }
    return unpackBits(r.coils, count);
  }

  async writeCoil(unit: number, addr: number, on: boolean): Promise<void> {
    const r = await this.exchange(unit, FC_WRITE_SINGLE_COIL, encodeWriteCoil(unit, addr, on), `write coil ${addr} ${on ? 'on' : 'off'}`);
    // The reply echoes the request; anything else means the unit did something else.
    if (!('addr' in r) || r.addr !== addr || r.on !== on) {
      throw new AgentError(ErrorCodes.protocol, `unit ${unit}: write-coil echo does not match the request`, { retryable: true });
    }
  }

  async writeCoils(unit: number, start: number, values: readonly boolean[]): Promise<void> {
    const r = await this.exchange(unit, FC_WRITE_MULTIPLE_COILS, encodeWriteCoils(unit, start, values), `write ${values.length} coils at ${start}`);
    if (!('count' in r) || r.start !== start || r.count !== values.length) {
      throw new AgentError(ErrorCodes.protocol, `unit ${unit}: write-coils reply does not match the request`, { retryable: true });
    }
  }

  private async exchange(unit: number, fc: number, frame: Buffer, label: string): Promise<ModbusReply> {
    // Taken inside the exchange, after the link reset its framer: leftovers of earlier exchanges do not count.
    let discardedBefore = Number.POSITIVE_INFINITY;
    try {
      return await this.link.exchange(
        async (io) => {
          discardedBefore = this.link.discarded;
          const wait = this.lastActivity + this.gapMs - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          await io.write(frame);
          const reply = await io.next((f) => {
            // On a shared bus only the addressed unit may answer; a frame from another unit is noise.
            if (f[0] !== unit) return undefined;
            return decodeReply(f);
          });
          this.lastActivity = Date.now();
          if ('exception' in reply) {
            throw new AgentError(ErrorCodes.device_error, `unit ${unit} refused ${label}: exception ${reply.exception} (${EXCEPTION_TEXT[reply.exception] ?? 'unknown'})`, {
              retryable: reply.exception === 5 || reply.exception === 6,
              fault: Faults.unit_exception,
            });
          }
          if (reply.fc !== fc) throw new AgentError(ErrorCodes.protocol, `unit ${unit}: reply for function ${reply.fc}, expected ${fc}`, { retryable: true });
          return reply;
        },
        { timeoutMs: this.timeoutMs, label: `unit ${unit} ${label}` },
      );
    } catch (err) {
      this.lastActivity = Date.now();
      if (err instanceof AgentError && err.code === ErrorCodes.timeout) {
        // Bytes thrown away while waiting were a reply that failed its CRC (or line noise).
        if (this.link.discarded > discardedBefore) {
          throw new AgentError(ErrorCodes.protocol, `unit ${unit} ${label}: reply corrupted (CRC mismatch, ${this.link.discarded - discardedBefore} bytes dropped) on ${this.description}`, {
            retryable: true,
            cause: err,
            fault: Faults.reply_corrupted,
          });
        }
        throw new AgentError(ErrorCodes.timeout, `unit ${unit} did not answer ${label} within ${this.timeoutMs} ms on ${this.description} (unit id, wiring or unit power?)`, {
          retryable: true,
          cause: err,
          fault: Faults.unit_silent,
        });
      }
      throw err;
    }
  }
}
