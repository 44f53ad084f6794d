/**
 * The one TCP reachability probe: connect, then hang up at once. Used by the net_presence driver (is the
 * set-top box's service up?), by doctor (which step of the broker path fails?) and by the test kit (is a
 * server listening yet?).
 */
import { Socket } from 'node:net';

/**
 * Resolves null when something accepted the connection on `host:port`, otherwise the error code
 * (`ECONNREFUSED`, `EHOSTUNREACH`…, `ETIMEDOUT` after `timeoutMs`, `ABORTED` when `signal` fires).
 * Never rejects.
 */
export function tcpProbe(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<string | null> {
  return new Promise((resolve) => {
    const s = new Socket();
    let done = false;
    const finish = (result: string | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      s.destroy();
      resolve(result);
    };
    const onAbort = (): void => finish('ABORTED');
    const timer = setTimeout(() => finish('ETIMEDOUT'), timeoutMs);
    if (signal?.aborted) return finish('ABORTED');
    signal?.addEventListener('abort', onAbort, { once: true });
    s.once('connect', () => finish(null));
    s.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    s.connect({ host, port });
  });
}
