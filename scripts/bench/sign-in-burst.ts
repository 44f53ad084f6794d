/**
 * sign-in-burst (only on request): issue row 1. 300 sign-in guesses for one account sent at once from one
 * address, the right password last, at a real console process (`node <dist>/county/console.js`, default
 * lockout: 5 per account, 20 per address). Figures: how many of the 300 had their password checked
 * (answered 401 or signed in, rather than 429 locked), whether the last one signed in, and the time until
 * all were answered. The reference, same run: the same burst at a console built from the code before the
 * fix, when `--baseline <dist folder>` names one (e.g. a `git worktree` of the commit before, built).
 *
 * The burst helpers are also what tests/integration/console/attack.test.ts uses.
 */
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { spawnCaptured, waitFor, type Captured } from '../lib/kit/index.js';
import { Cleanup, figure, round, tempDir, type BenchOptions, type BenchResult, type Figure } from './common.js';

export interface RunningConsole {
  url: string;
  proc: Captured;
}

/** Runs `node <consoleJs> args…` (user commands), the password on stdin; resolves with its exit and output. */
export function consoleCli(consoleJs: string, args: string[], input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [consoleJs, ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

/** Starts the console process on a free loopback port and waits for the URL it prints. */
export async function startConsoleProcess(consoleJs: string, args: string[]): Promise<RunningConsole> {
  const proc = spawnCaptured(process.execPath, [consoleJs, '--http', '127.0.0.1:0', ...args], process.env);
  const listening = /console listening on (http:\S+)/;
  await waitFor(() => listening.test(proc.output()) || proc.proc.exitCode !== null, 20_000);
  const url = listening.exec(proc.output())?.[1];
  if (!url) {
    await proc.stop('SIGKILL');
    throw new Error(`console did not start: ${proc.output()}`);
  }
  return { url, proc };
}

/** The sign-in form's cookie and token, as a browser gets them from GET /login. */
async function loginForm(url: string): Promise<{ cookie: string; token: string }> {
  const res = await fetch(`${url}/login`);
  const cookie = res.headers.getSetCookie()[0]!.split(';')[0]!;
  const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  return { cookie, token };
}

export interface BurstResult {
  /** HTTP status of each attempt, in the order sent. */
  statuses: number[];
  /** From the first byte written until every answer was in. */
  ms: number;
}

/**
 * Sends one POST /login per password, all at once: every connection is opened first, then the requests
 * are written back to back in order, so the server has them all before it answers the first (a scrypt
 * check takes ~50 ms). Raw sockets rather than fetch keep the order the requests are written in.
 */
export async function signInBurst(url: string, user: string, passwords: readonly string[]): Promise<BurstResult> {
  const { cookie, token } = await loginForm(url);
  const { hostname, port } = new URL(url);
  const sockets = await Promise.all(
    passwords.map(
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: hostname, port: Number(port) }, () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  const answers = sockets.map(
    (s) =>
      new Promise<number>((resolve, reject) => {
        let text = '';
        s.setEncoding('latin1');
        s.on('data', (d: string) => (text += d));
        s.once('error', reject);
        s.once('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
      }),
  );
  const t0 = process.hrtime.bigint();
  passwords.forEach((password, i) => {
    const body = new URLSearchParams({ _csrf: token, user, password, back: '/fleet' }).toString();
    sockets[i]!.write(
      `POST /login HTTP/1.1\r\nHost: ${hostname}:${port}\r\nOrigin: ${url}\r\nCookie: ${cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  const statuses = await Promise.all(answers);
  return { statuses, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
}

/** The burst of issue row 1: `n - 1` wrong guesses, the right password last. */
export function guesses(n: number, right: string): string[] {
  return [...Array.from({ length: n - 1 }, (_, i) => `wrong-guess-${i}`), right];
}

/** How many of a burst's attempts had their password checked: refused as wrong (401) or signed in (303). */
export const evaluated = (statuses: readonly number[]): number => statuses.filter((s) => s === 401 || s === 303).length;

const BURST = 300;
const USER = 'burst';
const PASSWORD = 'violet-harbour-ledger';

async function measure(label: string, dist: string, dir: string, cleanup: Cleanup, log: (l: string) => void): Promise<{ evaluated: number; signedIn: number; ms: number }> {
  const consoleJs = join(dist, 'county', 'console.js');
  const users = join(dir, `users-${label}`);
  const added = await consoleCli(consoleJs, ['user', 'add', '--users', users, USER, '--role', 'operator'], `${PASSWORD}\n`);
  if (added.code !== 0) throw new Error(`${label}: user add: ${added.stderr}`);
  const running = await startConsoleProcess(consoleJs, ['--db', join(dir, `county-${label}.db`), '--users', users, '--log-level', 'error']);
  cleanup.add(() => running.proc.stop());
  const r = await signInBurst(running.url, USER, guesses(BURST, PASSWORD));
  await running.proc.stop();
  const out = { evaluated: evaluated(r.statuses), signedIn: r.statuses.at(-1) === 303 ? 1 : 0, ms: round(r.ms, 0) };
  log(`${label}: ${out.evaluated} of ${BURST} checked, last signed in: ${out.signedIn === 1}, ${out.ms} ms`);
  return out;
}

export async function signInBurstBench(o: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  const notes: string[] = [`${BURST} sign-ins for one account at once from 127.0.0.1, the right password last; lockout 5 per account, 20 per address`];
  try {
    const dir = cleanup.dir(tempDir('bench-burst-'));
    const dist = join(import.meta.dirname, '..', '..');
    const after = await measure('this build', dist, dir, cleanup, o.log);
    const before = o.baseline ? await measure('baseline', o.baseline, dir, cleanup, o.log) : undefined;
    if (!before) notes.push('no --baseline <dist folder>: figures without the reference of the code before the fix');
    const ref = (v: number | undefined) => (v !== undefined ? { reference: 'baseline build', reference_value: v } : {});
    const figures: Figure[] = [
      figure({ metric: 'passwords checked', value: after.evaluated, unit: `of ${BURST}`, ...ref(before?.evaluated), goal: '≤ 5 (the lockout)', pass: after.evaluated <= 5 }),
      figure({ metric: 'last (right) signed in', value: after.signedIn, unit: 'yes=1', ...ref(before?.signedIn), goal: '0', pass: after.signedIn === 0 }),
      figure({ metric: 'burst answered in', value: after.ms, unit: 'ms', ...ref(before?.ms) }),
    ];
    return { name: 'sign-in-burst', elapsed_s: round((Date.now() - t0) / 1000, 1), figures, notes };
  } finally {
    await cleanup.run();
  }
}
