/**
 * Epson ESC/VP21 (RS-232, 9600 8N1) and ESC/VP.net (TCP 3629). Pure encode/decode and a tokenizer.
 * Facts and sources: docs/reference/protocols.md §2 (ESC/VP21 Command User's Guide; EB-L735U and EMP-53
 * manuals; pszafer/epson_projector).
 */
import type { DeviceFault, PowerState } from '../types.js';
import type { Framer } from '../framing/types.js';

export const ESCVP_NET_PORT = 3629;
export const ESCVP21_BAUD = 9600;

/** `ESC/VP.net` + version 0x10 + type 0x03 (connect) + 4 zero bytes (pszafer ESCVPNET_HELLO_COMMAND). */
export const ESCVP_NET_HELLO = Buffer.concat([Buffer.from('ESC/VP.net', 'latin1'), Buffer.from([0x10, 0x03, 0x00, 0x00, 0x00, 0x00])]);

/**
 * The 16-byte reply: `ESC/VP.net` then status at byte 14, 0x20 = OK (pszafer projector_tcp.py).
 * [UNCERTAIN] Other status values follow Epson's ESC/VP.net spec as remembered (0x41 unauthorised /
 * password required, 0x53 service unavailable = another client connected); they are only used for
 * error messages and codes.
 */
export function parseHelloReply(reply: Buffer): { ok: true } | { ok: false; status: number; reason: 'auth' | 'busy' | 'protocol' } {
  if (reply.length !== 16 || reply.subarray(0, 10).toString('latin1') !== 'ESC/VP.net') return { ok: false, status: -1, reason: 'protocol' };
  const status = reply[14]!;
  if (status === 0x20) return { ok: true };
  if (status === 0x41 || status === 0x43) return { ok: false, status, reason: 'auth' };
  if (status === 0x53) return { ok: false, status, reason: 'busy' };
  return { ok: false, status, reason: 'protocol' };
}

export function encodeQuery(command: string): Buffer {
  if (!/^[A-Z]{2,12}$/.test(command)) throw new RangeError(`bad ESC/VP21 command ${command}`);
  return Buffer.from(`${command}?\r`, 'latin1');
}

export function encodeSet(command: string, param: string): Buffer {
  if (!/^[A-Z]{2,12}$/.test(command)) throw new RangeError(`bad ESC/VP21 command ${command}`);
  if (!/^[A-Za-z0-9 ]{1,32}$/.test(param)) throw new RangeError(`bad ESC/VP21 parameter ${param}`);
  return Buffer.from(`${command} ${param}\r`, 'latin1');
}

/** The null command: the projector answers `:` when it is ready (used to wake the serial line). */
export const NULL_COMMAND = Buffer.from('\r', 'latin1');

export type EscvpToken = { kind: 'line'; text: string } | { kind: 'prompt' } | { kind: 'hello'; bytes: Buffer };

/**
 * Tokenizer: `:` at the start of a line is the ready prompt (3Ah, "the ':' code status can be used to
 * determine whether the projector is ready or busy"), `\r` ends a reply line (`PWR=01`, `ERR`), `\n` is
 * ignored. With `helloLength` the first bytes of a connection are the binary ESC/VP.net reply.
 * Bounded: a line longer than `maxLine` keeps only its tail (a reply behind line noise is still found).
 */
export class EscvpFramer implements Framer<EscvpToken> {
  private line: Buffer = Buffer.alloc(0);
  private hello: Buffer = Buffer.alloc(0);
  private helloLeft: number;
  private dropped = 0;
  private readonly maxLine: number;

  constructor(opts: { helloLength?: number; maxLine?: number } = {}) {
    this.helloLeft = opts.helloLength ?? 0;
    this.maxLine = opts.maxLine ?? 128;
  }

  get buffered(): number {
    return this.line.length + this.hello.length;
  }

  get discarded(): number {
    return this.dropped;
  }

  reset(): void {
    this.dropped += this.line.length;
    this.line = Buffer.alloc(0);
  }

  push(chunk: Uint8Array): EscvpToken[] {
    const out: EscvpToken[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.helloLeft > 0) {
      const take = Math.min(this.helloLeft, data.length);
      this.hello = Buffer.concat([this.hello, data.subarray(0, take)]);
      this.helloLeft -= take;
      data = data.subarray(take);
      if (this.helloLeft === 0) {
        out.push({ kind: 'hello', bytes: this.hello });
        this.hello = Buffer.alloc(0);
      }
    }
    // Segment-wise (indexOf), not byte-wise: a peer streaming noise at full speed must not eat the CPU.
    let pos = 0;
    while (pos <= data.length) {
      const cr = data.indexOf(0x0d, pos);
      const segEnd = cr < 0 ? data.length : cr;
      let i = pos;
      if (this.line.length === 0) {
        for (; i < segEnd; i++) {
          const b = data[i]!;
          if (b === 0x3a) out.push({ kind: 'prompt' });
          else if (b !== 0x0a && b !== 0x00) break; // LF after CR on some bridges, NUL noise
        }
      }
      if (i < segEnd) this.append(data.subarray(i, segEnd));
      if (cr < 0) break;
      if (this.line.length) out.push({ kind: 'line', text: this.line.toString('latin1') });
      this.line = Buffer.alloc(0);
      pos = cr + 1;
    }
    return out;
  }

  private append(seg: Buffer): void {
    let joined = this.line.length ? Buffer.concat([this.line, seg]) : Buffer.from(seg);
    if (joined.length > this.maxLine) {
      this.dropped += joined.length - this.maxLine;
      joined = Buffer.from(joined.subarray(joined.length - this.maxLine));
    }
    this.line = joined;
  }
}

/** `PWR=01` → '01' when the line answers `command`; tolerant of noise in front of it. */
export function parseValue(line: string, command: string): string | undefined {
  const idx = line.lastIndexOf(`${command}=`);
  if (idx < 0) return undefined;
  return line.slice(idx + command.length + 1).trim();
}

export function isErrLine(line: string): boolean {
  return /(^|[^A-Z])ERR$/.test(line.trim());
}

/** PWR? codes (EB-L735U manual; 05 = abnormal standby per the Domoticz plugin). */
export function parsePower(code: string): { power: PowerState; abnormal: boolean } {
  switch (code) {
    case '00':
    case '04': // network monitoring standby
    case '09': // A/V standby
      return { power: 'off', abnormal: false };
    case '01':
      return { power: 'on', abnormal: false };
    case '02':
      return { power: 'warming', abnormal: false };
    case '03':
      return { power: 'cooling', abnormal: false };
    case '05':
      return { power: 'off', abnormal: true };
    default:
      return { power: 'unknown', abnormal: false };
  }
}

/** ERR? codes (ESC/VP21 guide; romainrossi/domoticz-epson-projector). Codes beyond 0x11 are [UNCERTAIN]. */
const ERR_CODES: Record<string, [code: string, text: string]> = {
  '01': ['fan', 'fan error'],
  '03': ['lamp', 'lamp failure at power on'],
  '04': ['temperature', 'high internal temperature'],
  '06': ['lamp', 'lamp error'],
  '07': ['cover_open', 'lamp cover door open'],
  '08': ['filter', 'cinema filter error'],
  '09': ['other', 'electric dual-layered capacitor disconnected'],
  '0A': ['other', 'auto iris error'],
  '0B': ['other', 'subsystem error'],
  '0C': ['filter', 'low air flow'],
  '0D': ['filter', 'air filter air flow sensor error'],
  '0E': ['power_supply', 'power supply unit (ballast) error'],
  '0F': ['other', 'shutter error'],
  '10': ['temperature', 'cooling system error (Peltier)'],
  '11': ['temperature', 'cooling system error (pump)'],
};

export function parseErrorCode(code: string): DeviceFault[] {
  const c = code.trim().toUpperCase();
  if (c === '00') return [];
  const known = ERR_CODES[c];
  if (known) return [{ code: known[0], severity: 'error', text: `${known[1]} (ERR=${c})` }];
  return [{ code: 'other', severity: 'error', text: `projector error ERR=${c}` }];
}

/** SIGNAL? [UNCERTAIN]: 00 no signal, 01 signal detected, FF unsupported signal. */
export function parseSignal(code: string): boolean | null {
  if (code === '00') return false;
  if (code === '01') return true;
  return null;
}

export function parseHours(value: string): number | undefined {
  return /^\d{1,7}$/.test(value) ? Number(value) : undefined;
}
