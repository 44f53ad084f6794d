/**
 * Epson ESC/VP21 (RS-232, 9600 8N1) and ESC/VP.net (TCP 3629). Pure encode/decode and a tokenizer.
 * Facts and sources: docs/reference/protocols.md §2 (ESC/VP21 Command User's Guide; EB-L735U and EMP-53
 * manuals; pszafer/epson_projector).
 */
import type { DeviceFault, PowerState } from '../types.js';
import type { Framer } from '../framing/types.js';
import type { InputChoice } from '../../protocol/device-controls.js';

/**
 * `SOURCE` codes an Epson projector takes (docs/reference/protocols.md §ESC/VP21 "SOURCE?": pszafer's
 * home-cinema table and the EMP-S3 manual). Which of them a given model has, it does not say: a code it
 * lacks is refused with ERR when the step runs.
 */
export const EPSON_INPUTS: readonly InputChoice[] = [
  { code: '30', kind: 'hdmi', n: 1 },
  { code: 'A0', kind: 'hdmi', n: 2 },
  { code: '10', kind: 'computer', n: 1 },
  { code: '14', kind: 'component' },
  { code: '41', kind: 'video' },
  { code: '42', kind: 'svideo' },
  { code: '52', kind: 'usb' },
  { code: '53', kind: 'network' },
];

export const ESCVP_NET_PORT = 3629;
export const ESCVP21_BAUD = 9600;

/**
 * ESC/VP.net messages (pszafer/epson_projector escvpnet/message.py and headers.py): `ESC/VP.net`, version
 * 0x10, type (1 HELLO, 2 PASSWORD, 3 CONNECT), 2 reserved bytes, status (0x00 in a request), header count,
 * then 18-byte headers: id (1 = Password), attribute (1 = a password is given), 16 bytes of ASCII padded
 * with NUL.
 */
const ESCVP_NET_ID = Buffer.from('ESC/VP.net', 'latin1');
export const ESCVP_NET_HEADER_LENGTH = 18;
/** "Password must be a string of maximum length 16", ASCII (pszafer escvpnet.py `verify_password`). */
export const ESCVP_NET_MAX_PASSWORD = 16;

/** CONNECT without headers: `ESC/VP.net` 0x10 0x03 0x00 0x00 0x00 0x00 (pszafer ESCVPNET_HELLO_COMMAND). */
export const ESCVP_NET_HELLO = Buffer.concat([ESCVP_NET_ID, Buffer.from([0x10, 0x03, 0x00, 0x00, 0x00, 0x00])]);

/** The CONNECT request; with a projector password it carries one Password header. */
export function encodeConnect(password: string | undefined): Buffer {
  if (password === undefined) return Buffer.from(ESCVP_NET_HELLO);
  if (!/^[\x20-\x7e]*$/.test(password)) throw new RangeError('ESC/VP.net password must be ASCII');
  if (password.length > ESCVP_NET_MAX_PASSWORD) throw new RangeError(`ESC/VP.net password must be at most ${ESCVP_NET_MAX_PASSWORD} characters`);
  const header = Buffer.alloc(ESCVP_NET_HEADER_LENGTH);
  header[0] = 0x01; // Password
  header[1] = password === '' ? 0x00 : 0x01;
  header.write(password, 2, 'latin1');
  const head = Buffer.from(ESCVP_NET_HELLO);
  head[15] = 1; // one header
  return Buffer.concat([head, header]);
}

/** Status byte of an ESC/VP.net reply (pszafer message.py `MessageStatus`). */
const HELLO_STATUS: Record<number, { reason: 'auth' | 'busy' | 'protocol'; text: string }> = {
  0x40: { reason: 'protocol', text: 'bad request' },
  0x41: { reason: 'auth', text: 'password is required' },
  0x43: { reason: 'auth', text: 'password is wrong' },
  0x45: { reason: 'protocol', text: 'request not allowed in the current state' },
  0x53: { reason: 'busy', text: 'projector busy (another client is connected)' },
  0x55: { reason: 'protocol', text: 'protocol version not supported' },
};

/** Length of a whole reply once its first 16 bytes are known: the fixed part plus its headers. */
export function helloReplyLength(head: Buffer): number {
  return 16 + (head[15] ?? 0) * ESCVP_NET_HEADER_LENGTH;
}

/** The reply: `ESC/VP.net`, status at byte 14 (0x20 = OK), header count at byte 15, headers. */
export function parseHelloReply(reply: Buffer): { ok: true } | { ok: false; status: number; reason: 'auth' | 'busy' | 'protocol'; text: string } {
  if (reply.length < 16 || !reply.subarray(0, 10).equals(ESCVP_NET_ID) || reply.length !== helloReplyLength(reply)) {
    return { ok: false, status: -1, reason: 'protocol', text: 'not an ESC/VP.net reply' };
  }
  const status = reply[14]!;
  if (status === 0x20) return { ok: true };
  const known = HELLO_STATUS[status];
  return { ok: false, status, ...(known ?? { reason: 'protocol', text: 'unknown status' }) };
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

/** The end of a reply line whose CR was lost: `CMD=value` or `ERR`, possibly behind noise. */
const REPLY_TAIL = /(?:[A-Z][A-Z0-9]{1,11}=[0-9A-Za-z .-]*|(?:^|[^A-Z])ERR)$/;

/**
 * Tokenizer. `:` is the ready prompt (3Ah, "the ':' code status can be used to determine whether the
 * projector is ready or busy"), `\r` ends a reply line (`PWR=01`, `ERR`), `\n` and NUL in front of a line
 * are ignored. A `:` always counts as the prompt, wherever it falls: a reply line ends with CR before the
 * colon (ESC/VP21 guide: `PWR=01\r:`), so bytes in front of a colon with no CR are line noise and are
 * dropped, unless they end like a reply whose CR was lost (`…PWR=01:`), which is kept. No reply the
 * driver asks for carries a colon in its value. With `helloLength` the first bytes of a connection are the
 * binary ESC/VP.net reply (its 16 bytes, then the headers it announces). Bounded: a line longer than
 * `maxLine` keeps only its tail (a reply behind line noise is still found).
 */
export class EscvpFramer implements Framer<EscvpToken> {
  private line: Buffer = Buffer.alloc(0);
  private hello: Buffer = Buffer.alloc(0);
  private helloLeft: number;
  private helloHeadersKnown = false;
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
    while (this.helloLeft > 0 && data.length > 0) {
      const take = Math.min(this.helloLeft, data.length);
      this.hello = Buffer.concat([this.hello, data.subarray(0, take)]);
      this.helloLeft -= take;
      data = data.subarray(take);
      if (this.helloLeft > 0) break;
      if (!this.helloHeadersKnown && this.hello.length >= 16) {
        // The fixed part is in: now the headers it announces (at most 255 × 18 bytes).
        this.helloHeadersKnown = true;
        this.helloLeft = helloReplyLength(this.hello) - this.hello.length;
        if (this.helloLeft > 0) continue;
      }
      out.push({ kind: 'hello', bytes: this.hello });
      this.hello = Buffer.alloc(0);
    }
    // Delimiter-wise (indexOf), not byte-wise: a peer streaming noise at full speed must not eat the CPU.
    let pos = 0;
    let cr = data.indexOf(0x0d);
    let colon = data.indexOf(0x3a);
    while (pos < data.length) {
      if (cr >= 0 && cr < pos) cr = data.indexOf(0x0d, pos);
      if (colon >= 0 && colon < pos) colon = data.indexOf(0x3a, pos);
      const end = cr < 0 ? colon : colon < 0 ? cr : Math.min(cr, colon);
      let start = pos;
      const segEnd = end < 0 ? data.length : end;
      if (this.line.length === 0) {
        // LF after CR on some bridges, NUL noise.
        while (start < segEnd && (data[start] === 0x0a || data[start] === 0x00)) start++;
      }
      if (start < segEnd) this.append(data.subarray(start, segEnd));
      if (end < 0) break;
      if (data[end] === 0x0d) {
        if (this.line.length) out.push({ kind: 'line', text: this.line.toString('latin1') });
      } else {
        if (this.line.length) {
          const text = this.line.toString('latin1');
          if (REPLY_TAIL.test(text)) out.push({ kind: 'line', text });
          else this.dropped += this.line.length;
        }
        out.push({ kind: 'prompt' });
      }
      this.line = Buffer.alloc(0);
      pos = end + 1;
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

/**
 * PWR? codes (EB-L735U manual; 05 = abnormal standby per the Domoticz plugin; 07 = WirelessHD standby per
 * the openHAB Epson binding's PowerStatus.java).
 */
export function parsePower(code: string): { power: PowerState; abnormal: boolean } {
  switch (code) {
    case '00':
    case '04': // network monitoring standby
    case '07': // WirelessHD standby
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

/**
 * ERR? codes (ESC/VP21 guide; romainrossi/domoticz-epson-projector); 12-18 as the openHAB Epson binding
 * names them (openhab/openhab-addons …/epsonprojector/internal/enums/ErrorMessage.java, "Messages for
 * documented error codes").
 */
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
  '12': ['other', 'static iris error'],
  '13': ['power_supply', 'power supply unit error (disagreement of ballast)'],
  '14': ['other', 'exhaust shutter error'],
  '15': ['other', 'obstacle detection error'],
  '16': ['other', 'IF board discernment error'],
  '17': ['other', 'communication error of the stack projection function'],
  '18': ['other', 'I2C error'],
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
