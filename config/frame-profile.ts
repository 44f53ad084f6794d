/**
 * A frame profile declares a small vendor protocol in config, so a technician can add an amplifier,
 * power sequencer or LED controller without code. Templates are ASCII (with \r \n \xNN escapes) or hex
 * ("A5 01 {value:u8} 00"); `{name:type}` placeholders take command parameters. Replies are matched with a
 * regular expression (ASCII) or a hex pattern; named captures map onto the device model.
 */
import { z } from 'zod';

export const CHECKSUMS = ['none', 'sum8', 'xor8', 'crc16_modbus'] as const;

const CommandSchema = z
  .object({
    send: z.string().min(1).max(512),
    /** Regex (ASCII profiles) or hex pattern with `..` wildcards (hex profiles) the reply must match. */
    expect: z.string().min(1).max(512).optional(),
    /** Map reply captures onto state fields, e.g. { power: { '1': 'on', '0': 'off' } } or { volume: 'number' }. */
    map: z.record(z.string(), z.union([z.literal('number'), z.literal('boolean'), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))])).optional(),
    timeout_ms: z.number().int().min(10).max(60_000).optional(),
  })
  .strict();

export const FrameProfileSchema = z
  .object({
    name: z.string().min(1).max(100),
    encoding: z.enum(['ascii', 'hex']).default('ascii'),
    checksum: z.enum(CHECKSUMS).default('none'),
    /** Reply framing: a terminator (ASCII escapes allowed) or a fixed length in bytes. */
    reply_terminator: z.string().min(1).max(8).optional(),
    reply_length: z.number().int().min(1).max(1024).optional(),
    timeout_ms: z.number().int().min(10).max(60_000).default(1000),
    commands: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/), CommandSchema),
  })
  .strict();
export type FrameProfile = z.infer<typeof FrameProfileSchema>;
