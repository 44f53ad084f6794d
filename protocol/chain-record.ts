/**
 * The other records of a station's evidence chain (docs/evidence.md), published on the `usage` topic with
 * the usage records and sealed the same way (protocol/evidence.ts). A usage record has no `type`; these
 * two name theirs:
 *   - `note`: what the administrator recorded on site for a session (`stationctl session note`), naming
 *     that session's seq. A sealed record is never edited, so a note is its own record; the county joins
 *     the latest note of a session to it.
 *   - `genesis`: the first sealed record of a ledger that has records already. It names the last seq made
 *     before sealing began (`after_seq`, 0 for a fresh ledger), so everything after it must be sealed.
 * Events (faults, schedule runs) stay outside the chain: the outbox budget may summarise them.
 */
import { z } from 'zod';
import { AnnotationSchema, Hex64Schema, IncomingUsageRecordSchema, LedgerIdSchema, UsageRecordSchema } from './usage-record.js';

const IsoTime = z.string().datetime({ offset: false, precision: 3 });

/** The evidence fields, required on these two kinds: they exist only on a sealed chain. */
const SEALED = {
  prev: Hex64Schema.describe('SHA-256 (hex) of the previous chain record; 64 zeros for the first'),
  epoch: z.number().int().nonnegative().describe('the epoch whose key sealed this record'),
  seal: Hex64Schema.describe('HMAC-SHA256 (hex) with that epoch\'s key over the canonical record without seal and historical'),
};

const Common = {
  v: z.literal(1),
  id: z.string().min(10).describe('globally unique record id (ULID)'),
  seq: z.number().int().positive().describe('per-ledger durable sequence number, shared with usage records and events'),
  ledger: LedgerIdSchema,
  station_id: z.string(),
  ts: IsoTime.describe('when the record was made, ISO-8601 UTC with milliseconds'),
  historical: z.boolean().optional().describe('set on replay after a reconnect (not sealed)'),
};

export const NoteRecordSchema = z
  .object({
    ...Common,
    type: z.literal('note'),
    session_seq: z.number().int().positive().describe('the seq of the usage record this note is about'),
    annotation: AnnotationSchema,
    ...SEALED,
  })
  .strict();
export type NoteRecord = z.infer<typeof NoteRecordSchema>;

export const GenesisRecordSchema = z
  .object({
    ...Common,
    type: z.literal('genesis'),
    after_seq: z.number().int().nonnegative().describe('the last seq of this ledger made before sealing began (0: none)'),
    epoch_s: z.number().int().min(10).describe('evidence.epoch_s of the station'),
    ...SEALED,
  })
  .strict();
export type GenesisRecord = z.infer<typeof GenesisRecordSchema>;

/** Anything on the `usage` topic, as the station publishes it. */
export const ChainRecordSchema = z.union([NoteRecordSchema, GenesisRecordSchema, UsageRecordSchema]);
export type AnyUsageTopicRecord = z.infer<typeof ChainRecordSchema>;

/** What the county accepts on the `usage` topic (usage records of agents older than ledgers too). */
export const IncomingChainRecordSchema = z.union([NoteRecordSchema, GenesisRecordSchema, IncomingUsageRecordSchema]);

/** The kind of a record on the `usage` topic. */
export function chainKind(record: { type?: unknown }): 'session' | 'note' | 'genesis' {
  return record.type === 'note' ? 'note' : record.type === 'genesis' ? 'genesis' : 'session';
}
