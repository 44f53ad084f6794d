/**
 * A frame profile declares a small vendor protocol in config, so a technician can add an amplifier,
 * power sequencer or LED controller without code. Templates are ASCII (with \r \n \xNN escapes) or hex
 * ("A5 01 {value:u8} 00"); `{value:type}` placeholders take the command's parameter. Replies are matched
 * with a regular expression (ASCII) or a hex pattern; named captures map onto the device model.
 *
 * Command names with a meaning: power_on, power_off, power_toggle, volume_set, mute_on, mute_off,
 * brightness_set, blank_on, blank_off, input_set. Any other name is a query, run when listed in `poll`
 * (every poll) or `identify` (once at open). Syntax of templates and patterns: config/frame-profile-template.ts.
 */
import { z } from 'zod';
import {
  CHECKSUM_KINDS,
  TemplateError,
  compilePattern,
  parseTemplate,
  templateParams,
} from './frame-profile-template.js';

export const CHECKSUMS = CHECKSUM_KINDS;

/** Commands the driver maps device commands onto; `*_set` ones take `{value}`. */
export const ACTION_COMMANDS = [
  'power_on',
  'power_off',
  'power_toggle',
  'volume_set',
  'mute_on',
  'mute_off',
  'brightness_set',
  'blank_on',
  'blank_off',
  'input_set',
] as const;
export type ActionCommand = (typeof ACTION_COMMANDS)[number];

/** Device model fields a reply capture may set, and the kind of value each takes. */
export const MAPPABLE_FIELDS = {
  power: 'power',
  volume: 'percent',
  brightness: 'percent',
  muted: 'boolean',
  blank: 'boolean',
  signal: 'boolean',
  input: 'string',
  model: 'string',
  firmware: 'string',
  serial_number: 'string',
} as const;
export type MappableField = keyof typeof MAPPABLE_FIELDS;

const POWER_VALUES = ['on', 'off', 'warming', 'cooling', 'unknown'];

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
/**
 * How a capture becomes a field value: `number` (decimal in ASCII, big-endian in hex), `boolean`
 * (1/0, on/off, true/false), `string`, a lookup table, or `{scale: [lo, hi]}` mapping the device's lo..hi
 * linearly onto 0–100 (lo may exceed hi, e.g. an attenuation of 79..0 dB).
 */
const MapSpec = z.union([
  z.enum(['number', 'boolean', 'string']),
  z.object({ scale: z.tuple([z.number(), z.number()]) }).strict(),
  z.record(z.string(), Scalar),
]);
export type MapSpecValue = z.infer<typeof MapSpec>;

const CommandSchema = z
  .object({
    send: z.string().min(1).max(512),
    /** Regex (ASCII profiles) or hex pattern with `..` wildcards (hex profiles) the reply must match. */
    expect: z.string().min(1).max(512).optional(),
    /** Map named captures onto state fields, e.g. { power: { '1': 'on', '0': 'off' } } or { volume: 'number' }. */
    map: z.record(z.string(), MapSpec).optional(),
    /** `{value}` is 0–100 in the device model; send it scaled linearly onto [lo, hi] (e.g. [79, 0] dB attenuation). */
    scale: z.tuple([z.number(), z.number()]).optional(),
    /** The device does not answer this command (open loop). */
    no_reply: z.boolean().default(false),
    timeout_ms: z.number().int().min(10).max(60_000).optional(),
  })
  .strict();
export type FrameCommand = z.infer<typeof CommandSchema>;

export const FrameProfileSchema = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().max(2000).optional(),
    encoding: z.enum(['ascii', 'hex']).default('ascii'),
    checksum: z.enum(CHECKSUMS).default('none'),
    /** First byte covered by the checksum, e.g. 2 to skip an `FF 55` header. */
    checksum_from: z.number().int().min(0).max(64).default(0),
    /** Seed of sum8/xor8. */
    checksum_init: z.number().int().min(0).max(255).default(0),
    /** Reply framing: a terminator (ASCII escapes allowed), a fixed length in bytes, or else a silence gap. */
    reply_terminator: z.string().min(1).max(8).optional(),
    reply_length: z.number().int().min(1).max(1024).optional(),
    reply_gap_ms: z.number().int().min(5).max(2000).default(50),
    /** A reply matching this is the device refusing the command (e.g. "^ERR"). */
    error: z.string().min(1).max(200).optional(),
    timeout_ms: z.number().int().min(10).max(60_000).default(1000),
    /** Pause between two commands; some sequencers drop a command sent right after a reply. */
    inter_command_ms: z.number().int().min(0).max(5000).default(0),
    /** Queries run on every poll, in order. */
    poll: z.array(z.string()).default([]),
    /** Queries run once at open (model, firmware). */
    identify: z.array(z.string()).default([]),
    commands: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'command names are lower_snake_case'), CommandSchema),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.reply_terminator !== undefined && p.reply_length !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['reply_length'], message: 'use reply_terminator or reply_length, not both' });
    }
    if (p.checksum !== 'none' && p.encoding !== 'hex') {
      ctx.addIssue({ code: 'custom', path: ['checksum'], message: 'checksums are for hex profiles' });
    }
    if (p.reply_terminator !== undefined) {
      try {
        parseTemplate(p.reply_terminator, 'ascii', false);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['reply_terminator'], message: (err as Error).message });
      }
    }
    if (p.error !== undefined) {
      try {
        compilePattern(p.error, p.encoding);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['error'], message: (err as Error).message });
      }
    }
    for (const [name, cmd] of Object.entries(p.commands)) {
      const at = (...rest: (string | number)[]): (string | number)[] => ['commands', name, ...rest];
      let params: string[] = [];
      try {
        params = templateParams(parseTemplate(cmd.send, p.encoding));
      } catch (err) {
        if (err instanceof TemplateError) ctx.addIssue({ code: 'custom', path: at('send'), message: err.message });
        else throw err;
      }
      const takesValue = name.endsWith('_set');
      for (const param of params) {
        if (param !== 'value') ctx.addIssue({ code: 'custom', path: at('send'), message: `unknown placeholder {${param}} (only {value})` });
      }
      if (takesValue && !params.includes('value')) {
        ctx.addIssue({ code: 'custom', path: at('send'), message: `${name} needs a {value} placeholder` });
      }
      if (!takesValue && params.includes('value')) {
        ctx.addIssue({ code: 'custom', path: at('send'), message: `only *_set commands take {value}` });
      }
      let groups: string[] = [];
      if (cmd.expect !== undefined) {
        if (cmd.no_reply) ctx.addIssue({ code: 'custom', path: at('expect'), message: 'no_reply commands cannot expect a reply' });
        try {
          groups = compilePattern(cmd.expect, p.encoding).groups;
        } catch (err) {
          if (err instanceof TemplateError) ctx.addIssue({ code: 'custom', path: at('expect'), message: err.message });
          else throw err;
        }
      }
      for (const [field, spec] of Object.entries(cmd.map ?? {})) {
        if (!(field in MAPPABLE_FIELDS)) {
          ctx.addIssue({ code: 'custom', path: at('map', field), message: `not a device field (one of ${Object.keys(MAPPABLE_FIELDS).join(', ')})` });
          continue;
        }
        if (cmd.expect !== undefined && !groups.includes(field)) {
          ctx.addIssue({ code: 'custom', path: at('map', field), message: `expect has no named group (?<${field}>…)` });
        }
        if (cmd.expect === undefined) ctx.addIssue({ code: 'custom', path: at('map', field), message: 'map needs an expect pattern' });
        const kind = MAPPABLE_FIELDS[field as MappableField];
        if (field === 'power') {
          if (typeof spec !== 'object' || 'scale' in spec) {
            ctx.addIssue({ code: 'custom', path: at('map', field), message: 'power needs a lookup table, e.g. { "1": on, "0": off }' });
          } else {
            for (const [k, v] of Object.entries(spec)) {
              if (typeof v !== 'string' || !POWER_VALUES.includes(v)) {
                ctx.addIssue({ code: 'custom', path: at('map', field, k), message: `expected one of ${POWER_VALUES.join(', ')}` });
              }
            }
          }
        } else if (kind === 'boolean' && typeof spec === 'object' && !('scale' in spec)) {
          for (const [k, v] of Object.entries(spec)) {
            if (typeof v !== 'boolean') ctx.addIssue({ code: 'custom', path: at('map', field, k), message: 'expected true or false' });
          }
        } else if (kind === 'boolean' && spec !== 'boolean') {
          ctx.addIssue({ code: 'custom', path: at('map', field), message: 'expected boolean or a lookup table of true/false' });
        } else if (kind === 'percent' && spec !== 'number' && !(typeof spec === 'object' && 'scale' in spec)) {
          ctx.addIssue({ code: 'custom', path: at('map', field), message: 'expected number or {scale: [lo, hi]}' });
        }
      }
      if (cmd.scale !== undefined && !takesValue) {
        ctx.addIssue({ code: 'custom', path: at('scale'), message: 'scale is for *_set commands' });
      }
      if (cmd.scale !== undefined && cmd.scale[0] === cmd.scale[1]) {
        ctx.addIssue({ code: 'custom', path: at('scale'), message: 'lo and hi must differ' });
      }
    }
    for (const key of ['poll', 'identify'] as const) {
      p[key].forEach((name, i) => {
        if (!(name in p.commands)) ctx.addIssue({ code: 'custom', path: [key, i], message: `no command named ${name}` });
        else if ((ACTION_COMMANDS as readonly string[]).includes(name)) {
          ctx.addIssue({ code: 'custom', path: [key, i], message: `${name} is an action, not a query` });
        }
      });
    }
    if (('power_on' in p.commands) !== ('power_off' in p.commands)) {
      ctx.addIssue({ code: 'custom', path: ['commands'], message: 'power_on and power_off go together' });
    }
  });
export type FrameProfile = z.infer<typeof FrameProfileSchema>;
