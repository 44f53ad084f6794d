/**
 * The notes typed on site (stationctl session note) as the county keeps them: one per session, the latest
 * by county seq. A note reaches the county either inside the usage record (typed before the county
 * acknowledged it) or later as an `annotation` event naming the session (docs/mqtt.md "events"). Both
 * stores keep the latest in their `session_notes` table as records are stored, whatever order they
 * arrive in, and join it to the session in `ConsoleStore.sessions()` — the one place the console reads
 * notes from, so where notes come from can change without touching a page.
 */
import { AnnotationEventDataSchema, type IncomingEventRecord } from '../protocol/event-record.js';
import type { Annotation, IncomingUsageRecord } from '../protocol/usage-record.js';

/** A note to keep: `seq` is the county seq of the record it came in (the highest wins). */
export interface NoteWrite {
  station: string;
  session_id: string;
  seq: number;
  topic: string | null;
  attendees: number | null;
  organiser: string | null;
  note: string | null;
}

const fields = (a: Annotation) => ({ topic: a.topic ?? null, attendees: a.attendees ?? null, organiser: a.organiser ?? null, note: a.note ?? null });

/**
 * The note a stored record carries, if any (`record.seq` already the county seq). An annotation event's
 * `data` is the station's free-form object: one that does not fit the contract adds no note (the event
 * itself is stored all the same).
 */
export function noteOf(station: string, stream: 'usage' | 'events', record: IncomingUsageRecord | IncomingEventRecord): NoteWrite | null {
  if (stream === 'usage') {
    const u = record as IncomingUsageRecord;
    return u.annotation ? { station, session_id: u.id, seq: u.seq, ...fields(u.annotation) } : null;
  }
  const e = record as IncomingEventRecord;
  if (e.type !== 'annotation') return null;
  const d = AnnotationEventDataSchema.safeParse(e.data);
  return d.success ? { station, session_id: d.data.session_id, seq: e.seq, ...fields(d.data.annotation) } : null;
}

/** Of several notes for one session in a batch, the latest (one row per key in a statement). */
export function latestNotes(notes: readonly NoteWrite[]): NoteWrite[] {
  const by = new Map<string, NoteWrite>();
  for (const n of notes) {
    const k = `${n.station}\u0000${n.session_id}`;
    const had = by.get(k);
    if (!had || n.seq > had.seq) by.set(k, n);
  }
  return [...by.values()];
}

