/**
 * NEC projector binary control (RS-232 and TCP 7142). Pure encode/decode.
 * Frame: cmd1 cmd2 ID1 ID2 LEN DATA… CKS, CKS = low byte of the sum of all preceding bytes
 * (NEC NP-UM361X command manual §2.2 — not XOR, whatever some stubs claim). A reply echoes cmd2 and
 * sets cmd1's high nibble to 2 (success) or A (failure, DATA = ERR1 ERR2). Sources: docs/reference/protocols.md
 * §3.1 and NEC's External Control Manual command list (078-2, 078-4, 078-5, 037-3, 037-4, 305-3).
 */
import type { DeviceFault, PowerState } from '../types.js';
import { LengthFramer } from '../framing/length.js';
import type { InputChoice } from '../../protocol/device-controls.js';

export const NEC_PORT = 7142;

/**
 * INPUT SW CHANGE (018) terminal codes (docs/reference/protocols.md §NEC, "Appendix pp. 18-22"); a model
 * without the terminal answers with FFh, which the driver reports as a refused step.
 */
export const NEC_INPUTS: readonly InputChoice[] = [
  { code: '1A', kind: 'hdmi', n: 1 },
  { code: '1B', kind: 'hdmi', n: 2 },
  { code: '01', kind: 'computer', n: 1 },
  { code: '02', kind: 'computer', n: 2 },
  { code: 'A6', kind: 'displayport' },
  { code: 'BF', kind: 'hdbaset' },
  { code: 'C4', kind: 'sdi' },
  { code: '06', kind: 'video' },
  { code: '0B', kind: 'svideo' },
  { code: '10', kind: 'component' },
  { code: '1F', kind: 'usb' },
  { code: '20', kind: 'network' },
];

export function checksum(bytes: Uint8Array): number {
  let s = 0;
  for (const b of bytes) s = (s + b) & 0xff;
  return s;
}

export function encodeFrame(cmd1: number, cmd2: number, data: readonly number[] = [], id1 = 0, id2 = 0): Buffer {
  if (data.length > 255) throw new RangeError('NEC data too long');
  const body = [cmd1, cmd2, id1, id2, data.length, ...data];
  return Buffer.from([...body, checksum(Uint8Array.from(body))]);
}

/** Request frames; the comments name NEC's command numbers. */
export const NecCommands = {
  powerOn: () => encodeFrame(0x02, 0x00), // 015 POWER ON  → 02 00 00 00 00 02 (verified)
  powerOff: () => encodeFrame(0x02, 0x01), // 016 POWER OFF → 02 01 00 00 00 03 (verified)
  errorStatus: () => encodeFrame(0x00, 0x88), // 009 ERROR STATUS REQUEST → 00 88 00 00 00 88
  runningStatus: () => encodeFrame(0x00, 0x85, [0x01]), // 078-2 → 00 85 00 00 01 01 87
  muteStatus: () => encodeFrame(0x00, 0x85, [0x03]), // 078-4 → 00 85 00 00 01 03 89
  modelName: () => encodeFrame(0x00, 0x85, [0x04]), // 078-5 → 00 85 00 00 01 04 8A
  basicInfo: () => encodeFrame(0x00, 0xbf, [0x02]), // 305-3 → 00 BF 00 00 01 02 C2
  filterUsage: () => encodeFrame(0x03, 0x95), // 037-3 → 03 95 00 00 00 98
  lampUsage: (lamp = 0) => encodeFrame(0x03, 0x96, [lamp, 0x01]), // 037-4, content 01h = usage seconds
  inputSwitch: (terminal: number) => encodeFrame(0x02, 0x03, [0x01, terminal]), // 018 INPUT SW CHANGE
  pictureMute: (on: boolean) => encodeFrame(0x02, on ? 0x10 : 0x11), // 020 / 021
  soundMute: (on: boolean) => encodeFrame(0x02, on ? 0x12 : 0x13), // 022 / 023
} as const;

/** Replies: header of 5 bytes, LEN at [4], checksum last; first byte 2x or Ax. */
export function necReplyFramer(): LengthFramer {
  return new LengthFramer({
    headerLength: 5,
    frameLength: (h) => 5 + h[4]! + 1,
    maxLength: 5 + 255 + 1,
    isStart: (b) => (b & 0xf0) === 0x20 || (b & 0xf0) === 0xa0,
    validate: (f) => checksum(f.subarray(0, -1)) === f[f.length - 1],
  });
}

/** The same framing for requests (the simulator's side): first byte 0x0X. */
export function necRequestFramer(): LengthFramer {
  return new LengthFramer({
    headerLength: 5,
    frameLength: (h) => 5 + h[4]! + 1,
    maxLength: 5 + 255 + 1,
    isStart: (b) => (b & 0xf0) === 0x00,
    validate: (f) => checksum(f.subarray(0, -1)) === f[f.length - 1],
  });
}

export type NecReply = { ok: true; data: Buffer } | { ok: false; err1: number; err2: number };

/** Undefined when `frame` does not answer the request (cmd1/cmd2). */
export function parseReply(frame: Buffer, request: Buffer): NecReply | undefined {
  if (frame.length < 6 || frame[1] !== request[1]) return undefined;
  const hi = frame[0]! & 0xf0;
  if ((frame[0]! & 0x0f) !== (request[0]! & 0x0f)) return undefined;
  const data = frame.subarray(5, 5 + frame[4]!);
  if (hi === 0x20) return { ok: true, data: Buffer.from(data) };
  if (hi === 0xa0) return { ok: false, err1: data[0] ?? 0xff, err2: data[1] ?? 0xff };
  return undefined;
}

/**
 * ERR1/ERR2 pairs with their texts: "Control Commands for NEC Projector (Basic)" Rev 5.16.11a (NEC Display
 * Solutions 2011), §6 "Table of Response Error Codes" (the same table as §2.4 "Error code list" of the later
 * "Projector Control Command Reference Manual"); the pairs marked VT are only in the older VT-series manual's
 * list (02h 01h, 02h 05h, 02h 0Bh, 00h 02h, 00h 03h, 04h xx).
 *
 * Busy (retry later, not a fault) are only the states that pass by themselves: another controller or a link
 * operation at work, memory in use, and "setting not possible" / "power off inhibited", which projectors
 * answer during their power-on/off sequence. 02h 0Eh (execution error) and 02h 0Fh (no operation authority)
 * are failures: retrying them changes nothing.
 */
const ERROR_TABLE: ReadonlyArray<[code: number, text: string, busy: boolean]> = [
  [0x0000, 'unknown command', false],
  [0x0001, 'the current model does not support this function', false],
  [0x0002, 'this model is not compatible with the switcher', false], // VT
  [0x0003, 'this model is not compatible with the PC viewer', false], // VT
  [0x0100, 'invalid value specified', false],
  [0x0101, 'specified terminal is unavailable or cannot be selected', false],
  [0x0102, 'selected language is not available', false],
  [0x0200, 'available memory reservation error', false],
  [0x0201, 'external control working', true], // VT
  [0x0202, 'operating memory (memory in use)', true],
  [0x0203, 'setting not possible now (power-on/off sequence or standby)', true],
  [0x0204, 'forced on-screen mute mode is on', false],
  [0x0205, 'link mode working', true], // VT
  [0x0206, 'displaying a signal other than the PC viewer', false],
  [0x0207, 'no signal', false],
  [0x0208, 'displaying a test pattern or the PC card files screen', false],
  [0x0209, 'no PC card is inserted', false],
  [0x020a, 'memory operation failed', false],
  [0x020b, 'switcher mode working', true], // VT
  [0x020c, 'displaying the entry list', false],
  [0x020d, 'power off inhibited (power-on sequence)', true],
  [0x020e, 'execution error', false],
  [0x020f, 'no operation authority', false],
  [0x0300, 'specified gain number is wrong', false],
  [0x0301, 'selected gain is not available', false],
  [0x0302, 'adjustment failed', false],
  [0x0400, 'logo transfer: start is not requested', false], // VT
  [0x0401, 'logo transfer: cannot process due to storing', true], // VT
  [0x0402, 'logo transfer: exceeds the total number of blocks', false], // VT
];

export const NEC_ERROR_CODES: ReadonlyMap<number, { text: string; busy: boolean }> = new Map(ERROR_TABLE.map(([code, text, busy]) => [code, { text, busy }]));

export function describeError(err1: number, err2: number): { text: string; busy: boolean } {
  const known = NEC_ERROR_CODES.get(((err1 & 0xff) << 8) | (err2 & 0xff));
  if (known) return { ...known };
  // A pair missing from the manual is reported as it came, and never taken for "busy": a projector that
  // keeps refusing must show as failing, not as forever warming up.
  return { text: `error ${err1.toString(16).padStart(2, '0')} ${err2.toString(16).padStart(2, '0')}`, busy: false };
}

/**
 * 078-2 RUNNING STATUS: DATA03 power status (00 standby, 01 on), DATA04 cooling (01 during), DATA05 power
 * on/off process (01 executing), DATA06 operation status (00 standby, 04 on, 05 cooling, 06 standby
 * (error), 0F standby (power saving), 10 network standby).
 */
export function parseRunningStatus(data: Buffer): { power: PowerState; standbyError: boolean } {
  const powerOn = data[2] === 0x01;
  const cooling = data[3] === 0x01 || data[5] === 0x05;
  const process = data[4] === 0x01;
  const standbyError = data[5] === 0x06;
  if (cooling) return { power: 'cooling', standbyError };
  if (process) return { power: powerOn ? 'warming' : 'cooling', standbyError };
  if (powerOn || data[5] === 0x04) return { power: 'on', standbyError };
  if (data.length < 6) return { power: 'unknown', standbyError };
  return { power: 'off', standbyError };
}

/**
 * 305-3 BASIC INFORMATION: `20h BFh <ID1> <ID2> 10h 02h <DATA01>-<DATA15> <CKS>`, so `data` here is 02h then
 * DATA01 operation status, DATA02 content displayed (00 video signal shown, 01 no signal, 02 viewer, 03 test
 * pattern, 04 LAN), DATA03 selection signal type 1, DATA04 type 2, DATA05 display signal type, DATA06 picture
 * mute, DATA07 sound mute, DATA08 onscreen mute, DATA09 freeze (NEC command reference manual [305-3];
 * tannmatter/fuzzy-happiness avctls/drivers/projector/nec.py reads the same offsets).
 */
export function parseBasicInfo(data: Buffer): { signal: boolean | null; input: string | null; av_mute: boolean | null } {
  if (data.length < 10 || data[0] !== 0x02) return { signal: null, input: null, av_mute: null };
  const content = data[2]!;
  const signal = content === 0x00 ? true : content === 0x01 ? false : null;
  return { signal, input: terminalFromSignalType(data[3]!, data[4]!), av_mute: data[6] === 0x01 };
}

/**
 * Status replies (078-3, 305-3) name the input by "selection signal type 1" = the terminal's number (01h-05h)
 * and "type 2" = its kind (01h COMPUTER, 02h VIDEO, 03h S-VIDEO, 04h COMPONENT, 06h HDMI on older models,
 * 07h VIEWER/LAN, 20h DVI-D, 21h HDMI, 22h DisplayPort, 27h HDBaseT, 28h SDI): NEC "Projector Control
 * Command Reference Manual" §3.35 [078-3] p. 62, and the appendix tables as transcribed by
 * tannmatter/fuzzy-happiness (avctls/drivers/projector/nec.py `status`) and the Cave NEC driver
 * (`InputStates`, "Appendix p.30"). INPUT SW CHANGE (018) takes a terminal code instead (01 computer 1,
 * 02 computer 2, 06 video, 0B S-video, 10 component, 1A HDMI 1, 1B HDMI 2, A6 DisplayPort, 1F viewer, 20 LAN,
 * BF HDBaseT, C4 SDI; appendix "018"), which is what a configured `input:` holds. Keys are type 1 then
 * type 2; a pair not listed becomes `t<type1><type2>` so it still shows, and never equals a configured code.
 */
const SIGNAL_TYPE_TO_TERMINAL: ReadonlyArray<[type1: number, type2: number, terminal: string]> = [
  [0x01, 0x01, '01'], // COMPUTER 1
  [0x02, 0x01, '02'], // COMPUTER 2
  [0x03, 0x01, '03'], // COMPUTER 3
  [0x01, 0x02, '06'], // VIDEO
  [0x01, 0x03, '0B'], // S-VIDEO
  [0x01, 0x04, '10'], // COMPONENT
  [0x03, 0x04, '10'], // COMPONENT (YPrPb on the third computer terminal of some models)
  [0x01, 0x21, '1A'], // HDMI 1
  [0x01, 0x06, '1A'], // HDMI 1 (older models)
  [0x02, 0x21, '1B'], // HDMI 2
  [0x02, 0x06, '1B'], // HDMI 2 (older models)
  [0x01, 0x22, 'A6'], // DisplayPort
  [0x01, 0x07, '1F'], // VIEWER (USB-A)
  [0x02, 0x07, '20'], // LAN
  [0x01, 0x27, 'BF'], // HDBaseT
  [0x01, 0x28, 'C4'], // SDI
];

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, '0');

export function terminalFromSignalType(type1: number, type2: number): string {
  const hit = SIGNAL_TYPE_TO_TERMINAL.find(([a, b]) => a === type1 && b === type2);
  return hit ? hit[2] : `t${hex2(type1)}${hex2(type2)}`;
}

/**
 * 009 ERROR STATUS: DATA01 bit0 lamp cover, bit1 temperature (bimetal), bit4 fan, bit5 power, bit6 lamp
 * error, bit7 lamp end of life; DATA02 bit0 lamp over limit, bit1 formatter, bit2 lamp 2; DATA03 bit1
 * FPGA, bit2 temperature sensor.
 */
const ERROR_BITS: [byte: number, bit: number, code: string, severity: DeviceFault['severity'], text: string][] = [
  [0, 0, 'cover_open', 'error', 'lamp cover error'],
  [0, 1, 'temperature', 'error', 'temperature error (bimetal)'],
  [0, 4, 'fan', 'error', 'fan error'],
  [0, 5, 'power_supply', 'error', 'power error'],
  [0, 6, 'lamp', 'error', 'lamp error'],
  [0, 7, 'lamp', 'warning', 'lamp has reached its end of life'],
  [1, 0, 'lamp', 'warning', 'lamp has exceeded its usage limit'],
  [1, 1, 'other', 'error', 'formatter error'],
  [1, 2, 'lamp', 'error', 'lamp 2 error'],
  [2, 1, 'other', 'error', 'FPGA error'],
  [2, 2, 'temperature', 'error', 'temperature sensor error'],
];

export function parseErrorStatus(data: Buffer): DeviceFault[] {
  const faults: DeviceFault[] = [];
  for (const [byte, bit, code, severity, text] of ERROR_BITS) {
    if (((data[byte] ?? 0) >> bit) & 1) faults.push({ code, severity, text });
  }
  // Bits not in the table still mean something is wrong: report them rather than hide them.
  for (let i = 0; i < Math.min(data.length, 12); i++) {
    const known = ERROR_BITS.filter(([b]) => b === i).reduce((m, [, bit]) => m | (1 << bit), 0);
    const unknown = (data[i] ?? 0) & ~known & 0xff;
    if (unknown) faults.push({ code: 'other', severity: 'error', text: `error status DATA${String(i + 1).padStart(2, '0')}=${hex2(data[i]!)}` });
  }
  return faults;
}

/** 037-4 with content 01h: DATA01 lamp, DATA02 content, DATA03-06 seconds (little endian, -1 = undefined). */
export function parseLampSeconds(data: Buffer): number | null {
  if (data.length < 6) return null;
  const s = data.readInt32LE(2);
  return s < 0 ? null : s;
}

/** 037-3: DATA01-04 filter usage seconds (LE, -1 = undefined). */
export function parseFilterSeconds(data: Buffer): number | null {
  if (data.length < 4) return null;
  const s = data.readInt32LE(0);
  return s < 0 ? null : s;
}

/** 078-4: DATA01 picture mute, DATA02 sound mute (01 = on). */
export function parseMuteStatus(data: Buffer): boolean | null {
  if (data.length < 2) return null;
  return data[0] === 0x01;
}

/** 078-5: model name, NUL padded (Naviset capture: `20 85 01 40 20 "M311X" 00…`). */
export function parseModelName(data: Buffer): string | null {
  const end = data.indexOf(0);
  const s = data.subarray(0, end < 0 ? data.length : end).toString('latin1').trim();
  return s || null;
}
