/**
 * The layering rules of docs/architecture.md. Runtime imports are checked by dependency-cruiser on the
 * build (dist/, made by `npm test` before vitest runs; rules in .dependency-cruiser.cjs). Type-only
 * imports, which tsc erases, are checked here on the sources, so a layer cannot lean on a higher one even
 * for a type.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';

const ROOT = resolve(import.meta.dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

/** Every relative import specifier of a source file, resolved to a repository path. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*'(\.[^']+)'/g)) {
    out.push(relative(ROOT, resolve(ROOT, dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
  }
  return out;
}

describe('layers', () => {
  it('dependency-cruiser finds no cycle and no forbidden runtime import in dist/', async () => {
    const require = createRequire(import.meta.url);
    const rules = require(join(ROOT, '.dependency-cruiser.cjs')) as Record<string, unknown>;
    const cwd = process.cwd();
    process.chdir(ROOT);
    try {
      const result = await cruise(['dist'], { validate: true, ruleSet: rules, outputType: 'err' } as never);
      expect(result.exitCode, String(result.output)).toBe(0);
    } finally {
      process.chdir(cwd);
    }
  });

  it('drivers and config never import the daemon or the scripts, not even for a type', () => {
    const bad: string[] = [];
    for (const file of [...tsFiles('drivers'), ...tsFiles('config')]) {
      for (const target of importsOf(file)) {
        if (/^(agent|scripts)\//.test(target)) bad.push(`${file} → ${target}`);
        if (file.startsWith('config/') && target.startsWith('drivers/') && !/^drivers\/(types|errors|checksum)\.ts$/.test(target)) bad.push(`${file} → ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('only the stores know better-sqlite3, not even for a type (the station store\'s repositories aside)', () => {
    const bad: string[] = [];
    for (const file of [...tsFiles('agent'), ...tsFiles('scripts'), ...tsFiles('drivers'), ...tsFiles('config')]) {
      if (/^(agent\/store|scripts\/county)\//.test(file) || file === 'scripts/bench/floor.ts') continue;
      if (/\bfrom\s*'better-sqlite3'|import\s*'better-sqlite3'/.test(readFileSync(join(ROOT, file), 'utf8'))) bad.push(file);
    }
    expect(bad).toEqual([]);
  });

  it('the base layer imports nothing of ours', () => {
    expect(importsOf('drivers/errors.ts')).toEqual([]);
    expect(importsOf('drivers/checksum.ts')).toEqual([]);
  });

  it('the county link sees the store only through the Outbox interface, not even for a type', () => {
    const bad: string[] = [];
    for (const file of tsFiles('agent/county')) {
      for (const target of importsOf(file)) {
        if (target.startsWith('agent/store/') && target !== 'agent/store/outbox.ts') bad.push(`${file} → ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
