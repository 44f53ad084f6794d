/**
 * A temp folder that lives until the test file that made it has finished, then is removed (an afterAll
 * hook on the importing file's root suite). For folders a test cannot conveniently remove itself, e.g.
 * ones made in beforeAll or handed to a station that outlives the test. Only test files may import this
 * module (it registers a vitest hook); helpers that child processes load use the kit's tempDir.
 */
import { afterAll } from 'vitest';
import { removeDir, tempDir as kitTempDir } from '../../scripts/lib/kit/temp.js';

const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) removeDir(dir);
});

export function tempDir(prefix = 'sa-test-'): string {
  const dir = kitTempDir(prefix);
  made.push(dir);
  return dir;
}
