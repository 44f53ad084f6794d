/**
 * A station's ledgers (docs/mqtt.md "Ledgers"): every station database has an identity, and a re-imaged
 * PC starts a new one whose seqs start again at 1. The county keeps one seq space per station (its
 * watermark, gaps, acks, lost ranges all work on it) and gives each ledger a `base` in it: a record is
 * stored at county seq `base + seq`. A new ledger starts above everything the station has stored so
 * far (`base = max_seq`), so its records are never taken for duplicates of the old one's; the old one
 * ends there: a late record of it beyond its end is quarantined, never stored over the new one's.
 *
 * A record without `ledger` (an agent older than ledgers) is in the station's legacy ledger `''`. An
 * upgrade gives an existing database a ledger and keeps its seqs, so a first ledger after the legacy one
 * (or the legacy one after a ledger: a downgrade) shares its seq space — unless the record it brings is
 * already stored there with another id, which proves another database (the PC was re-imaged anyway).
 * Pure: the stores load the rows, call place() in their transaction and persist what it reports.
 */

/** The ledger of records that carry none. */
export const LEGACY_LEDGER = '';
/** A station may have this many ledgers; a record of one more is quarantined (a station cannot grow the table). */
export const MAX_LEDGERS = 32;

export interface LedgerRow {
  ledger: string;
  base: number;
  /** The last county seq this ledger may use (set when another replaced it), or null while open. */
  end_seq: number | null;
}

/** The ledgers of one station as a batch sees them (place() keeps it up to date). */
export interface StationLedgers {
  /** The ledger the station uses now; null before its first record. */
  current: string | null;
  rows: Map<string, LedgerRow>;
}

/**
 * What place() changed, for the store to persist: `first` (the station's first ledger), `adopted` (an
 * upgrade or downgrade: same seq space), `replaced` (a new database: rows in `ended` got their end).
 */
export interface LedgerChange {
  kind: 'first' | 'adopted' | 'replaced';
  ledger: string;
  base: number;
  /** For `replaced`: the end every open ledger got. */
  end_seq: number | null;
}

export interface Placement {
  /** The county seq of the record. */
  seq: number;
  /** The record belongs to a ledger that ended below it (or to one too many): quarantine it. */
  superseded: boolean;
  change?: LedgerChange;
}

/**
 * Where the record `seq` of `ledger` goes. `maxSeq`: the station's highest stored county seq so far.
 * `storedIdAt(s)`: the id of the record stored at county seq `s`, undefined when none (asked only when
 * a ledger follows the legacy one or the reverse).
 */
export function place(st: StationLedgers, ledger: string, seq: number, recordId: string, maxSeq: number, storedIdAt: (s: number) => string | undefined): Placement {
  const known = st.rows.get(ledger);
  if (known) {
    const s = known.base + seq;
    return { seq: s, superseded: known.end_seq !== null && s > known.end_seq };
  }
  if (st.current === null) return open(st, 'first', ledger, 0, null, seq);
  if (st.rows.size >= MAX_LEDGERS) return { seq: maxSeq + seq, superseded: true };
  const cur = st.rows.get(st.current)!;
  if ((cur.ledger === LEGACY_LEDGER) !== (ledger === LEGACY_LEDGER) && cur.end_seq === null) {
    const there = storedIdAt(cur.base + seq);
    if (there === undefined || there === recordId) return open(st, 'adopted', ledger, cur.base, null, seq);
  }
  for (const r of st.rows.values()) if (r.end_seq === null) r.end_seq = maxSeq;
  return open(st, 'replaced', ledger, maxSeq, maxSeq, seq);
}

function open(st: StationLedgers, kind: LedgerChange['kind'], ledger: string, base: number, endSeq: number | null, seq: number): Placement {
  st.rows.set(ledger, { ledger, base, end_seq: null });
  st.current = ledger;
  return { seq: base + seq, superseded: false, change: { kind, ledger, base, end_seq: endSeq } };
}

/** The ack a station with current ledger `ledger` at `base` gets for county watermark `watermark`. */
export function ackOf(watermark: number, ledger: string | null, base: number): { seq: number; ledger?: string } {
  const seq = Math.max(0, watermark - base);
  return ledger === null || ledger === LEGACY_LEDGER ? { seq } : { seq, ledger };
}

/**
 * The county seq whose stored record place() would compare with (a ledger following the legacy one or
 * the reverse), or undefined when it would not ask: lets an asynchronous store fetch it first.
 */
export function adoptionProbe(st: StationLedgers, ledger: string, seq: number): number | undefined {
  if (st.rows.has(ledger) || st.current === null || st.rows.size >= MAX_LEDGERS) return undefined;
  const cur = st.rows.get(st.current)!;
  return (cur.ledger === LEGACY_LEDGER) !== (ledger === LEGACY_LEDGER) && cur.end_seq === null ? cur.base + seq : undefined;
}
