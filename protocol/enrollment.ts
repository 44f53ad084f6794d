/**
 * The enrollment copy of a station's evidence seed (docs/evidence.md "Enrollment"): the small JSON file
 * `stationctl evidence init` writes for the county, which enrolls it with the station and verifies every
 * sealed record with it. Whoever holds it can derive every key of the station from `epoch` on, so it
 * travels by hand and is deleted from the station once handed over.
 *
 *   {"v":1,"kind":"station-agent-evidence-enrollment","station_id":"village-01","seed_id":"…16 hex…",
 *    "seed":"…64 hex…","epoch":490123,"epoch_s":3600,"created":"2026-12-07T20:00:00.000Z"}
 *
 * `seed` is the key of epoch `epoch` (protocol/evidence.ts keyAt: key(e) for e ≥ epoch); `epoch` is
 * floor(created / epoch_s) at the station when the seed was made; `seed_id` names the seed without
 * revealing it (the first 16 hex digits of SHA-256 over a label and the seed), so a station's seed file,
 * its enrollment copy and a rotation can be told apart.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Id } from './schedule.js';

export const ENROLLMENT_KIND = 'station-agent-evidence-enrollment';
const SEED_ID_LABEL = 'station-agent evidence seed id v1';

/** The public name of a seed: 16 hex digits of SHA-256(label ‖ 0x00 ‖ seed). */
export function seedId(seed: Buffer): string {
  return createHash('sha256').update(SEED_ID_LABEL, 'utf8').update(Buffer.of(0)).update(seed).digest('hex').slice(0, 16);
}

export const SeedIdSchema = z.string().regex(/^[0-9a-f]{16}$/, '16 lowercase hex digits');
/** The epoch length bounds of `evidence.epoch_s` (config/schema.ts). */
export const EPOCH_S_MIN = 10;
export const EPOCH_S_MAX = 86_400;

export const EnrollmentSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal(ENROLLMENT_KIND),
    station_id: Id,
    seed_id: SeedIdSchema,
    seed: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex digits (32 bytes)').describe('the key of epoch `epoch`, hex'),
    epoch: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).describe('the epoch of the seed'),
    epoch_s: z.number().int().min(EPOCH_S_MIN).max(EPOCH_S_MAX).describe('evidence.epoch_s of the station'),
    created: z.string().datetime({ offset: false, precision: 3 }).describe('when the seed was made, ISO-8601 UTC'),
  })
  .strict()
  .refine((e) => seedId(Buffer.from(e.seed, 'hex')) === e.seed_id, { path: ['seed_id'], message: 'does not match the seed' });
export type Enrollment = z.infer<typeof EnrollmentSchema>;

/** Most bytes an enrollment file may have: it is a few hundred. */
export const MAX_ENROLLMENT_BYTES = 4096;
