/**
 * The shared test kit: one mosquitto launcher, one socat PTY pair, one test PKI, one waitFor, one free
 * port, one temp folder helper, one PostgreSQL 15 server — used by the tests (tests/) and the bench (scripts/bench/, run from dist/).
 */
export { Mosquitto, writePasswordFile, type MosquittoOptions, type MosquittoTls } from './mosquitto.js';
export { PtyPair, type PtyPairOptions } from './pty.js';
export { makeTestPki, type TestPki } from './pki.js';
export { freePort, tcpOpen } from './net.js';
export { sleep, waitFor } from './wait.js';
export { Cleanup, removeDir, tempDir } from './temp.js';
export { Postgres, PG_BIN, type PostgresOptions } from './postgres.js';
export { spawnCaptured, terminate, type Captured } from './process.js';
export { pdfPages } from './pdf.js';
