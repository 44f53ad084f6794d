/**
 * 5. ledger queries: a year of usage sessions (5,000 over 12 months) written into a real Store the
 * way the session tracker closes them (usage record in the ledger, closed `sessions` row, the day's
 * `daily_summary` upsert, one transaction each), older records acked. Timed: the monthly report a
 * technician hands in, querySessions(month) + toCsv(zh) + dailySummaries(month), 50 runs, beside the
 * bare SQL read of the same month's rows (the sessions repository's statement: no JSON, no CSV).
 */
import { join } from 'node:path';
import { querySessions, resolveRange, stationDay, toCsv, dailySummaries } from '../../agent/sessions/query.js';
import { Store } from '../../agent/store/store.js';
import { Cleanup, figure, percentile, round, tempDir, type BenchOptions, type BenchResult } from './common.js';

const SESSIONS = 5_000;
const RUNS = 50;
const TZ = 'Asia/Shanghai';

function fill(store: Store, station: string): void {
  const ledger = store.outbox;
  const yearStart = Date.UTC(2025, 0, 1) - 8 * 3600_000;
  const span = 365 * 86_400_000;
  // Deterministic spread: sessions in order over the year, at station hours 08–21.
  let x = 12345;
  const rand = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < SESSIONS; i++) {
    const day = Math.floor((i / SESSIONS) * 365);
    const startMs = yearStart + day * 86_400_000 + (8 + Math.floor(rand() * 13)) * 3600_000 + Math.floor(rand() * 3600) * 1000;
    if (startMs >= yearStart + span) break;
    const dur = 120 + Math.floor(rand() * 7200);
    const start = new Date(startMs).toISOString();
    const end = new Date(startMs + dur * 1000).toISOString();
    const short = dur < 300;
    const annotation = rand() < 0.3 ? { topic: '学理论 练技能 促增收', attendees: 10 + Math.floor(rand() * 40), organiser: '村支书' } : null;
    store.transaction(() => {
      const rec = ledger.append('usage', 'usage', end, (seq, id) => ({
        v: 1,
        seq,
        station_id: station,
        id,
        start,
        end,
        duration_s: dur,
        devices: [
          { id: 'projector', kind: 'projector', on_s: dur },
          { id: 'amplifier', kind: 'amplifier', on_s: Math.max(0, dur - 60) },
        ],
        inputs: [{ device: 'projector', input: '31', s: dur }],
        signal_s: Math.floor(dur * 0.9),
        trigger: rand() < 0.5 ? 'schedule:weekly-class' : 'manual',
        end_reason: 'devices_off',
        annotation,
        short,
        rule_version: 1,
        boot: 1,
        clock: 'synced',
      }));
      store.sessions.insertClosed(rec.id, rec.seq, start, end, JSON.stringify(rec.payload));
      if (annotation) store.sessions.setAnnotation(rec.id, JSON.stringify(annotation));
      store.sessions.addToDailySummary({ day: stationDay(start, TZ), short: short ? 1 : 0, total_s: dur, signal_s: Math.floor(dur * 0.9), seq: rec.seq });
    });
  }
  ledger.ackUpTo(ledger.lastSeq());
}

export async function ledger(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const dir = cleanup.dir(tempDir('bench-ledger-'));
    const store = Store.open(join(dir, 'data'));
    cleanup.add(() => store.close());
    const tf = performance.now();
    fill(store, 'bench-ledger');
    const fillS = (performance.now() - tf) / 1000;
    opts.log(`ledger: ${SESSIONS} sessions written in ${fillS.toFixed(1)} s (one fsync'd transaction each)`);

    const month = { since: '2025-06-01', until: '2025-06-30' };
    const report = (): number => {
      const recs = querySessions(store, TZ, month);
      const csv = toCsv(recs, 'zh', TZ);
      const days = dailySummaries(store, month.since, month.until);
      return recs.length + csv.length + days.length;
    };
    const raw = (): number => {
      const { since, until } = resolveRange(month, TZ);
      return store.sessions.closedBetween(since, until).length;
    };
    const rows = querySessions(store, TZ, month).length;
    // Warm-up runs (page cache, statement compilation), then 50 timed runs each.
    for (let i = 0; i < 3; i++) {
      report();
      raw();
    }
    const times: number[] = [];
    const rawTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let t = performance.now();
      report();
      times.push(performance.now() - t);
      t = performance.now();
      raw();
      rawTimes.push(performance.now() - t);
    }
    const p99 = percentile(times, 99);
    // Where the time goes: each step alone, same month, 20 runs.
    const part = (fn: () => unknown): number => {
      const xs: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        fn();
        xs.push(performance.now() - t);
      }
      return round(percentile(xs, 50), 2);
    };
    const recs = querySessions(store, TZ, month);
    const qMs = part(() => querySessions(store, TZ, month));
    const csvMs = part(() => toCsv(recs, 'zh', TZ));
    const dayMs = part(() => dailySummaries(store, month.since, month.until));
    return {
      name: 'ledger',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'monthly report p50', value: round(percentile(times, 50), 2), unit: 'ms', reference: 'bare SQL read of the month', reference_value: round(percentile(rawTimes, 50), 2) }),
        figure({ metric: 'monthly report p99', value: round(p99, 2), unit: 'ms', reference: 'bare SQL read of the month', reference_value: round(percentile(rawTimes, 99), 2), goal: '≤ 50 ms', pass: p99 <= 50 }),
        figure({ metric: 'querySessions p50', value: qMs, unit: 'ms' }),
        figure({ metric: 'toCsv(zh) p50', value: csvMs, unit: 'ms' }),
        figure({ metric: 'dailySummaries p50', value: dayMs, unit: 'ms' }),
      ],
      notes: [
        `${SESSIONS} closed sessions over 2025 (${rows} in June), tracker row shape (sessions + records + daily_summary); report = querySessions + toCsv(zh) + dailySummaries, ${RUNS} runs after 3 warm-up runs`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
