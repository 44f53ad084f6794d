/**
 * Temporary folders and ordered clean-up. Everything a test or a bench creates lives in a folder from
 * tempDir() and is removed with removeDir() (or a Cleanup) when done: some hold keys (test PKI), and the
 * test run fails when anything is left behind (tests/global-setup.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh folder under the system temp dir, named `<prefix>XXXXXX`. */
export function tempDir(prefix = 'sa-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a folder and everything in it; a folder already gone is fine. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs the registered clean-ups in reverse order (last made, first undone), never throwing. */
export class Cleanup {
  private readonly fns: Array<() => unknown> = [];

  add(fn: () => unknown): void {
    this.fns.push(fn);
  }

  /** Registers removal of `dir` and returns it, e.g. `const dir = cleanup.dir(tempDir('x-'))`. */
  dir(dir: string): string {
    this.add(() => removeDir(dir));
    return dir;
  }

  async run(): Promise<void> {
    while (this.fns.length) {
      const fn = this.fns.pop()!;
      try {
        await fn();
      } catch {
        /* keep cleaning */
      }
    }
  }
}
