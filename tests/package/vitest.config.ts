import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:package`: builds the .deb packages and installs them into a debootstrap root and runs the
 * arm64 tree under qemu. Minutes, not seconds, so not part of `npm test` (whose config only takes
 * *.test.ts; these files are *.package-test.ts). One file at a time: both compile and compress.
 */
export default defineConfig({
  root: resolve(import.meta.dirname, '..', '..'),
  test: {
    include: ['tests/package/**/*.package-test.ts'],
    testTimeout: 10 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    fileParallelism: false,
    retry: 0,
  },
});
