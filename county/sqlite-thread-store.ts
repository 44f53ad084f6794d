/**
 * The SQLite collector store on a worker thread (sqlite-worker.ts), for the collector. better-sqlite3 is
 * synchronous: in the collector's own thread every batch's commit (an fsync: `synchronous = FULL`, a
 * record is acked only once it is on disk) stopped the event loop, so the broker's messages waited in its
 * socket meanwhile. Here the collector keeps reading, validating and batching while the worker writes
 * and syncs; each call is posted to the worker and answered when it is done, in the order posted, so a
 * batch resolves only after its commit and acks still follow durability.
 *
 * The same interface as SqliteCollectorStore (the contract suite runs against both); arguments and
 * results cross the thread boundary as structured clones. If the worker dies, every call in flight and
 * every later call rejects (the collector counts store errors; nothing is acked).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type {
  AckClaim,
  CollectorStore,
  CollectorWrite,
  ConsoleStore,
  DeviceRow,
  FleetRow,
  GapInfo,
  HeartbeatPoint,
  InventoryDevicesRow,
  LostRange,
  PushRow,
  PushSummary,
  QuarantinedRow,
  SessionQuery,
  SessionRow,
  StationRow,
  StoredRecordRow,
  StoreOptions,
  UsageTotals,
  UsageWindow,
  WriteOutcome,
  LedgerOf,
} from './store.js';
import { claimThenPublish } from './store.js';
import type { ClassRun, VisitPlan, VisitRow } from './visit-store.js';
import type { AuditEntry, AuditFilter, AuditQuery, AuditRow } from './audit.js';
import type { WorkerCall, WorkerReply } from './sqlite-worker.js';
import { ThreadNotifyStore } from './sqlite-thread-notify.js';

/** The worker's script: beside this module in the build; from the sources (tests), the build's copy. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./sqlite-worker.js', import.meta.url));
  return existsSync(here) ? here : fileURLToPath(new URL('../dist/county/sqlite-worker.js', import.meta.url));
}

export class SqliteThreadStore implements CollectorStore, ConsoleStore {
  /** The group notifications' store, run on the worker like everything else. */
  readonly notify = new ThreadNotifyStore((method, ...args) => this.call(method, ...args));
  private next = 1;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;
  private closing: Promise<void> | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: WorkerReply) => {
      const call = this.calls.get(m.id);
      if (!call) return;
      this.calls.delete(m.id);
      if (m.ok) call.resolve(m.result);
      else call.reject(Object.assign(new Error(m.error.message), { name: m.error.name, ...(m.error.code ? { code: m.error.code } : {}) }));
    });
    const fail = (err: Error): void => {
      this.dead ??= err;
      for (const c of this.calls.values()) c.reject(this.dead);
      this.calls.clear();
    };
    worker.on('error', (err) => fail(new Error(`the SQLite worker thread failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`the SQLite worker thread exited (${code})`)));
  }

  /** Starts the worker and opens (creating and migrating when needed) the database at `path` in it. */
  static async open(path: string, options: StoreOptions = {}): Promise<SqliteThreadStore> {
    const worker = new Worker(workerScript(), { workerData: { path, options } });
    let onMessage: (m: WorkerReply) => void = () => {};
    let onError: (err: Error) => void = () => {};
    let onExit: (code: number) => void = () => {};
    try {
      const ready = await new Promise<WorkerReply>((resolve, reject) => {
        onMessage = resolve;
        onError = reject;
        onExit = (code) => reject(new Error(`the SQLite worker thread exited (${code}) before opening ${path}`));
        worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      });
      if (!ready.ok) throw Object.assign(new Error(ready.error.message), { name: ready.error.name });
    } catch (err) {
      await worker.terminate();
      throw err;
    } finally {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
    }
    return new SqliteThreadStore(worker);
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args } satisfies WorkerCall);
    });
  }

  apply(writes: readonly CollectorWrite[]): Promise<WriteOutcome[]> {
    return this.call('apply', writes);
  }
  claimAcks(): Promise<AckClaim[]> {
    return this.call('claimAcks');
  }

  publishAcks(publish: (claims: AckClaim[]) => Promise<void>): Promise<AckClaim[]> {
    return claimThenPublish(this, publish);
  }
  gaps(): Promise<GapInfo[]> {
    return this.call('gaps');
  }
  ackedStations(): Promise<Array<{ station_id: string; acked_seq: number } & LedgerOf>> {
    return this.call('ackedStations');
  }
  station(stationId: string): Promise<StationRow | undefined> {
    return this.call('station', stationId);
  }
  stations(): Promise<StationRow[]> {
    return this.call('stations');
  }
  record(stationId: string, seq: number): Promise<StoredRecordRow | undefined> {
    return this.call('record', stationId, seq);
  }
  countRecords(): Promise<number> {
    return this.call('countRecords');
  }
  lost(): Promise<LostRange[]> {
    return this.call('lost');
  }
  quarantined(stationId?: string): Promise<QuarantinedRow[]> {
    return stationId === undefined ? this.call('quarantined') : this.call('quarantined', stationId);
  }
  usageTotals(window: UsageWindow): Promise<UsageTotals[]> {
    return this.call('usageTotals', window);
  }
  missing(): Promise<Array<{ station_id: string; missing: number }>> {
    return this.call('missing');
  }
  faultyDevices(): Promise<Array<{ station_id: string; device_id: string }>> {
    return this.call('faultyDevices');
  }
  lampWarnings(): Promise<Array<{ station_id: string; device: string | null }>> {
    return this.call('lampWarnings');
  }
  fleet(): Promise<FleetRow[]> {
    return this.call('fleet');
  }
  inventory(stationId: string): Promise<Record<string, unknown> | null> {
    return this.call('inventory', stationId);
  }
  inventoryDevices(stationIds: readonly string[]): Promise<InventoryDevicesRow[]> {
    return this.call('inventoryDevices', stationIds);
  }
  devices(stationId: string): Promise<DeviceRow[]> {
    return this.call('devices', stationId);
  }
  usageRecords(stationId: string, limit: number): Promise<Array<Record<string, unknown>>> {
    return this.call('usageRecords', stationId, limit);
  }
  sessions(query: SessionQuery): Promise<SessionRow[]> {
    return this.call('sessions', query);
  }
  events(stationId: string, limit: number, types?: readonly string[]): Promise<Array<Record<string, unknown>>> {
    return types === undefined ? this.call('events', stationId, limit) : this.call('events', stationId, limit, types);
  }
  heartbeatHistory(stationId: string, sinceMs: number): Promise<HeartbeatPoint[]> {
    return this.call('heartbeatHistory', stationId, sinceMs);
  }
  addPushes(rows: readonly PushRow[]): Promise<void> {
    return this.call('addPushes', rows);
  }
  recordPushResponse(stationId: string, transaction: string, status: 'ok' | 'error', response: string, respondedAt: string): Promise<boolean> {
    return this.call('recordPushResponse', stationId, transaction, status, response, respondedAt);
  }
  push(pushId: string): Promise<PushRow[]> {
    return this.call('push', pushId);
  }
  recentPushes(limit: number, towns?: readonly string[]): Promise<PushSummary[]> {
    return towns === undefined ? this.call('recentPushes', limit) : this.call('recentPushes', limit, towns);
  }
  appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    return this.call('appendAudit', entries);
  }
  auditLog(query: AuditQuery): Promise<AuditRow[]> {
    return this.call('auditLog', query);
  }
  countAudit(filter: AuditFilter): Promise<number> {
    return this.call('countAudit', filter);
  }
  pruneAudit(before: string): Promise<number> {
    return this.call('pruneAudit', before);
  }
  failedClasses(stationId?: string): Promise<ClassRun[]> {
    return stationId === undefined ? this.call('failedClasses') : this.call('failedClasses', stationId);
  }
  liveVisits(stationId?: string): Promise<VisitRow[]> {
    return stationId === undefined ? this.call('liveVisits') : this.call('liveVisits', stationId);
  }
  applyVisitPlan(plan: VisitPlan, at: string): Promise<void> {
    return this.call('applyVisitPlan', plan, at);
  }
  visitHistory(stationId: string, limit: number): Promise<VisitRow[]> {
    return this.call('visitHistory', stationId, limit);
  }
  acknowledgeVisit(stationId: string, id: number, by: string, note: string | null, at: string): Promise<boolean> {
    return this.call('acknowledgeVisit', stationId, id, by, note, at);
  }
  clearVisit(stationId: string, id: number, by: string, at: string): Promise<boolean> {
    return this.call('clearVisit', stationId, id, by, at);
  }
  pruneVisits(before: string): Promise<number> {
    return this.call('pruneVisits', before);
  }

  /** Closes the database (after every call posted before) and ends the thread. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      if (!this.dead) {
        const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
        await this.call('close').catch(() => undefined);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
      }
      await this.worker.terminate();
    })());
  }
}

export const openSqliteThreadStore = (path: string, options: StoreOptions = {}): Promise<SqliteThreadStore> => SqliteThreadStore.open(path, options);
