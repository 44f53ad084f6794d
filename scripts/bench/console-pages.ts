/**
 * 6. console pages: the county console's fleet page and monthly progress page on a seeded county
 * database (scripts/console/seed.ts: the fleet simulator's content under Chinese names, 2 durable
 * records a day per station from the first day of the previous month until now, so the report's month —
 * the previous one — is complete: about 42 sessions per station, twice a busy real station). The console
 * runs in this process (startConsole); each page is requested RUNS times by a signed-in client and timed
 * by its own `Server-Timing` header (server time: from the request until the page is written). The
 * reference, same run: the store call alone behind each page (`ConsoleStore.fleet()`, `monthlyReport()`).
 *
 * Scenarios: SQLite with 500 stations (a county); PostgreSQL 15 (the kit's real server, durable settings)
 * with 20,000 stations (a province).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monthlyReport } from '../../county/report.js';
import { AccountFile, upsertAccount } from '../../county/console/accounts.js';
import type { ConsoleDb } from '../../county/console/context.js';
import { openCollectorStore } from '../../county/open-store.js';
import { seedConsoleDb } from '../console/seed.js';
import { startConsole } from '../../county/console/server.js';
import { localMonth } from '../../county/console/time.js';
import { zonedMidnight } from '../../protocol/time-zone.js';
import { Postgres } from '../lib/kit/postgres.js';
import { Cleanup, figure, percentile, round, tempDir, type BenchOptions, type BenchResult, type Figure } from './common.js';

const RUNS = 50;
const WARMUP = 3;
const GOAL_MS = 500;

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Signs in and returns a function that GETs a page and returns its server time (ms). */
async function client(url: string, users: string): Promise<(path: string) => Promise<number>> {
  const login = await fetch(`${url}/login`);
  const pre = login.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await login.text())![1]!;
  const [user, password] = users.split(':');
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: pre },
    body: new URLSearchParams({ _csrf: token, user: user!, password: password!, back: '/fleet' }).toString(),
  });
  const session = res.headers.getSetCookie()[0]!.split(';')[0]!;
  return async (path) => {
    const r = await fetch(url + path, { headers: { cookie: session } });
    if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
    await r.arrayBuffer();
    return Number(/dur=([\d.]+)/.exec(r.headers.get('server-timing') ?? '')?.[1] ?? NaN);
  };
}

/** The previous calendar month in Beijing, and the days from its first day until today (both included). */
function previousMonth(nowMs: number): { month: string; days: number } {
  const [y, m] = localMonth(nowMs, 'Asia/Shanghai').split('-').map(Number) as [number, number];
  const first = zonedMidnight(m === 1 ? y - 1 : y, m === 1 ? 12 : m - 1, 1, 'Asia/Shanghai');
  return { month: localMonth(first, 'Asia/Shanghai'), days: Math.ceil((nowMs - first) / 86_400_000) + 1 };
}

async function scenario(label: string, store: ConsoleDb, stations: number, dir: string, log: (l: string) => void): Promise<{ figures: Figure[]; notes: string[] }> {
  const t0 = Date.now();
  const { month, days } = previousMonth(t0);
  await seedConsoleDb(store, { stations, days, perDay: 2, historyHours: 0 });
  const seeded = `${label}: seeded ${stations} stations × ${days} days × 2 records in ${round((Date.now() - t0) / 1000, 1)} s`;
  log(seeded);
  const users = join(dir, `users-${label}`);
  await upsertAccount(users, 'bench', 'viewer', 'bench-password');
  const server = await startConsole({ store, accounts: new AccountFile(users), port: 0 });
  try {
    const get = await client(server.url, 'bench:bench-password');
    const report = await monthlyReport(store, month);
    const figures: Figure[] = [];
    const pages: Array<{ name: string; path: string; reference: string; ref: () => Promise<unknown> }> = [
      { name: 'fleet page', path: '/fleet', reference: 'store.fleet() alone', ref: () => store.fleet() },
      { name: 'monthly page', path: `/monthly?month=${month}`, reference: 'monthlyReport() alone', ref: () => monthlyReport(store, month) },
    ];
    for (const p of pages) {
      for (let i = 0; i < WARMUP; i++) await get(p.path);
      const page: number[] = [];
      const ref: number[] = [];
      // Interleaved, so load from other processes on the machine falls on both alike.
      for (let i = 0; i < RUNS; i++) {
        page.push(await get(p.path));
        ref.push(await timeIt(p.ref));
      }
      const p99 = round(percentile(page, 99), 1);
      const refP99 = round(percentile(ref, 99), 1);
      log(`${label} ${p.name}: p50 ${round(percentile(page, 50), 1)} ms, p99 ${p99} ms (reference p99 ${refP99} ms)`);
      figures.push(figure({ metric: `${label} ${p.name} p50`, value: round(percentile(page, 50), 1), unit: 'ms', reference: `${p.reference} p50`, reference_value: round(percentile(ref, 50), 1) }));
      figures.push(figure({ metric: `${label} ${p.name} p99`, value: p99, unit: 'ms', reference: `${p.reference} p99`, reference_value: refP99, goal: `≤ ${GOAL_MS} ms`, pass: p99 <= GOAL_MS }));
    }
    // The machine may be shared: the load says how much the figures are worth.
    const load = `load average ${loadavg().map((x) => round(x, 1)).join(' / ')} (1/5/15 min) after the runs`;
    return { figures, notes: [seeded, `${label}: ${report.total.sessions + report.total.short_sessions} sessions in ${month}, ${report.towns.length} towns; ${load}`] };
  } finally {
    await server.close();
  }
}

export async function consolePages(o: BenchOptions): Promise<BenchResult> {
  const started = Date.now();
  const cleanup = new Cleanup();
  const figures: Figure[] = [];
  const notes: string[] = [];
  try {
    const dir = cleanup.dir(tempDir('bench-console-'));
    const sqlite = await openCollectorStore(join(dir, 'county.db'));
    cleanup.add(() => sqlite.close());
    const s = await scenario('sqlite 500', sqlite, 500, dir, o.log);
    figures.push(...s.figures);
    notes.push(...s.notes);
    const server = await Postgres.start({ durable: true });
    cleanup.add(() => server.dispose());
    const pg = await openCollectorStore(await server.createDatabase('county'));
    cleanup.add(() => pg.close());
    const p = await scenario('postgres 20000', pg, 20_000, dir, o.log);
    figures.push(...p.figures);
    notes.push(...p.notes);
    return { name: 'console', elapsed_s: round((Date.now() - started) / 1000, 1), figures, notes };
  } catch (err) {
    return { name: 'console', elapsed_s: round((Date.now() - started) / 1000, 1), figures, notes, error: (err as Error).message };
  } finally {
    await cleanup.run();
  }
}
