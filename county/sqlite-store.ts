/**
 * The collector's store on SQLite (better-sqlite3). Several collectors may share one database file
 * (WAL + busy timeout); every read-modify-write runs in an IMMEDIATE transaction so two processes never
 * advance the same watermark from stale reads. Per batch, each station's watermark is advanced once,
 * after its records are in, by walking runs of stored records and lost ranges (never seq by seq).
 * The reads and the console's part are in sqlite-reads.ts.
 */
import { chmodSync, closeSync, fchmodSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { IncomingUsageRecord as UsageRecord } from '../protocol/usage-record.js';
import type { IncomingEventRecord as EventRecord } from '../protocol/event-record.js';
import { LEGACY_LEDGER, place, type LedgerRow, type StationLedgers } from './ledgers.js';
import type { DeviceStatePayload, Heartbeat, Inventory, Status } from '../protocol/payloads.js';
import { QUARANTINE_KEEP, SEQ_WINDOW, type CollectorStore, type CollectorWrite, type StoreOptions, type StoreOutcome, type WriteOutcome } from './store.js';
import { MIGRATIONS } from './sqlite-schema.js';
import { noteOf } from './notes.js';
import { SqliteReads } from './sqlite-reads.js';
import { SqliteNotifyStore } from './sqlite-notify.js';
import { batchCursor, heartbeatPoint, historyBucket, historyHorizon, ranInOrder, type BatchCursor } from './store-rows.js';
import { classRunOf } from './visit-store.js';

type Db = Database.Database;

/** The records the county pays on: the collector's user writes, its group (the console's) reads, no one else. */
export const DB_MODE = 0o640;

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code;

/**
 * Creates the database file 0640 whatever the umask (SQLite would make it 0644 under the usual umask 022),
 * and takes write from the group and everything from others on an existing one and its -wal and -shm.
 * SQLite gives a -wal or -shm it creates the main file's mode, so they follow.
 */
function secureDbFiles(path: string): void {
  if (path === '' || path === ':memory:' || path.startsWith('file:')) return;
  try {
    const fd = openSync(path, 'wx', DB_MODE);
    try {
      fchmodSync(fd, DB_MODE); // openSync's mode passes through the umask
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (errno(err) !== 'EEXIST') throw err;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      const mode = statSync(file).mode & 0o777;
      if ((mode & 0o027) !== 0) chmodSync(file, mode & ~0o027);
    } catch (err) {
      // Not there yet, or another user's file shared with us: nothing to tighten here.
      if (errno(err) !== 'ENOENT' && errno(err) !== 'EPERM') throw err;
    }
  }
}

function openDb(path: string): Db {
  secureDbFiles(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Records are acked to stations once stored: losing a committed row after an ack would lose it for good.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    db.close();
    throw new Error(`${path} has schema version ${version}, newer than this collector (${MIGRATIONS.length})`);
  }
  if (version < MIGRATIONS.length) {
    db.transaction(() => {
      // Re-read inside the lock: a second collector may have migrated meanwhile.
      const v = db.pragma('user_version', { simple: true }) as number;
      for (let i = v; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
      db.pragma(`user_version = ${MIGRATIONS.length}`);
    }).immediate();
  }
  return db;
}

/** Opens (creating and migrating when needed) the collector database at `path` (`:memory:` for tests). */
export function openSqliteCollectorStore(path: string, options: StoreOptions = {}): SqliteCollectorStore {
  return new SqliteCollectorStore(openDb(path), options);
}

/** How often old heartbeat history is pruned (a DELETE on an indexed bucket: cheap, but not per batch). */
const PRUNE_EVERY_MS = 10 * 60_000;

type Cursor = BatchCursor;

export class SqliteCollectorStore extends SqliteReads implements CollectorStore {
  /** Stations known to have a row: saves an INSERT per message on the hot path. */
  private readonly known = new Set<string>();
  /** The history bucket last written per station: saves an INSERT per heartbeat within a bucket. */
  private readonly historyWritten = new Map<string, number>();
  private lastPrune = 0;
  private readonly window: number;
  /** The group notifications' queue and marks, in this database (sqlite-notify.ts). */
  readonly notify: SqliteNotifyStore;

  constructor(db: Db, options: StoreOptions = {}) {
    super(db);
    this.window = options.seqWindow ?? SEQ_WINDOW;
    this.notify = new SqliteNotifyStore(db);
  }

  protected rolledBack(): void {
    // The rollback may have taken rows these caches remember.
    this.known.clear();
    this.historyWritten.clear();
  }

  private ensure(stationId: string): void {
    if (this.known.has(stationId)) return;
    this.s.ensure.run(stationId, new Date().toISOString());
    this.known.add(stationId);
  }

  async apply(writes: readonly CollectorWrite[]): Promise<WriteOutcome[]> {
    const now = Date.now();
    return this.tx(() => {
      const cursors = new Map<string, Cursor>();
      const ledgers = new Map<string, StationLedgers>();
      const out = writes.map((w) => this.write(w, cursors, ledgers));
      for (const [station, c] of cursors) this.settle(station, c);
      if (now - this.lastPrune > PRUNE_EVERY_MS) {
        this.s.historyPrune.run(historyHorizon(now));
        this.lastPrune = now;
      }
      return out;
    });
  }

  /** The station's batch cursor; with `ledgers`, its ledgers too (ledgers.ts), read by the same query. */
  private cursor(stationId: string, cursors: Map<string, Cursor>, ledgers?: Map<string, StationLedgers>): Cursor | undefined {
    let c = cursors.get(stationId);
    if (!c || (ledgers && !ledgers.has(stationId))) {
      const rows = this.s.cursor.all(stationId) as Array<Pick<Cursor, 'watermark' | 'max_seq' | 'quarantined'> & { current: string | null } & LedgerRow>;
      const r = rows[0];
      if (!r) return undefined;
      if (!c) cursors.set(stationId, (c = batchCursor(r)));
      const known = rows.filter((x) => x.ledger !== null).map((x): [string, LedgerRow] => [x.ledger, { ledger: x.ledger, base: x.base, end_seq: x.end_seq }]);
      ledgers?.set(stationId, { current: r.current, rows: new Map(known) });
    }
    return c;
  }

  /** Writes a station's batch state back: max_seq, the watermark advanced over what is now there, the quarantine count. */
  private settle(stationId: string, c: Cursor): void {
    if (!c.changed) return;
    c.watermark = ranInOrder(c) ? c.max_seq : this.advance(stationId, c.watermark);
    this.s.settle.run(c.max_seq, c.watermark, c.quarantined, stationId);
    c.changed = false;
    c.inOrder = c.max_seq === c.watermark;
    c.added = 0;
  }

  private write(w: CollectorWrite, cursors: Map<string, Cursor>, ledgers: Map<string, StationLedgers>): WriteOutcome {
    if (w.kind === 'lost') return { kind: 'lost', count: this.markLost(w.station, w.from_seq, w.to_seq, cursors) };
    this.ensure(w.station);
    switch (w.kind) {
      case 'status':
        return { kind: 'status', applied: this.putStatus(w.station, w.status, w.receivedAt) };
      case 'inventory':
        this.putInventory(w.station, w.inventory, w.receivedAt);
        return { kind: 'inventory' };
      case 'heartbeat':
        this.putHeartbeat(w.station, w.heartbeat, w.receivedAt);
        return { kind: 'heartbeat' };
      case 'device_state':
        this.putDeviceState(w.station, w.device, w.state, w.receivedAt);
        return { kind: 'device_state' };
      case 'record': {
        const c = this.cursor(w.station, cursors, ledgers)!;
        const p = this.place(w.station, w.record, c, ledgers);
        return { kind: 'record', outcome: this.putRecord(w.station, w.stream, { ...w.record, seq: p.seq }, w.raw, w.receivedAt, c, p.superseded) };
      }
    }
  }

  /** False when the status is an out-of-date Last Will (its MQTT session is older than the known one). */
  private putStatus(stationId: string, status: Status, receivedAt: string): boolean {
    const row = this.row(stationId)!;
    if (!status.online && row.boot !== null && status.boot < row.boot) return false;
    this.s.status.run(status.online ? 1 : 0, status.boot, status.online ? status.ts : null, receivedAt, status.online ? null : (status.reason ?? null), status.online ? status.agent_version : null, stationId);
    return true;
  }

  private putInventory(stationId: string, inv: Inventory, receivedAt: string): void {
    const st = inv.station;
    this.s.inventory.run(st.name, st.town, st.county, st.level, st.timezone, st.opening_hours ? JSON.stringify(st.opening_hours) : null, stationId);
    this.s.inventoryDocPut.run(stationId, JSON.stringify(inv), receivedAt);
  }

  private putHeartbeat(stationId: string, hb: Heartbeat, receivedAt: string): void {
    this.s.heartbeat.run(hb.ts, receivedAt, hb.outbox.depth, hb.host.disk_free_pct, hb.host.disk_free_mb, stationId);
    const bucket = historyBucket(Date.parse(receivedAt));
    if (this.historyWritten.get(stationId) === bucket) return;
    const p = heartbeatPoint(hb);
    this.s.historyInsert.run(stationId, bucket, p.ts, p.cpu_pct, p.mem_pct, p.disk_free_mb, p.agent_rss_mb, p.outbox_depth, p.online_devices);
    this.s.heartbeatDoc.run(stationId, JSON.stringify(hb));
    this.historyWritten.set(stationId, bucket);
  }

  private putDeviceState(stationId: string, deviceId: string, st: DeviceStatePayload, receivedAt: string): void {
    this.s.device.run(stationId, deviceId, st.kind, st.driver, st.online ? 1 : 0, st.power, JSON.stringify(st.errors), st.lamp_hours ?? null, JSON.stringify(st), st.ts, receivedAt);
  }

  /** The county seq of a record (ledgers.ts), persisting a new ledger in the batch's transaction. */
  private place(stationId: string, rec: UsageRecord | EventRecord, c: Cursor, ledgers: Map<string, StationLedgers>): { seq: number; superseded: boolean } {
    const st = ledgers.get(stationId)!;
    const p = place(st, rec.ledger ?? LEGACY_LEDGER, rec.seq, rec.id, c.max_seq, (s) => (this.s.recordId.get(stationId, s) as { id: string } | undefined)?.id);
    const ch = p.change;
    if (ch) {
      const now = new Date().toISOString();
      if (ch.end_seq !== null) this.s.ledgerEnd.run(ch.end_seq, stationId, ch.ledger);
      this.s.ledgerInsert.run(stationId, ch.ledger, ch.base, now);
      const again = ch.kind !== 'first' ? 1 : 0;
      const replaced = ch.kind === 'replaced' ? 1 : 0;
      this.s.ledgerSwitch.run(ch.ledger, ch.base, again, replaced, now, stationId);
    }
    return p;
  }

  /**
   * Stores a durable record once (at its county seq), or quarantines it when its seq is too far above the
   * watermark or its ledger was replaced below it (`superseded`).
   */
  private putRecord(stationId: string, stream: 'usage' | 'events', rec: UsageRecord | EventRecord, raw: string, receivedAt: string, c: Cursor, superseded = false): StoreOutcome {
    if (superseded || rec.seq > c.watermark + this.window) {
      c.quarantined++;
      c.changed = true;
      if (c.quarantined <= QUARANTINE_KEEP) this.s.quarantine.run(stationId, rec.seq, stream, rec.id, receivedAt, c.watermark, raw);
      return 'quarantined';
    }
    const r = this.s.insertRecord.run(stationId, rec.seq, stream, rec.id, rec.historical ? 1 : 0, receivedAt, raw);
    if (r.changes === 0) {
      const existing = this.s.recordId.get(stationId, rec.seq) as { id: string };
      return existing.id === rec.id ? 'duplicate' : 'conflict';
    }
    if (stream === 'usage') {
      const u = rec as UsageRecord;
      const start = Date.parse(u.start);
      const short = u.short ? 1 : 0;
      this.s.insertUsage.run(stationId, u.seq, u.id, start, Date.parse(u.end), u.duration_s, u.signal_s, short, u.trigger, u.end_reason);
      this.s.usageMonth.run({ s: stationId, start, short, duration: u.duration_s, signal: u.signal_s });
    } else {
      const e = rec as EventRecord;
      this.s.insertEvent.run(stationId, e.seq, e.ts, e.type, e.severity, e.device ?? null);
      if (e.type === 'lamp_warning' || e.type === 'lamp_warning_cleared') this.s.lampLatest.run({ s: stationId, device: e.device ?? null, seq: e.seq, type: e.type });
      const run = classRunOf(stationId, e.seq, e);
      if (run) this.v.classRun.run({ s: stationId, schedule: run.schedule_id, run: run.run_id, seq: run.seq, ts: run.ts, phase: run.phase, ok: run.ok ? 1 : 0, done: run.done, total: run.total });
    }
    const n = noteOf(stationId, stream, rec);
    if (n) this.s.noteUpsert.run({ s: stationId, id: n.session_id, seq: n.seq, topic: n.topic, attendees: n.attendees, organiser: n.organiser, note: n.note });
    if (rec.seq > c.max_seq) c.max_seq = rec.seq;
    if (rec.seq > c.watermark) c.added++;
    c.changed = true;
    return 'stored';
  }

  /** The highest seq from `wm` up with every seq stored or lost: one step per run of records or lost range. */
  private advance(stationId: string, wm: number): number {
    for (;;) {
      const cover = this.s.lostCover.get(stationId, wm + 1) as { to_seq: number } | undefined;
      if (cover && cover.to_seq > wm) {
        wm = cover.to_seq;
        continue;
      }
      if (!this.s.hasRecord.get(stationId, wm + 1)) return wm;
      wm = (this.s.runEnd.get(stationId, wm) as { seq: number }).seq;
    }
  }

  /**
   * Records seqs the station reports it no longer holds: only those above the watermark, below max_seq
   * (and within the window), not stored and not already lost; the holes are inserted as ranges by one
   * statement. Returns how many seqs they cover.
   */
  private markLost(stationId: string, fromSeq: number, toSeq: number, cursors: Map<string, Cursor>): number {
    const c = this.cursor(stationId, cursors);
    if (!c) return 0;
    c.changed = true;
    this.settle(stationId, c);
    const a = Math.max(fromSeq, c.watermark + 1);
    const b = Math.min(toSeq, c.max_seq - 1, c.watermark + this.window);
    if (a > b) return 0;
    const ranges = this.s.insertLost.all({ s: stationId, a, b, now: new Date().toISOString() }) as Array<{ from_seq: number; to_seq: number }>;
    c.changed = true;
    this.settle(stationId, c);
    return ranges.reduce((n, r) => n + r.to_seq - r.from_seq + 1, 0);
  }
}
