/**
 * The layering rules of docs/architecture.md. Runtime imports are checked by dependency-cruiser on the
 * build (dist/, made by `npm test` before vitest runs; rules in .dependency-cruiser.cjs). Every import of
 * the sources, type-only ones included (tsc erases those from dist/), is read here against the same
 * layers and for cycles, so a layer cannot lean on a higher one even for a type.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { cruise } from 'dependency-cruiser';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Which top-level folders each may import besides itself (the picture in docs/architecture.md). */
const LAYERS: Record<string, readonly string[]> = {
  protocol: [],
  config: ['protocol'],
  drivers: ['config', 'protocol'],
  agent: ['drivers', 'config', 'protocol'],
  county: ['protocol'],
};
/** Packages protocol/ may load: it describes the contract and does no I/O. */
const PROTOCOL_PACKAGES = new Set(['zod', 'croner', 'string-width', 'canonicalize', 'node:crypto']);

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g;

/** Every import specifier of a source file, type-only ones included. */
function specifiersOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

/** Every relative import of a source file, resolved to a repository path. */
function importsOf(file: string): string[] {
  return specifiersOf(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)).replace(/\.js$/, '.ts'));
}

const SOURCES = ['protocol', 'config', 'drivers', 'agent', 'county', 'scripts'].flatMap(tsFiles);
const top = (path: string): string => path.split('/')[0]!;

/** Strongly connected components of more than one file (Tarjan): each is an import cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
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

  it('no import of the sources, type-only ones included, runs up a layer or across to the other product', () => {
    expect(SOURCES.length).toBeGreaterThan(200);
    const bad: string[] = [];
    for (const file of SOURCES) {
      const allowed = LAYERS[top(file)];
      if (!allowed) continue;
      for (const target of importsOf(file)) {
        if (top(target) !== top(file) && !allowed.includes(top(target))) bad.push(`${file} → ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('no import cycle among the sources, type-only imports included', () => {
    const graph = new Map(SOURCES.map((f) => [f, importsOf(f)]));
    expect(cycles(graph)).toEqual([]);
  });

  it('the cycle finder finds a cycle through a type import', () => {
    const graph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('protocol/ loads no package that does I/O', () => {
    const bad: string[] = [];
    for (const file of tsFiles('protocol')) {
      for (const s of specifiersOf(file)) if (!s.startsWith('.') && !PROTOCOL_PACKAGES.has(s)) bad.push(`${file} → ${s}`);
    }
    expect(bad).toEqual([]);
  });

  it('only the stores know better-sqlite3, not even for a type (the station store\'s repositories aside)', () => {
    const bad: string[] = [];
    for (const file of SOURCES) {
      if (/^(agent\/store|county)\//.test(file) || file === 'scripts/bench/floor.ts') continue;
      if (specifiersOf(file).includes('better-sqlite3')) bad.push(file);
    }
    expect(bad).toEqual([]);
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
