/** Small I/O steps with a deadline, shared by the checks: any promise, a command's output (TCP: drivers/transport/tcp-probe.ts). */
import { execFile } from 'node:child_process';

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
