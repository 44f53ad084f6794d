import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // A fresh TMPDIR per run; the run fails when a test leaves anything in it.
    globalSetup: ['tests/global-setup.ts'],
    // Integration suites start real brokers, PTYs and child processes: give them room, but never retry
    // a failure into a pass.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    retry: 0,
  },
});
