/**
 * Per-station command keys (docs/mqtt.md "Per-station command keys"). The county keeps one master key;
 * each station's command key is derived from it, so a station holds only its own key and someone with
 * root on one village PC can sign for that station only:
 *
 *   station key = lower-case hex( HMAC-SHA256( master, "station-agent command key v1\n" ‖ station_id ) )
 *
 * `master` is the bytes the master key file's hex text stands for (at least 32); the label and the
 * station id are UTF-8 (the id is ASCII by its pattern, and the label ends in "\n", so label ‖ id is
 * unambiguous). The station key is the 64 hex characters: that text is what the station's
 * `county.command_key_file` holds, and, read as the station reads every key file (trimmed, UTF-8), its
 * 64 ASCII bytes are the HMAC key of protocol/signing.ts. Stations need no change to use it.
 */
import { createHmac } from 'node:crypto';
import { ID_PATTERN } from './schedule.js';

/** The fixed label before the station id; a new derivation would change `v1`, never reuse it. */
export const STATION_KEY_LABEL = 'station-agent command key v1\n';
/** A master key shorter than this is refused: 256 bits, what HMAC-SHA256 can use. */
export const MIN_MASTER_KEY_BYTES = 32;
/** Longer is pointless; the bound keeps a wrong file (a log, a dump) from being taken for a key. */
export const MAX_MASTER_KEY_BYTES = 512;

export type MasterKeyProblem =
  | { problem: 'not_hex' }
  | { problem: 'too_short'; bytes: number }
  | { problem: 'too_long'; bytes: number };

/**
 * The master key from its file's text: hex digits (either case) with surrounding whitespace removed,
 * an even number of them, standing for MIN_MASTER_KEY_BYTES to MAX_MASTER_KEY_BYTES bytes.
 */
export function parseMasterKey(text: string): { ok: true; key: Buffer } | ({ ok: false } & MasterKeyProblem) {
  const hex = text.trim();
  // An empty file or an odd number of digits is as unusable as a letter outside a-f.
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return { ok: false, problem: 'not_hex' };
  const bytes = hex.length / 2;
  if (bytes < MIN_MASTER_KEY_BYTES) return { ok: false, problem: 'too_short', bytes };
  if (bytes > MAX_MASTER_KEY_BYTES) return { ok: false, problem: 'too_long', bytes };
  return { ok: true, key: Buffer.from(hex, 'hex') };
}

/** The station's command key: 64 lower-case hex characters (see the file comment). */
export function deriveStationKey(master: Uint8Array, stationId: string): string {
  if (!ID_PATTERN.test(stationId)) throw new TypeError(`not a station id: ${JSON.stringify(stationId.slice(0, 80))}`);
  if (master.length < MIN_MASTER_KEY_BYTES) throw new RangeError(`master key of ${master.length} bytes; at least ${MIN_MASTER_KEY_BYTES}`);
  return createHmac('sha256', master).update(STATION_KEY_LABEL + stationId, 'utf8').digest('hex');
}

/** What the exported key file holds: the station key on one line. */
export function stationKeyFileText(master: Uint8Array, stationId: string): string {
  return `${deriveStationKey(master, stationId)}\n`;
}
