/**
 * Helpers of the package tests (npm run test:package): building the packages through the package
 * script, running commands inside a debootstrap root, and the agent's own ledger code as a script the
 * bundled Node runs (inside the root, or under qemu for arm64).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { APP_DIR, type Arch } from '../../scripts/package/layout.js';

export { ROOT_ENV, background, backgroundInRoot, inRoot, pjlinkStation, sh, waitFor, type Background, type Run } from '../../scripts/package/chroot.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BUILD_JS = join(ROOT, 'dist', 'scripts', 'package', 'build.js');
export const CTL_JS = join(ROOT, 'dist', 'agent', 'cli', 'stationctl.js');
export const CACHE = join(ROOT, 'out', 'cache');
export const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** `npm run package -- --arch … --version … --out …` (the build script itself; dist is built first). */
export function buildPackage(arch: Arch, version: string, out: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(
      process.execPath,
      [BUILD_JS, '--arch', arch, '--version', version, '--out', out, '--cache', CACHE, ...extra],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * An ES module that opens the ledger through the agent's own store code in `appDir` (Store and its
 * outbox over better-sqlite3), appends one usage record when `append` (otherwise opens it read-only, as
 * stationctl does), and prints every usage record as JSON.
 */
export function ledgerScript(appDir: string, dataDir: string, append: boolean): string {
  return `
const { Store } = await import(${JSON.stringify(`${appDir}/dist/agent/store/store.js`)});
const store = Store.open(${JSON.stringify(dataDir)}, { readonly: ${!append} });
if (${append}) {
  store.outbox.append('usage', 'usage', '2025-03-01T08:00:00.000Z', (seq, id) => ({
    seq, id, type: 'usage', station_id: 'pkg-test', started_at: '2025-03-01T08:00:00.000Z', ended_at: '2025-03-01T09:30:00.000Z', minutes: 90,
  }));
}
const usage = store.outbox
  .stored(1, Number.MAX_SAFE_INTEGER, 1000)
  .filter((r) => r.stream === 'usage')
  .map(({ text, ...r }) => ({ ...r, payload: JSON.parse(text) }));
const journal = store.durability().journal_mode;
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
