/** Small I/O steps with a deadline, shared by the checks: a TCP connect, any promise, a command's output. */
import { execFile } from 'node:child_process';
import { connect as tcpConnect } from 'node:net';

/**
 * Connects and hangs up. Resolves undefined when something accepted the connection, else the error code
 * (`ECONNREFUSED`, `ETIMEDOUT`…) that the fix lines are chosen by. Never rejects.
 */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    s.once('connect', () => done(undefined));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/** Rejects with an Error whose `code` is `code` when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, code = 'ETIMEDOUT'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(code), { code })), ms);
    }),
  ]);
}

/** A command's trimmed stdout (argument array, no shell); rejects only when it failed and printed nothing. */
export function execText(file: string, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout) => (err && !stdout ? reject(err) : resolve(String(stdout).trim())));
  });
}
