/**
 * The worker thread behind SqliteThreadStore (sqlite-thread-store.ts): opens the SQLite collector store
 * on the file it is given and runs the calls posted to it, one after the other in arrival order, each
 * answered with its result or its error. better-sqlite3 blocks the thread it runs on (the commit's
 * fsync included): here that is this thread, not the collector's event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteCollectorStore, type SqliteCollectorStore } from './sqlite-store.js';
import type { StoreOptions } from './store.js';

export interface WorkerCall {
  id: number;
  method: string;
  args: unknown[];
}

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; name: string; code?: string } }
  /** The first message: the store is open (or could not be). */
  | { id: 0; ok: true; result: 'ready' }
  | { id: 0; ok: false; error: { message: string; name: string; code?: string } };

const toError = (err: unknown): { message: string; name: string; code?: string } => {
  const e = err as { message?: unknown; name?: unknown; code?: unknown };
  return {
    message: typeof e?.message === 'string' ? e.message : String(err),
    name: typeof e?.name === 'string' ? e.name : 'Error',
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
  };
};

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('sqlite-worker.js runs as a worker thread (SqliteThreadStore)');
  const { path, options } = workerData as { path: string; options: StoreOptions };
  let store: SqliteCollectorStore;
  try {
    store = openSqliteCollectorStore(path, options);
  } catch (err) {
    port.postMessage({ id: 0, ok: false, error: toError(err) } satisfies WorkerReply);
    return;
  }
  port.postMessage({ id: 0, ok: true, result: 'ready' } satisfies WorkerReply);
  port.on('message', (call: WorkerCall) => {
    // `notify.<method>`: the group notifications' store beside the collector's (sqlite-notify.ts).
    const [on, method] = call.method.startsWith('notify.') ? [store.notify, call.method.slice(7)] : [store, call.method];
    const fn = (on as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function') {
      port.postMessage({ id: call.id, ok: false, error: { message: `no store method ${call.method}`, name: 'TypeError' } } satisfies WorkerReply);
      return;
    }
    // better-sqlite3 does the work synchronously inside the call: one call is finished before the next
    // message is taken, so calls run in the order they were posted.
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve((fn as (...a: unknown[]) => unknown).apply(on, call.args));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (result) => port.postMessage({ id: call.id, ok: true, result } satisfies WorkerReply),
      (err: unknown) => port.postMessage({ id: call.id, ok: false, error: toError(err) } satisfies WorkerReply),
    );
    if (call.method === 'close') void pending.finally(() => port.close());
  });
}

main();
