/**
 * Fast checks that the package's file list is enough for the agent (part of npm test): every module the
 * agent and stationctl import is in the staged dist/, every package they import is a production
 * dependency (the package installs with --omit=dev), and the staged tree runs --version and
 * `config check` (frame profiles included). Plus shell-level checks of the maintainer scripts.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { stageApp } from '../../scripts/package/layout.js';
import { ROOT } from './helpers.js';

const app = mkdtempSync(join(tmpdir(), 'sa-stage-'));
// Output of a source that no longer exists (tsc leaves it in dist/) must not be packaged.
const stale = join(ROOT, 'dist', 'agent', `stale-${process.pid}.js`);
writeFileSync(stale, 'export const stale = true;\n');
afterAll(() => {
  rmSync(app, { recursive: true, force: true });
  rmSync(stale, { force: true });
});
stageApp(ROOT, app, '9.8.7+stage');
symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));

/** Relative and bare specifiers of static and dynamic imports in compiled ESM. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
    found.push((m[1] ?? m[2] ?? m[3])!);
  }
  return found;
}

/** The import closure of the given entry points in dist/: local files and packages. */
function closure(entries: string[]): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [...entries];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of imports(file)) {
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
  }
  return { files, packages };
}

describe('the package file list', () => {
  const dist = join(ROOT, 'dist');
  const { files, packages } = closure([join(dist, 'agent', 'main.js'), join(dist, 'agent', 'cli', 'stationctl.js')]);

  it('leaves out stale output whose source is gone', () => {
    expect(existsSync(join(app, 'dist', 'agent', 'main.js'))).toBe(true);
    expect(existsSync(join(app, relative(ROOT, stale)))).toBe(false);
  });

  it('stages every module the agent and stationctl import', () => {
    expect(files.size).toBeGreaterThan(50);
    const missing = [...files].map((f) => relative(ROOT, f)).filter((f) => !existsSync(join(app, f)));
    expect(missing).toEqual([]);
  });

  it('imports only production dependencies (the package has no devDependencies)', () => {
    const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies?: unknown };
    expect(pkg.devDependencies).toBeUndefined();
    expect([...packages].filter((p) => !(p in pkg.dependencies))).toEqual([]);
    expect(packages.has('better-sqlite3')).toBe(true);
  });

  it('runs from the staged tree: its version, and a config using a shipped frame profile', () => {
    const version = spawnSync(process.execPath, [join(app, 'dist', 'agent', 'main.js'), '--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).toBe('9.8.7+stage');
    const dir = mkdtempSync(join(tmpdir(), 'sa-stage-cfg-'));
    try {
      const config = join(dir, 'config.yaml');
      writeFileSync(
        config,
        stringify({
          station: { id: 'stage-test', name: 'stage' },
          devices: [{ id: 'pa', kind: 'amplifier', driver: 'frame_profile', host: '127.0.0.1', port: 4001, profile: 'pa-amplifier-hex' }],
        }),
      );
      const check = spawnSync(process.execPath, [join(app, 'dist', 'agent', 'cli', 'stationctl.js'), '--json', 'config', 'check', config], { encoding: 'utf8' });
      expect(check.status, check.stdout + check.stderr).toBe(0);
      expect(JSON.parse(check.stdout)).toMatchObject({ valid: true, station_id: 'stage-test', devices: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('maintainer scripts', () => {
  const scripts = ['debian', 'county-debian'].flatMap((dir) => ['postinst', 'prerm', 'postrm'].map((s) => join(ROOT, 'scripts', 'package', dir, s)));

  it.each(scripts)('%s is POSIX sh (dash parses it), set -e, and refuses an unknown action', (file) => {
    execFileSync('dash', ['-n', file]);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text).toMatch(/^set -e$/m);
    // An unknown action exits before touching anything, so running it here is harmless.
    const r = spawnSync('dash', [file, 'no-such-action'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("called with unknown argument 'no-such-action'");
  });

  it('postrm never deletes under /var/lib/station-agent: the ledger is the county evidence', () => {
    const text = readFileSync(scripts[2]!, 'utf8');
    const deletions = text.split('\n').filter((l) => /\brm\b|\brmdir\b|deluser|userdel/.test(l.replace(/#.*$/, '')));
    expect(deletions).toEqual(['\trm -rf "$CONF_DIR"']);
    expect(text).toMatch(/^CONF_DIR=\/etc\/station-agent$/m);
  });

  it('the county postrm never deletes under /var/lib/station-county nor drops a database', () => {
    const text = readFileSync(scripts[5]!, 'utf8');
    // Commands only: comments and the messages (say "zh" \ "en") may name what is kept.
    const code = text.split('\n').map((l) => l.replace(/#.*$/, '')).filter((l) => !/^\s*(say |")/.test(l));
    expect(code.filter((l) => /\brm\b|\brmdir\b|deluser|userdel|dropdb|psql|\bDROP\b/i.test(l))).toEqual(['\trm -rf "$CONF_DIR"']);
    expect(text).toMatch(/^CONF_DIR=\/etc\/station-county$/m);
  });

  it('the county postinst starts the services only after county-collector config-check passes, as their user', () => {
    const text = readFileSync(scripts[3]!, 'utf8');
    expect(text).toContain('setpriv --reuid="$COUNTY_USER" --regid="$COUNTY_USER" --init-groups "$COLLECTOR" config-check --config "$CONF"');
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      if (!/deb-systemd-invoke "\$action"|deb-systemd-invoke start/.test(line)) return;
      expect(lines.slice(0, i).reverse().find((l) => /^\s*if config_ok; then$/.test(l)), `line ${i + 1}`).toBeDefined();
    });
  });

  it('systemctl is only called behind a running-systemd check, and start/stop go through deb-systemd-invoke', () => {
    for (const file of scripts) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (!/^\s*(systemctl|deb-systemd-invoke)\b/.test(line)) return;
        const guard = lines.slice(0, i).reverse().find((l) => /if \[ -d \/run\/systemd\/system \]/.test(l));
        expect(guard, `${file}:${i + 1} ${line.trim()}`).toBeDefined();
        if (/^\s*systemctl/.test(line)) expect(line.trim()).toBe('systemctl --system daemon-reload >/dev/null || true');
      });
    }
  });
});
