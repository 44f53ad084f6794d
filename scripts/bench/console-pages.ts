/**
 * 6. console pages: the county console's fleet page and monthly progress page on a seeded county
 * database (scripts/county/console/seed.ts: the fleet simulator's content, 4 durable records a day per
 * station for a month — about 84 sessions per station, more than a real station's 20). The console runs
 * in this process (startConsole); each page is requested RUNS times by a signed-in client and timed by
 * its own `Server-Timing` header (server time: from the request to the last byte written). The reference,
 * same run: the store call alone behind each page (`ConsoleStore.fleet()`, `monthlyReport()`).
 *
 * Scenarios: SQLite with 500 stations (a county). PostgreSQL with 20,000 (a province) runs when
 * CONSOLE_BENCH_PG names a database URL the collector's PostgreSQL store can open.
 */
import { join } from 'node:path';
import { monthlyReport } from '../county/report.js';
import { AccountFile, upsertAccount } from '../county/console/accounts.js';
import type { ConsoleDb } from '../county/console/context.js';
import { openConsoleDb } from '../county/console/open-store.js';
import { seedConsoleDb } from '../county/console/seed.js';
import { startConsole } from '../county/console/server.js';
import { localMonth } from '../county/console/time.js';
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

async function scenario(label: string, store: ConsoleDb, stations: number, dir: string, log: (l: string) => void): Promise<{ figures: Figure[]; notes: string[] }> {
  const t0 = Date.now();
  await seedConsoleDb(store, { stations, days: 31, perDay: 4, historyHours: 0 });
  const seeded = `${label}: seeded ${stations} stations × 31 days × 4 records in ${round((Date.now() - t0) / 1000, 1)} s`;
  log(seeded);
  const users = join(dir, `users-${label}`);
  await upsertAccount(users, 'bench', 'viewer', 'bench-password');
  const server = await startConsole({ store, accounts: new AccountFile(users), port: 0 });
  try {
    const get = await client(server.url, 'bench:bench-password');
    const month = localMonth(Date.now(), 'Asia/Shanghai');
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
    return { figures, notes: [seeded, `${label}: ${report.total.sessions + report.total.short_sessions} sessions in ${month}, ${report.towns.length} towns`] };
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
    const sqlite = await openConsoleDb(join(dir, 'county.db'));
    cleanup.add(() => sqlite.close());
    const s = await scenario('sqlite 500', sqlite, 500, dir, o.log);
    figures.push(...s.figures);
    notes.push(...s.notes);
    const pg = process.env['CONSOLE_BENCH_PG'];
    if (pg) {
      const store = await openConsoleDb(pg);
      cleanup.add(() => store.close());
      const p = await scenario('postgres 20000', store, 20_000, dir, o.log);
      figures.push(...p.figures);
      notes.push(...p.notes);
    } else notes.push('PostgreSQL scenario not run: set CONSOLE_BENCH_PG to an empty database URL');
    return { name: 'console', elapsed_s: round((Date.now() - started) / 1000, 1), figures, notes };
  } catch (err) {
    return { name: 'console', elapsed_s: round((Date.now() - started) / 1000, 1), figures, notes, error: (err as Error).message };
  } finally {
    await cleanup.run();
  }
}
