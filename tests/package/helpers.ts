/**
 * Helpers of the package tests (npm run test:package): building the packages through the package
 * script, running commands inside a debootstrap root, and the agent's own ledger code as a script the
 * bundled Node runs (inside the root, or under qemu for arm64).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { APP_DIR, type Arch } from '../../scripts/package/layout.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BUILD_JS = join(ROOT, 'dist', 'scripts', 'package', 'build.js');
export const CTL_JS = join(ROOT, 'dist', 'agent', 'cli', 'stationctl.js');
export const CACHE = join(ROOT, 'out', 'cache');
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run package -- --arch … --version … --out …` (the build script itself; dist is built first). */
export function buildPackage(arch: Arch, version: string, out: string, extra: string[] = []): Promise<Run> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [BUILD_JS, '--arch', arch, '--version', version, '--out', out, '--cache', CACHE, ...extra],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** What a root's commands see: no variables leak in from this machine (NODE_OPTIONS, CA bundles, …). */
export const ROOT_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

/**
 * `chroot root cmd…` in a private mount namespace with /proc mounted in the root: the mount disappears
 * with the command, so nothing is left mounted inside a folder a test removes.
 */
function chrootArgs(root: string, cmd: readonly string[], user?: string): string[] {
  const chroot = ['chroot', ...(user ? [`--userspec=${user}:${user}`] : []), root, ...cmd];
  return ['--mount', '--fork', '--kill-child=SIGTERM', '--', 'sh', '-c', 'mount -t proc proc "$0/proc" && exec "$@"', root, ...chroot];
}

export function inRoot(root: string, cmd: readonly string[], opts: { user?: string; env?: Record<string, string>; input?: string } = {}): Run {
  const r = spawnSync('unshare', chrootArgs(root, cmd, opts.user), {
    env: { ...ROOT_ENV, ...opts.env },
    encoding: 'utf8',
    input: opts.input ?? '',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A shell line inside the root. */
export function sh(root: string, line: string, opts: { user?: string; env?: Record<string, string> } = {}): Run {
  return inRoot(root, ['/bin/sh', '-c', line], opts);
}

export interface Background {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
  /**
   * SIGTERM and waits for the exit. `pid`: the process to signal, when it is not the spawned one (an
   * agent inside a root under another user: unshare's --kill-child does not reach across the change).
   */
  stop(pid?: number): Promise<number | string>;
}

export function background(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Background {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => proc.on('exit', (code, sig) => res(code ?? sig ?? -1)));
  return {
    proc,
    output: () => out,
    exited,
    stop: async (pid?: number) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (pid) process.kill(pid, 'SIGTERM');
        else proc.kill('SIGTERM');
      }
      return exited;
    },
  };
}

/** A long-running command inside the root (the agent, as its unit would run it). */
export function backgroundInRoot(root: string, cmd: readonly string[], user?: string): Background {
  return background('unshare', chrootArgs(root, cmd, user), { ...ROOT_ENV });
}

/** Polls `check` until it returns truthy; the last error is in the timeout message. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs: number, intervalMs = 200): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * An ES module that opens the ledger through the agent's own store code in `appDir` (Store + RecordLedger
 * over better-sqlite3), appends one usage record when `append` (otherwise opens it read-only, as
 * stationctl does), and prints every usage record as JSON.
 */
export function ledgerScript(appDir: string, dataDir: string, append: boolean): string {
  return `
const { Store } = await import(${JSON.stringify(`${appDir}/dist/agent/store/store.js`)});
const { RecordLedger } = await import(${JSON.stringify(`${appDir}/dist/agent/store/records.js`)});
const store = Store.open(${JSON.stringify(dataDir)}, { readonly: ${!append} });
const ledger = new RecordLedger(store);
if (${append}) {
  ledger.append('usage', 'usage', '2025-03-01T08:00:00.000Z', (seq, id) => ({
    seq, id, type: 'usage', station_id: 'pkg-test', started_at: '2025-03-01T08:00:00.000Z', ended_at: '2025-03-01T09:30:00.000Z', minutes: 90,
  }));
}
const usage = ledger.from(1, 1000).filter((r) => r.stream === 'usage');
const journal = store.db.pragma('journal_mode', { simple: true });
store.close();
process.stdout.write(JSON.stringify({ arch: process.arch, node: process.version, journal, usage }) + '\\n');
`;
}

export interface LedgerDump {
  arch: string;
  node: string;
  journal: string;
  usage: Array<{ seq: number; id: string; stream: string; type: string; payload: Record<string, unknown> }>;
}

export { APP_DIR };
