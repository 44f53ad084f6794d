/**
 * Each file of the products does one job: none under agent/, drivers/, config/, protocol/ or county/ is
 * longer than 400 lines (tests and tools aside). A file that grows past it is split along a real seam.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MAX_LINES = 400;

function tsFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(ROOT, rel)).isDirectory()) return tsFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

describe('file size', () => {
  it(`no product file is longer than ${MAX_LINES} lines`, () => {
    const files = ['agent', 'drivers', 'config', 'protocol', 'county'].flatMap(tsFiles);
    expect(files.length).toBeGreaterThan(200);
    const long = files
      .map((f) => ({ f, lines: readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1 }))
      .filter((x) => x.lines > MAX_LINES)
      .map((x) => `${x.f} (${x.lines} lines)`);
    expect(long).toEqual([]);
  });
});
