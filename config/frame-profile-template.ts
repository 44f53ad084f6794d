/**
 * The pure parts of frame profiles: command templates, checksums and reply patterns. Used by the
 * config schema (to reject a broken profile at load, with its key path) and by the driver.
 *
 * Templates
 *   ascii  "VOL {value:dec3}\r"   escapes \r \n \t \\ \{ \xNN (YAML double quotes already turn \r into CR)
 *   hex    "FF 00 {value:u8}"     two hex digits per byte, whitespace ignored
 * Patterns
 *   ascii  a JavaScript regular expression over the reply (terminator removed), named groups capture
 *   hex    "AA 55 (?<power>..) .."  hex bytes, `..` = any byte, named groups around whole bytes
 */
import { crc16Modbus, sum8, xor8 } from '../protocol/checksum.js';

export const CHECKSUM_KINDS = ['none', 'sum8', 'xor8', 'crc16_modbus'] as const;
export type ChecksumKind = (typeof CHECKSUM_KINDS)[number];

export const ASCII_PARAM_TYPES = ['dec', 'dec2', 'dec3', 'hex2', 'str'] as const;
export const HEX_PARAM_TYPES = ['u8', 'u16be', 'u16le'] as const;
export type ParamType = (typeof ASCII_PARAM_TYPES)[number] | (typeof HEX_PARAM_TYPES)[number];

export type TemplatePart = { bytes: Buffer } | { param: string; type: ParamType };

export class TemplateError extends Error {}

const PLACEHOLDER = /^\{([a-z][a-z0-9_]*)(?::([a-z0-9]+))?\}/;

/** Decodes the escapes of an ASCII template/terminator. */
export function unescapeAscii(text: string): Buffer {
  const parts = parseTemplate(text, 'ascii', false);
  return Buffer.concat(parts.map((p) => ('bytes' in p ? p.bytes : Buffer.alloc(0))));
}

export function parseTemplate(text: string, encoding: 'ascii' | 'hex', allowParams = true): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let lit: number[] = [];
  const flush = (): void => {
    if (lit.length > 0) parts.push({ bytes: Buffer.from(lit) });
    lit = [];
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '{') {
      const m = PLACEHOLDER.exec(text.slice(i));
      if (!m || !allowParams) throw new TemplateError(`bad placeholder at position ${i} (use {value:type}${encoding === 'ascii' ? ' or \\{ for a literal brace' : ''})`);
      const name = m[1]!;
      const type = (m[2] ?? (encoding === 'ascii' ? 'dec' : 'u8')) as ParamType;
      const allowed: readonly string[] = encoding === 'ascii' ? ASCII_PARAM_TYPES : HEX_PARAM_TYPES;
      if (!allowed.includes(type)) throw new TemplateError(`placeholder {${name}:${type}}: type must be one of ${allowed.join(', ')}`);
      flush();
      parts.push({ param: name, type });
      i += m[0].length;
      continue;
    }
    if (encoding === 'hex') {
      if (/\s/.test(ch)) {
        i++;
        continue;
      }
      const pair = text.slice(i, i + 2);
      if (!/^[0-9A-Fa-f]{2}$/.test(pair)) throw new TemplateError(`expected two hex digits at position ${i}, got "${pair}"`);
      lit.push(parseInt(pair, 16));
      i += 2;
      continue;
    }
    if (ch === '\\') {
      const next = text[i + 1];
      const simple: Record<string, number> = { r: 13, n: 10, t: 9, '\\': 92, '{': 123, '}': 125, '0': 0 };
      if (next !== undefined && next in simple) {
        lit.push(simple[next]!);
        i += 2;
        continue;
      }
      if (next === 'x') {
        const hex = text.slice(i + 2, i + 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new TemplateError(`bad \\x escape at position ${i}`);
        lit.push(parseInt(hex, 16));
        i += 4;
        continue;
      }
      throw new TemplateError(`unknown escape \\${next ?? ''} at position ${i}`);
    }
    const code = ch.charCodeAt(0);
    if (code > 0xff) throw new TemplateError(`character "${ch}" is not a single byte; use \\xNN escapes`);
    lit.push(code);
    i++;
  }
  flush();
  return parts;
}

export function templateParams(parts: readonly TemplatePart[]): string[] {
  return parts.flatMap((p) => ('param' in p ? [p.param] : []));
}

export function renderParam(type: ParamType, value: string | number): Buffer {
  if (type === 'str') {
    const s = String(value);
    // A parameter must not be able to smuggle a terminator or control bytes into the frame.
    if (!/^[\x20-\x7e]*$/.test(s)) throw new TemplateError(`parameter "${s}" has non-printable characters`);
    return Buffer.from(s, 'latin1');
  }
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 0) throw new TemplateError(`parameter ${String(value)} is not a non-negative integer`);
  const max: Record<Exclude<ParamType, 'str'>, number> = { dec: 999_999, dec2: 99, dec3: 999, hex2: 0xff, u8: 0xff, u16be: 0xffff, u16le: 0xffff };
  if (n > max[type]) throw new TemplateError(`parameter ${n} exceeds ${max[type]} for type ${type}`);
  switch (type) {
    case 'dec':
      return Buffer.from(String(n), 'latin1');
    case 'dec2':
      return Buffer.from(String(n).padStart(2, '0'), 'latin1');
    case 'dec3':
      return Buffer.from(String(n).padStart(3, '0'), 'latin1');
    case 'hex2':
      return Buffer.from(n.toString(16).toUpperCase().padStart(2, '0'), 'latin1');
    case 'u8':
      return Buffer.of(n);
    case 'u16be':
      return Buffer.of(n >> 8, n & 0xff);
    case 'u16le':
      return Buffer.of(n & 0xff, n >> 8);
  }
}

export function renderTemplate(parts: readonly TemplatePart[], params: Readonly<Record<string, string | number>>): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      if ('bytes' in p) return p.bytes;
      const v = params[p.param];
      if (v === undefined) throw new TemplateError(`missing parameter ${p.param}`);
      return renderParam(p.type, v);
    }),
  );
}

export function checksumLength(kind: ChecksumKind): number {
  return kind === 'none' ? 0 : kind === 'crc16_modbus' ? 2 : 1;
}

/**
 * The checksum bytes over `data`. `init` seeds the 8-bit sums: the ITC T-series amplifier's
 * XOR "((0xFF−0x80) ^ 0x15) ^ cmd" is xor8 over the whole frame seeded with 0x80
 * (docs/reference/protocols.md §5.1).
 */
export function computeChecksum(kind: ChecksumKind, data: Uint8Array, init = 0): Buffer {
  switch (kind) {
    case 'none':
      return Buffer.alloc(0);
    case 'sum8':
      return Buffer.of(sum8(data, init));
    case 'xor8':
      return Buffer.of(xor8(data, init));
    case 'crc16_modbus': {
      const crc = crc16Modbus(data);
      return Buffer.of(crc & 0xff, crc >>> 8);
    }
  }
}

export interface CompiledPattern {
  regex: RegExp;
  groups: string[];
  /** Hex patterns match the reply rendered as lower-case hex without spaces. */
  hex: boolean;
}

export function namedGroups(source: string): string[] {
  return [...source.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);
}

/** Compiles an `expect` pattern; throws TemplateError with a readable reason. */
export function compilePattern(pattern: string, encoding: 'ascii' | 'hex'): CompiledPattern {
  if (encoding === 'ascii') {
    let regex: RegExp;
    try {
      regex = new RegExp(pattern);
    } catch (err) {
      throw new TemplateError(`not a valid regular expression: ${(err as Error).message}`);
    }
    return { regex, groups: namedGroups(pattern), hex: false };
  }
  let src = '';
  let depth = 0;
  let i = 0;
  while (i < pattern.length) {
    const rest = pattern.slice(i);
    const ch = pattern[i]!;
    if (/\s/.test(ch)) {
      i++;
    } else if (rest.startsWith('..')) {
      src += '[0-9a-f]{2}';
      i += 2;
    } else if (/^[0-9A-Fa-f]{2}/.test(rest)) {
      src += rest.slice(0, 2).toLowerCase();
      i += 2;
    } else if (/^\(\?<[A-Za-z_][A-Za-z0-9_]*>/.test(rest)) {
      const m = /^\(\?<[A-Za-z_][A-Za-z0-9_]*>/.exec(rest)!;
      src += m[0];
      depth++;
      i += m[0].length;
    } else if (ch === ')') {
      if (depth === 0) throw new TemplateError(`unbalanced ")" at position ${i}`);
      depth--;
      src += ')';
      i++;
    } else {
      throw new TemplateError(`unexpected "${ch}" at position ${i} (hex bytes, "..", "(?<name>" and ")" only)`);
    }
  }
  if (depth !== 0) throw new TemplateError('unclosed group');
  return { regex: new RegExp(`^${src}$`), groups: namedGroups(pattern), hex: true };
}

/** Runs a compiled pattern on a reply body; returns the named captures or undefined when it does not match. */
export function matchReply(p: CompiledPattern, body: Buffer): Record<string, string> | undefined {
  const text = p.hex ? body.toString('hex') : body.toString('latin1');
  const m = p.regex.exec(text);
  if (!m) return undefined;
  const out: Record<string, string> = {};
  for (const g of p.groups) {
    const v = m.groups?.[g];
    if (v !== undefined) out[g] = v;
  }
  return out;
}
