/**
 * The packages' node_modules is the run-time closure of their code (part of npm test): computed from the
 * staged dist/ (closure.ts), materialised from this checkout's node_modules, it is exactly what is there
 * afterwards (nothing missing, nothing extra), holds none of the other product's or the dev tools'
 * modules, and the staged tree runs from it alone. The .deb half: deb-install and county-install.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importedPackages, installedModules, moduleClosure, pruneModules, type ModuleEntry } from '../../scripts/package/closure.js';
import { COUNTY_DIST_DIRS, stageCountyApp } from '../../scripts/package/county-layout.js';
import { APP_DIST_DIRS, stageApp } from '../../scripts/package/layout.js';
import { ROOT } from './helpers.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const WORKSPACES = new Set(['@station-agent/protocol', '@station-agent/county']);
const NEVER_IN_STATION = ['echarts', 'zrender', 'pg', 'aedes', 'vitest', 'typescript', 'playwright-core', '@station-agent/county'];

/** Stages `distDirs` into a temp app and copies exactly the closure's package folders into its node_modules. */
function stagedWithClosure(stage: (app: string) => void, distDirs: readonly string[]): { app: string; closure: ModuleEntry[] } {
  const app = mkdtempSync(join(tmpdir(), 'sa-closure-'));
  dirs.push(app);
  stage(app);
  const closure = moduleClosure(ROOT, importedPackages(distDirs.map((d) => join(app, 'dist', d))), WORKSPACES);
  for (const m of closure) {
    // Each entry without its nested node_modules: the nested packages are entries of their own.
    cpSync(join(ROOT, m.path), join(app, m.path), { recursive: true, filter: (src) => !src.slice(join(ROOT, m.path).length).includes('/node_modules') });
  }
  return { app, closure };
}

const ids = (ms: readonly ModuleEntry[]) => ms.map((m) => `${m.path}@${m.version}`).sort();

describe('station package node_modules', () => {
  const { app, closure } = stagedWithClosure((a) => stageApp(ROOT, a, '9.8.7+closure'), APP_DIST_DIRS);
  const names = new Set(closure.map((m) => m.name));

  it('is the closure of what the agent imports, with nothing of the county or the dev tools', () => {
    for (const direct of ['better-sqlite3', 'serialport', 'mqtt', 'zod', 'croner', 'string-width', 'unix-dgram']) expect(names, direct).toContain(direct);
    expect(NEVER_IN_STATION.filter((n) => names.has(n))).toEqual([]);
    expect(ids(installedModules(app))).toEqual(ids(closure));
  });

  it('runs from that node_modules alone: --version and a config check', () => {
    const version = spawnSync(process.execPath, [join(app, 'dist', 'agent', 'main.js'), '--version'], { encoding: 'utf8' });
    expect(version.stdout.trim(), version.stderr).toBe('9.8.7+closure');
    const config = join(app, 'config.yaml');
    writeFileSync(config, 'station:\n  id: closure-test\n  name: closure\n');
    const check = spawnSync(process.execPath, [join(app, 'dist', 'agent', 'cli', 'stationctl.js'), '--json', 'config', 'check', config], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });

  it('pruning a full install leaves exactly the closure: the county modules and workspace links go', () => {
    const full = mkdtempSync(join(tmpdir(), 'sa-prune-'));
    dirs.push(full);
    // A few packages of the full tree, the other product's and a dev tool's among them, and a workspace link.
    for (const m of [...closure, ...moduleClosure(ROOT, ['pg', 'aedes'])]) {
      cpSync(join(ROOT, m.path), join(full, m.path), { recursive: true, filter: (src) => !src.slice(join(ROOT, m.path).length).includes('/node_modules') });
    }
    cpSync(join(ROOT, 'node_modules', '@station-agent'), join(full, 'node_modules', '@station-agent'), { recursive: true, verbatimSymlinks: true });
    const deleted = pruneModules(full, closure);
    expect(deleted).toEqual(expect.arrayContaining(['node_modules/pg', 'node_modules/aedes', 'node_modules/@station-agent/protocol']));
    expect(ids(installedModules(full))).toEqual(ids(closure));
  });
});

describe('county package node_modules', () => {
  const { app, closure } = stagedWithClosure((a) => stageCountyApp(ROOT, a, '9.8.7+closure'), COUNTY_DIST_DIRS);
  const names = new Set(closure.map((m) => m.name));

  it('is the closure of what the county imports: pg, better-sqlite3 and exceljs, no echarts (the build ships echarts.min.js), nothing of the station', () => {
    expect(names).toContain('pg');
    expect(names).toContain('better-sqlite3');
    // Imported only when an .xlsx is asked for (import()), but shipped all the same.
    expect(names).toContain('exceljs');
    for (const n of ['echarts', 'zrender', 'serialport', 'unix-dgram', 'systeminformation', 'aedes', 'vitest']) expect(names, n).not.toContain(n);
    expect(ids(installedModules(app))).toEqual(ids(closure));
  });

  it('runs from that node_modules alone: the collector opens a SQLite database and reads the fleet table', () => {
    const db = join(app, 'county.db');
    // The collector makes its database on its first run (`--create`); `fleet` then reads it.
    const made = spawnSync(process.execPath, ['--input-type=module', '-e', `const { openCollectorStore } = await import(${JSON.stringify(join(app, 'dist', 'county', 'open-store.js'))}); await (await openCollectorStore(${JSON.stringify(db)})).close();`], { encoding: 'utf8', cwd: app });
    expect(made.status, made.stderr).toBe(0);
    const r = spawnSync(process.execPath, [join(app, 'dist', 'county', 'collector.js'), 'fleet', '--db', db, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    const pg = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(app, 'dist', 'county', 'pg-store.js'))}); await import('pg').catch(() => process.exit(3));`], { encoding: 'utf8', cwd: app });
    expect(pg.status, pg.stderr).toBe(0);
    // The monthly .xlsx from the staged tree: ExcelJS and everything it loads while writing a workbook.
    const xlsx = join(app, 'bulletin.xlsx');
    const script = `
      import { createWriteStream } from 'node:fs';
      const { writeMonthlyXlsx } = await import(${JSON.stringify(join(app, 'dist', 'county', 'console', 'xlsx.js'))});
      const { buildBulletin } = await import(${JSON.stringify(join(app, 'dist', 'county', 'bulletin.js'))});
      const { assembleReport } = await import(${JSON.stringify(join(app, 'dist', 'county', 'report.js'))});
      const { consoleTranslator } = await import(${JSON.stringify(join(app, 'dist', 'county', 'console', 'i18n.js'))});
      const report = assembleReport('2026-10', [{ station_id: 's1', name: '村', town: '镇', timezone: null }], new Map([['s1', { sessions: 2, duration_s: 7300, signal_s: 7000, short_sessions: 0, short_duration_s: 0 }]]));
      const out = createWriteStream(${JSON.stringify(xlsx)});
      await writeMonthlyXlsx(out, { bulletin: buildBulletin(report, null), sessions: [], sessionsMore: 0, title: '县', t: consoleTranslator('zh'), lang: 'zh', tz: 'Asia/Shanghai' });
      await new Promise((r) => out.on('close', r));
      const ExcelJS = (await import('exceljs')).default;
      const wb = new ExcelJS.Workbook();
      await wb.xlsx.readFile(${JSON.stringify(xlsx)});
      process.stdout.write(wb.worksheets.map((w) => w.name).join(','));`;
    const book = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', cwd: app });
    expect(book.status, book.stderr).toBe(0);
    expect(book.stdout).toBe('全县汇总,镇,使用记录');
  });
});
