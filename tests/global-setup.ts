/**
 * Every test run gets a fresh temp folder (TMPDIR, inherited by the test workers and every process they
 * start); at the end the run fails if anything is left in it, listing what, then removes it. Tests must
 * remove the folders they create: some hold keys (test PKI), and a station's CI runs many times a day.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const parent = tmpdir();
  const runDir = mkdtempSync(join(parent, 'sa-test-run-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = runDir;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    let left: string[] = [];
    try {
      left = readdirSync(runDir).sort();
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
    if (left.length > 0) {
      process.exitCode = 1;
      throw new Error(`tests left ${left.length} temporary entr${left.length === 1 ? 'y' : 'ies'} behind (now removed): ${left.join(', ')}`);
    }
  };
}
