/**
 * A Modbus RTU relay board bus on the device end of a serial line (a socat PTY): several slave units,
 * each with a bank of coils. Behaves like real slaves (docs/reference/protocols.md "Simulator notes"):
 * a frame with a bad CRC or for another unit id gets no answer at all; 0x05 is echoed; 0x01 answers a
 * packed bitfield; 0x0F answers start+count; a bad address or value is an exception.
 *
 * Faults: `silent` units never answer (unpowered board, wrong id); `corruptCrc` units answer with a
 * damaged CRC (noise on a long RS-485 run, missing termination).
 */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { LengthFramer } from '../../drivers/framing/length.js';
import {
  FC_READ_COILS,
  FC_WRITE_MULTIPLE_COILS,
  FC_WRITE_SINGLE_COIL,
  crcValid,
  decodeRequest,
  expectedRequestLength,
  packBits,
  withCrc,
} from '../../drivers/modbus/codec.js';
import { ReplyShaper, SerialEndpoint, type SimConnection } from './shared.js';

export interface ModbusRelaySimOptions {
  /** Serial path of the device end (e.g. PtyPair.b). */
  path: string;
  /** Unit ids present on the bus (default [1]). */
  units?: number[];
  /** Coils per unit (default 8, like the common 8-relay boards). */
  coils?: number;
  /** Delay before answering, ms (default 2). */
  responseDelayMs?: number;
}

export class ModbusRelaySimulator {
  readonly shaper = new ReplyShaper();
  readonly units = new Map<number, boolean[]>();
  /** Units that never answer. */
  readonly silent = new Set<number>();
  /** Units whose replies carry a wrong CRC. */
  readonly corruptCrc = new Set<number>();
  /** Requests seen (valid CRC), for assertions. */
  readonly requests: Array<{ unit: number; fc: number }> = [];
  /** Every frame on the bus with a valid CRC, whatever its unit id (the last 1000), as the bytes came. */
  readonly frames: Buffer[] = [];
  /** Valid requests on the bus, answered or not (a silent unit still hears them). */
  heard = 0;
  /** Frames ignored because of a bad CRC. */
  badRequests = 0;
  private readonly endpoint: SerialEndpoint;
  private readonly framer: LengthFramer;
  private readonly delayMs: number;

  constructor(opts: ModbusRelaySimOptions) {
    for (const u of opts.units ?? [1]) this.units.set(u, Array(opts.coils ?? 8).fill(false));
    this.delayMs = opts.responseDelayMs ?? 2;
    this.framer = new LengthFramer({
      headerLength: 7,
      frameLength: (h) => expectedRequestLength(h),
      maxLength: 256,
      isStart: (b) => b <= 247,
      validate: (f) => {
        const ok = crcValid(f);
        if (!ok) this.badRequests++;
        return ok;
      },
    });
    this.endpoint = new SerialEndpoint(opts.path, { onData: (conn, chunk) => this.onData(conn, chunk) }, this.shaper);
  }

  start(): Promise<void> {
    return this.endpoint.start();
  }

  stop(): Promise<void> {
    return this.endpoint.stop();
  }

  /** The device end holds the serial line (false while the adapter is "unplugged"). */
  get attached(): boolean {
    return this.endpoint.attached;
  }

  coil(unit: number, addr: number): boolean | undefined {
    return this.units.get(unit)?.[addr];
  }

  setCoil(unit: number, addr: number, on: boolean): void {
    const c = this.units.get(unit);
    if (!c || addr >= c.length) throw new AgentError(ErrorCodes.invalid_args, `no coil ${addr} on unit ${unit}`);
    c[addr] = on;
  }

  private onData(conn: SimConnection, chunk: Buffer): void {
    // Requests are short (8 bytes); waiting for 7 header bytes is fine for every function we serve.
    for (const frame of this.framer.push(chunk)) {
      this.frames.push(Buffer.from(frame));
      if (this.frames.length > 1000) this.frames.shift();
      const reply = this.answer(frame);
      if (!reply) continue;
      setTimeout(() => void conn.send(reply), this.delayMs);
    }
  }

  private answer(frame: Buffer): Buffer | undefined {
    const req = decodeRequest(frame);
    this.heard++;
    const coils = this.units.get(req.unit);
    // Broadcast (0), an absent unit or a silent one: no answer on the bus.
    if (!coils || this.silent.has(req.unit)) return undefined;
    this.requests.push({ unit: req.unit, fc: req.fc });
    const exception = (code: number): Buffer => withCrc(Uint8Array.of(req.unit, req.fc | 0x80, code));
    let reply: Buffer;
    if (req.fc === FC_READ_COILS && 'count' in req) {
      if (req.count < 1 || req.count > 2000) reply = exception(3);
      else if (req.start + req.count > coils.length) reply = exception(2);
      else {
        const packed = packBits(coils.slice(req.start, req.start + req.count));
        reply = withCrc(Buffer.concat([Buffer.of(req.unit, FC_READ_COILS, packed.length), packed]));
      }
    } else if (req.fc === FC_WRITE_SINGLE_COIL && 'value' in req) {
      if (req.value !== 0xff00 && req.value !== 0x0000) reply = exception(3);
      else if (req.addr >= coils.length) reply = exception(2);
      else {
        coils[req.addr] = req.value === 0xff00;
        reply = Buffer.from(frame);
      }
    } else if (req.fc === FC_WRITE_MULTIPLE_COILS && 'values' in req) {
      if (req.start + req.count > coils.length) reply = exception(2);
      else {
        req.values.forEach((v, i) => (coils[req.start + i] = v));
        reply = Buffer.from(frame.subarray(0, 6));
        reply = withCrc(reply);
      }
    } else {
      reply = exception(1);
    }
    if (this.corruptCrc.has(req.unit)) {
      reply = Buffer.from(reply);
      reply[reply.length - 1] = reply[reply.length - 1]! ^ 0x5a;
    }
    return reply;
  }
}
