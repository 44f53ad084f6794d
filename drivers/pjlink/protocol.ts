/**
 * PJLink class 1 and 2 (JBMIA) encode/decode. Pure: no sockets, no timers.
 * Facts and sources: docs/reference/protocols.md §1.
 */
import { createHash } from 'node:crypto';
import type { DeviceFault, PowerState } from '../types.js';
import { MAX_INPUTS, type InputChoice, type InputKind } from '../../protocol/device-controls.js';

export const PJLINK_PORT = 4352;
/** OpenLP keeps 136 + 2 bytes "for extraneous \n \r" (PJLINK_MAX_PACKET); a little slack costs nothing. */
export const PJLINK_MAX_LINE = 160;
/** Spec: a parameter is at most 128 bytes. */
const MAX_PARAM = 128;

/** md5_hex(token + password), lower case — verified against the spec's vector in the unit tests. */
export function pjlinkDigest(token: string, password: string): string {
  return createHash('md5').update(token + password, 'utf8').digest('hex');
}

export function encodeCommand(cls: 1 | 2, command: string, param: string, digest = ''): Buffer {
  if (!/^[A-Z0-9]{4}$/.test(command)) throw new RangeError(`PJLink command must be 4 upper-case characters: ${command}`);
  if (/[\r\n]/.test(param) || Buffer.byteLength(param, 'utf8') > MAX_PARAM) throw new RangeError('PJLink parameter too long or contains CR/LF');
  return Buffer.from(`${digest}%${cls}${command} ${param}\r`, 'utf8');
}

export type Greeting = { auth: false } | { auth: true; token: string } | { auth: 'error' };

/**
 * `PJLINK 0`, `PJLINK 1 <token>` or `PJLINK ERRA`. Case-insensitive: some projectors send `PJLink 1 …`
 * (OpenLP's test data; multiOTP changelog 2019/2022).
 */
export function parseGreeting(line: string): Greeting | undefined {
  const m = /PJLINK\s+(\S+)(?:\s+(\S+))?\s*$/i.exec(line);
  if (!m) return undefined;
  const kind = m[1]!.toUpperCase();
  if (kind === '0') return { auth: false };
  if (kind === '1' && m[2]) return { auth: true, token: m[2] };
  if (kind === 'ERRA') return { auth: 'error' };
  return undefined;
}

export interface Response {
  cls: string;
  command: string;
  data: string;
}

/**
 * `%1POWR=1` → {cls:'1', command:'POWR', data:'1'}. Line noise in front of the reply (no CR between the
 * noise and the reply, so it lands in the same line) is skipped: the frame starts at the first
 * `%<class><cmd>=`.
 */
export function parseResponse(line: string): Response | undefined {
  const m = /%([12])([A-Za-z0-9]{4})=(.*?)\s*$/s.exec(line);
  if (!m) return undefined;
  return { cls: m[1]!, command: m[2]!.toUpperCase(), data: m[3]! };
}

export const PJLINK_ERRORS = {
  ERR1: 'undefined command',
  ERR2: 'parameter out of range',
  ERR3: 'unavailable at this time (projector busy, in standby or warming up)',
  ERR4: 'projector or display failure',
  ERRA: 'authentication error',
} as const;
export type PjlinkErrorCode = keyof typeof PJLINK_ERRORS;

export function responseError(data: string): PjlinkErrorCode | undefined {
  const d = data.trim().toUpperCase();
  return d in PJLINK_ERRORS ? (d as PjlinkErrorCode) : undefined;
}

/** POWR: 0 standby, 1 lamp on, 2 cooling, 3 warm-up (aiopjlink Power.State; openlp PJLINK_POWR_STATUS). */
export function parsePower(data: string): PowerState {
  switch (data.trim()) {
    case '0':
      return 'off';
    case '1':
      return 'on';
    case '2':
      return 'cooling';
    case '3':
      return 'warming';
    default:
      // Some devices answer `OK` where a digit belongs (HA media_player.py KeyError 'OK').
      return 'unknown';
  }
}

/**
 * Class tolerant of `Class 1` (Optoma) and `Version1` (BenQ): OpenLP strips non-digits, defaults to 1.
 */
export function parseClass(data: string): 1 | 2 {
  const digits = data.replace(/\D/g, '');
  return digits.startsWith('2') ? 2 : 1;
}

/** LAMP: `hours on/off` pairs, up to 8 lamps. Returns undefined on a malformed reply. */
export function parseLamps(data: string): { hours: number; on: boolean }[] | undefined {
  const parts = data.trim().split(/\s+/);
  if (parts.length < 2 || parts.length % 2 !== 0 || parts.length > 16) return undefined;
  const lamps: { hours: number; on: boolean }[] = [];
  for (let i = 0; i < parts.length; i += 2) {
    if (!/^\d{1,5}$/.test(parts[i]!) || !/^[01]$/.test(parts[i + 1]!)) return undefined;
    lamps.push({ hours: Number(parts[i]), on: parts[i + 1] === '1' });
  }
  return lamps;
}

/** ERST positions: fan, lamp, temperature, cover, filter, other; 0 OK, 1 warning, 2 error (openlp PJLINK_ERST_DATA). */
const ERST_ITEMS = [
  ['fan', 'fan'],
  ['lamp', 'lamp'],
  ['temperature', 'temperature'],
  ['cover_open', 'cover open'],
  ['filter', 'air filter'],
  ['other', 'other'],
] as const;

export function parseErst(data: string): DeviceFault[] | undefined {
  const d = data.trim();
  if (!/^[0-2]{6}$/.test(d)) return undefined;
  const faults: DeviceFault[] = [];
  ERST_ITEMS.forEach(([code, text], i) => {
    const level = d[i];
    if (level === '1') faults.push({ code, severity: 'warning', text: `${text} warning` });
    if (level === '2') faults.push({ code, severity: 'error', text: `${text} error` });
  });
  return faults;
}

/** AVMT 11/21/31 = muted (video/audio/both), 10/20/30 = not. */
export function parseAvMute(data: string): boolean | undefined {
  const d = data.trim();
  if (!/^[123][01]$/.test(d)) return undefined;
  return d[1] === '1';
}

/**
 * IRES: `HxV` resolution, `-` no signal, `*` unknown signal. Parsed tolerantly (`1920 x 1200` seen in the
 * field, companje.nl). An unknown signal is reported as null: something is there but not a usable picture.
 */
export function parseResolution(data: string): boolean | null | undefined {
  const d = data.trim();
  if (d === '-') return false;
  if (d === '*') return null;
  if (/^\d+\s*[xX]\s*\d+$/.test(d)) return true;
  return undefined;
}

/** What each PJLink input type is (INPT's first character; see isInputCode). */
const PJLINK_INPUT_KINDS: Record<string, InputKind> = { '1': 'computer', '2': 'video', '3': 'digital', '4': 'storage', '5': 'network', '6': 'internal' };

/**
 * The projector's inputs from its INST answer (`11 12 31 32`, PJLink class 1 "input toggling list"):
 * each code with its type and number. Codes that are not INPT codes are left out; null when the answer
 * lists none.
 */
export function parseInputList(data: string): InputChoice[] | null {
  const out: InputChoice[] = [];
  for (const code of data.trim().split(/\s+/)) {
    if (!isInputCode(code) || out.some((i) => i.code === code) || out.length >= MAX_INPUTS) continue;
    out.push({ code, kind: PJLINK_INPUT_KINDS[code[0]!]!, n: parseInt(code[1]!, 36) });
  }
  return out.length ? out : null;
}

/** Every class 1 input (types 1-5, numbers 1-2): offered when the projector does not answer INST. */
export const PJLINK_INPUTS: readonly InputChoice[] = parseInputList('11 12 21 22 31 32 41 51')!;

/** INPT code: type 1-6 + index 1-9 (class 1) or 1-9A-Z (class 2). */
export function isInputCode(code: string): boolean {
  return /^[1-6][1-9A-Z]$/.test(code);
}

/**
 * The class an INPT parameter needs: class 1 knows only types 1-5 with numbers 1-9; type 6 (INTERNAL) and
 * the numbers A-Z exist only in class 2, and a projector answers `%1INPT 61` with ERR2 (PJLink 2.02 as laid
 * out by higashi3939/pjlink-python PJLink.py: "INTERNAL is class2", "A~Z are class2").
 */
export function inputCommandClass(code: string): 1 | 2 {
  return /^[1-5][1-9]$/.test(code) ? 1 : 2;
}

/** Hours counters (FILT): 1..10 digits; anything else is treated as malformed. */
export function parseHours(data: string): number | undefined {
  const d = data.trim();
  return /^\d{1,10}$/.test(d) ? Number(d) : undefined;
}
