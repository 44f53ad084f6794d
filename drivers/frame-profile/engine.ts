/**
 * A validated frame profile compiled for use: encodes commands, frames replies (terminator, fixed
 * length or silence gap, all with a byte cap), verifies checksums and turns captures into a reading.
 * Pure: the driver adds the transport and timing.
 */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { DeviceReading, PowerState } from '../types.js';
import { MAPPABLE_FIELDS, type FrameProfile, type MapSpecValue, type MappableField } from '../../config/frame-profile.js';
import {
  checksumLength,
  compilePattern,
  computeChecksum,
  matchReply,
  parseTemplate,
  renderTemplate,
  unescapeAscii,
  type CompiledPattern,
  type TemplatePart,
} from '../../config/frame-profile-template.js';

/** No reply of a small vendor protocol comes near this; more means garbage or a runaway stream. */
export const MAX_REPLY_BYTES = 1024;

export interface CompiledCommand {
  name: string;
  parts: TemplatePart[];
  expect?: CompiledPattern;
  map: Array<[MappableField, MapSpecValue]>;
  scale?: [number, number];
  noReply: boolean;
  timeoutMs: number;
}

export class CompiledProfile {
  readonly commands = new Map<string, CompiledCommand>();
  readonly terminator?: Buffer;
  readonly error?: CompiledPattern;

  constructor(readonly profile: FrameProfile) {
    if (profile.reply_terminator !== undefined) this.terminator = unescapeAscii(profile.reply_terminator);
    if (profile.error !== undefined) this.error = compilePattern(profile.error, profile.encoding);
    for (const [name, c] of Object.entries(profile.commands)) {
      this.commands.set(name, {
        name,
        parts: parseTemplate(c.send, profile.encoding),
        ...(c.expect !== undefined ? { expect: compilePattern(c.expect, profile.encoding) } : {}),
        map: Object.entries(c.map ?? {}) as Array<[MappableField, MapSpecValue]>,
        ...(c.scale ? { scale: c.scale } : {}),
        noReply: c.no_reply,
        timeoutMs: c.timeout_ms ?? profile.timeout_ms,
      });
    }
  }

  has(name: string): boolean {
    return this.commands.has(name);
  }

  command(name: string): CompiledCommand {
    const c = this.commands.get(name);
    if (!c) throw new AgentError(ErrorCodes.unsupported, `profile ${this.profile.name} has no command ${name}`);
    return c;
  }

  /** The bytes to send; `value` is 0–100 for scaled commands (or the raw value / input code). */
  encode(name: string, value?: number | string): Buffer {
    const c = this.command(name);
    let v = value;
    if (c.scale && typeof value === 'number') {
      const [lo, hi] = c.scale;
      v = Math.round(lo + ((hi - lo) * Math.min(100, Math.max(0, value))) / 100);
    }
    let body: Buffer;
    try {
      body = renderTemplate(c.parts, v === undefined ? {} : { value: v });
    } catch (err) {
      throw new AgentError(ErrorCodes.invalid_args, `${name}: ${(err as Error).message}`, { cause: err });
    }
    const p = this.profile;
    if (p.checksum === 'none') return body;
    return Buffer.concat([body, computeChecksum(p.checksum, body.subarray(p.checksum_from), p.checksum_init)]);
  }

  /**
   * Strips the terminator and checksum from one framed reply. Throws `protocol` when the checksum is
   * wrong: a corrupted reply must never be read as a state.
   */
  replyBody(frame: Buffer): Buffer {
    let body = frame;
    if (this.terminator && body.subarray(body.length - this.terminator.length).equals(this.terminator)) {
      body = body.subarray(0, body.length - this.terminator.length);
    }
    const p = this.profile;
    const n = checksumLength(p.checksum);
    if (n === 0) return body;
    if (body.length < n + p.checksum_from) {
      throw new AgentError(ErrorCodes.protocol, `reply ${frame.toString('hex')} too short for its checksum`, { retryable: true });
    }
    const data = body.subarray(0, body.length - n);
    const got = body.subarray(body.length - n);
    const want = computeChecksum(p.checksum, data.subarray(p.checksum_from), p.checksum_init);
    if (!got.equals(want)) {
      throw new AgentError(ErrorCodes.protocol, `reply ${frame.toString('hex')}: ${p.checksum} is ${got.toString('hex')}, expected ${want.toString('hex')}`, { retryable: true });
    }
    return data;
  }

  /** Whether a reply body is the device's error answer. */
  isError(body: Buffer): boolean {
    return this.error !== undefined && matchReply(this.error, body) !== undefined;
  }

  /** Applies a reply to the command's pattern: a reading, or undefined when it does not match. */
  interpret(name: string, body: Buffer): DeviceReading | undefined {
    const c = this.command(name);
    if (!c.expect) return {};
    const caps = matchReply(c.expect, body);
    if (!caps) return undefined;
    const reading: DeviceReading = {};
    for (const [field, spec] of c.map) {
      const raw = caps[field];
      if (raw === undefined) continue;
      const value = convert(field, spec, raw, c.expect.hex);
      if (value === undefined) {
        throw new AgentError(ErrorCodes.protocol, `${name}: cannot read ${field} from "${raw}"`, { retryable: true });
      }
      (reading as Record<string, unknown>)[field] = value;
    }
    return reading;
  }

  /** Device commands this profile supports. */
  capabilities(): Array<'power' | 'volume' | 'mute' | 'brightness' | 'blank' | 'input'> {
    const caps: Array<'power' | 'volume' | 'mute' | 'brightness' | 'blank' | 'input'> = [];
    if (this.has('power_on') || this.has('power_toggle')) caps.push('power');
    if (this.has('volume_set')) caps.push('volume');
    if (this.has('mute_on') && this.has('mute_off')) caps.push('mute');
    if (this.has('brightness_set')) caps.push('brightness');
    if (this.has('blank_on') && this.has('blank_off')) caps.push('blank');
    if (this.has('input_set')) caps.push('input');
    return caps;
  }
}

function convert(field: MappableField, spec: MapSpecValue, raw: string, hex: boolean): unknown {
  const kind = MAPPABLE_FIELDS[field];
  const num = (): number => (hex ? parseInt(raw, 16) : Number(raw.trim()));
  if (spec === 'string') return hex ? raw : raw.trim();
  if (spec === 'number') {
    const n = num();
    if (!Number.isFinite(n)) return undefined;
    return kind === 'percent' ? Math.min(100, Math.max(0, Math.round(n))) : n;
  }
  if (spec === 'boolean') {
    const s = raw.trim().toLowerCase();
    if (['1', 'on', 'true', 'yes', '01'].includes(s)) return true;
    if (['0', 'off', 'false', 'no', '00'].includes(s)) return false;
    return undefined;
  }
  if ('scale' in spec && Array.isArray(spec.scale)) {
    const [lo, hi] = spec.scale as [number, number];
    const n = num();
    if (!Number.isFinite(n)) return undefined;
    return Math.min(100, Math.max(0, Math.round(((n - lo) * 100) / (hi - lo))));
  }
  const table = spec as Record<string, string | number | boolean>;
  const key = hex ? raw.toLowerCase() : raw;
  const hit = table[key] ?? (hex ? table[key.toUpperCase()] : table[raw.trim()]);
  if (hit === undefined) return undefined;
  if (field === 'power') return hit as PowerState;
  return hit;
}

/**
 * Frames replies for one profile. Terminator and fixed-length framing emit as soon as a frame is
 * complete; gap framing (no terminator or length declared) emits when `flush()` is called after the
 * line went quiet. Anything past MAX_REPLY_BYTES without a frame is discarded.
 */
export class ReplyFramer {
  private buf = Buffer.alloc(0);
  overflowed = 0;

  constructor(
    private readonly terminator: Buffer | undefined,
    private readonly length: number | undefined,
  ) {}

  get gapFramed(): boolean {
    return this.terminator === undefined && this.length === undefined;
  }

  push(chunk: Buffer): Buffer[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const out: Buffer[] = [];
    if (this.terminator) {
      for (;;) {
        const i = this.buf.indexOf(this.terminator);
        if (i < 0) break;
        const end = i + this.terminator.length;
        out.push(Buffer.from(this.buf.subarray(0, end)));
        this.buf = this.buf.subarray(end);
      }
    } else if (this.length !== undefined) {
      while (this.buf.length >= this.length) {
        out.push(Buffer.from(this.buf.subarray(0, this.length)));
        this.buf = this.buf.subarray(this.length);
      }
    }
    if (this.buf.length > MAX_REPLY_BYTES) {
      this.overflowed += this.buf.length;
      this.buf = Buffer.alloc(0);
    }
    return out;
  }

  /** Gap framing: whatever arrived since the last frame is one frame. */
  flush(): Buffer | undefined {
    if (this.buf.length === 0) return undefined;
    const f = this.buf;
    this.buf = Buffer.alloc(0);
    return f;
  }

  clear(): void {
    this.buf = Buffer.alloc(0);
  }
}
