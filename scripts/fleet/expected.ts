/**
 * What a collector must report for a month, computed from the generator alone (never from what was
 * sent or stored), so a test checks the collector against independent arithmetic.
 */
import { durableRecord, type FleetShape, type StationIdentity } from './generate.js';
import type { ExpectedMonthly, ExpectedStation } from './types.js';

// Asia/Shanghai has had no DST since 1991: a fixed +8 h is exact for the simulated timeline, and keeps
// this expectation independent of the collector's Intl-based month bounds.
const SHANGHAI_OFFSET_MS = 8 * 3600_000;

export interface AllocatedStation {
  id: StationIdentity;
  agentBoot: number;
  /** Seqs allocated so far: 1 … lastSeq. */
  lastSeq: number;
  /** Seqs the station no longer has: never delivered, so never counted. */
  lost: ReadonlySet<number>;
}

export function expectedMonthly(shape: FleetShape, stations: readonly AllocatedStation[], month: string): ExpectedMonthly {
  const total = { sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0 };
  let boundary = 0;
  const rows = stations.map((s) => {
    const row: ExpectedStation = { station_id: s.id.id, town: s.id.town, sessions: 0, duration_s: 0, signal_s: 0, short_sessions: 0, short_duration_s: 0 };
    for (let seq = 1; seq <= s.lastSeq; seq++) {
      if (s.lost.has(seq)) continue;
      const rec = durableRecord(shape, s.id, seq, s.agentBoot);
      if (rec.stream !== 'usage') continue;
      const start = Date.parse(rec.payload.start);
      const local = new Date(start + SHANGHAI_OFFSET_MS).toISOString().slice(0, 7);
      if (local !== new Date(start).toISOString().slice(0, 7)) boundary++;
      if (local !== month) continue;
      if (rec.payload.short) {
        row.short_sessions++;
        row.short_duration_s += rec.payload.duration_s;
      } else {
        row.sessions++;
        row.duration_s += rec.payload.duration_s;
        row.signal_s += rec.payload.signal_s;
      }
    }
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += row[k];
    return row;
  });
  return { month, stations: rows, total, boundary_sessions: boundary };
}
