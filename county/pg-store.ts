/**
 * The collector's store on PostgreSQL (`pg`), for counties and provinces: several collectors of one
 * shared-subscription group write to one database. Each batch is one transaction that first locks the
 * rows of the stations it touches, in station-id order (so concurrent batches queue, never deadlock, and
 * no watermark is advanced from a stale read), then writes with one multi-row statement per kind
 * (`unnest` arrays: a few round trips per batch, whatever its size), inserts records idempotently on
 * `(station_id, seq)`, and advances each touched watermark once in SQL (county_advance). A batch that
 * still meets a serialization failure or a deadlock is retried. Migrations: pg-schema.ts.
 */
import type pg from 'pg';
import type { IncomingUsageRecord as UsageRecord } from '../protocol/usage-record.js';
import type { IncomingEventRecord as EventRecord } from '../protocol/event-record.js';
import { adoptionProbe, LEGACY_LEDGER, place, type LedgerRow, type StationLedgers } from './ledgers.js';
import { QUARANTINE_KEEP, SEQ_WINDOW, type CollectorStore, type CollectorWrite, type StoreOptions, type StoreOutcome, type WriteOutcome } from './store.js';
import { MIGRATION_LOCK, PG_MIGRATIONS, SQL, VERSION_TABLE } from './pg-schema.js';
import { makePool, PgReads } from './pg-reads.js';
import { PgNotifyStore } from './pg-notify.js';
import { batchCursor, historyHorizon, ranInOrder, type BatchCursor } from './store-rows.js';
import { latestNotes, noteOf } from './notes.js';
import { putDevices, putHeartbeatHistory, putInventories, putStatuses, rowsParam, run } from './pg-writes.js';
import { VISIT_SQL } from './pg-visit-sql.js';
import { classRunOf } from './visit-store.js';

export interface PgStoreOptions extends StoreOptions {
  /** Connections in the pool (one batch at a time writes; the rest serve reads). Default 4. */
  poolSize?: number;
}

/** Applies the missing migrations in one transaction; refuses a database newer than this collector. */
async function migrate(pool: pg.Pool): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (version INTEGER NOT NULL)`);
    const version = ((await c.query(`SELECT max(version) AS v FROM ${VERSION_TABLE}`)).rows[0] as { v: number | null }).v ?? 0;
    if (version > PG_MIGRATIONS.length) throw new Error(`the database has schema version ${version}, newer than this collector (${PG_MIGRATIONS.length})`);
    for (let i = version; i < PG_MIGRATIONS.length; i++) await c.query(PG_MIGRATIONS[i]!);
    await c.query(`DELETE FROM ${VERSION_TABLE}`);
    await c.query(`INSERT INTO ${VERSION_TABLE} (version) VALUES ($1)`, [PG_MIGRATIONS.length]);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * A refused sign-in in words a county's administrator can act on: which role, and where its password
 * goes (PGPASSWORD or ~/.pgpass) or the password-less local socket. pg says "SASL: … client password
 * must be a string" when none was given, and 28P01/28000 when PostgreSQL refused it.
 */
export function authProblem(err: unknown, url: string): Error | undefined {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.code !== '28P01' && e.code !== '28000' && !/SASL|password must be a string|password authentication failed/i.test(message)) return undefined;
  let role = process.env['PGUSER'] ?? process.env['USER'] ?? '?';
  try {
    role = decodeURIComponent(new URL(url).username) || role;
  } catch {
    /* not a URL we can read: keep the environment's role */
  }
  return new Error(
    `PostgreSQL 拒绝了角色 ${role} 的登录：请把密码放在环境变量 PGPASSWORD 或 ~/.pgpass 中，或经本机套接字用 peer 认证连接（postgresql:///station_county?host=/var/run/postgresql）/ ` +
      `PostgreSQL refused the sign-in of role ${role}: put its password in PGPASSWORD or ~/.pgpass, or connect over the local socket with peer authentication (postgresql:///station_county?host=/var/run/postgresql). (${message.slice(0, 200)})`,
    { cause: err },
  );
}

/** Connects to `url` (postgres://…), migrating the schema when needed. */
export async function openPgCollectorStore(url: string, options: PgStoreOptions = {}): Promise<PgCollectorStore> {
  const pool = makePool(url, options.poolSize ?? 4);
  // An idle client's error (the server restarted) must not crash the collector; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end();
    throw authProblem(err, url) ?? err;
  }
  return new PgCollectorStore(pool, options);
}

const PRUNE_EVERY_MS = 10 * 60_000;
/** serialization_failure, deadlock_detected: the batch is safe to run again. */
const RETRYABLE = new Set(['40001', '40P01']);

type Cursor = BatchCursor;

type RecordWrite = Extract<CollectorWrite, { kind: 'record' }>;

export class PgCollectorStore extends PgReads implements CollectorStore {
  private readonly window: number;
  private readonly known = new Set<string>();
  private readonly historyWritten = new Map<string, number>();
  private lastPrune = 0;
  /** The group notifications' queue and marks, and who sends (pg-notify.ts). */
  readonly notify: PgNotifyStore;

  constructor(pool: pg.Pool, options: StoreOptions = {}) {
    super(pool);
    this.window = options.seqWindow ?? SEQ_WINDOW;
    this.notify = new PgNotifyStore(pool);
  }

  async apply(writes: readonly CollectorWrite[]): Promise<WriteOutcome[]> {
    for (let attempt = 1; ; attempt++) {
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        const out = await this.applyIn(c, writes);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        this.known.clear();
        this.historyWritten.clear();
        if (attempt >= 3 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
      } finally {
        c.release();
      }
    }
  }

  private async applyIn(c: pg.PoolClient, writes: readonly CollectorWrite[]): Promise<WriteOutcome[]> {
    const now = new Date();
    const touched = [...new Set(writes.filter((w) => w.kind !== 'lost').map((w) => w.station))].sort();
    const fresh = touched.filter((s) => !this.known.has(s));
    if (fresh.length > 0) await run(c, SQL.ensure, [fresh, now.toISOString()]);
    const all = [...new Set(writes.map((w) => w.station))].sort();
    const cursors = new Map<string, Cursor>();
    const boots = new Map<string, number | null>();
    const currents = new Map<string, string | null>();
    for (const r of (await run(c, SQL.lockCursors, [all])).rows as Array<Pick<Cursor, 'watermark' | 'max_seq' | 'quarantined'> & { station_id: string; boot: number | null; ledger: string | null }>) {
      cursors.set(r.station_id, batchCursor(r));
      boots.set(r.station_id, r.boot);
      currents.set(r.station_id, r.ledger);
    }
    fresh.forEach((s) => this.known.add(s));

    const out: WriteOutcome[] = new Array(writes.length);
    const records: Array<{ i: number; w: RecordWrite }> = [];
    // Of several statuses or inventories of a station in one batch, the last that applies is what stays.
    const statuses = new Map<string, Extract<CollectorWrite, { kind: 'status' }>>();
    const inventories = new Map<string, Extract<CollectorWrite, { kind: 'inventory' }>>();
    const hb: Array<Extract<CollectorWrite, { kind: 'heartbeat' }>> = [];
    const lastHeartbeat = new Map<string, Extract<CollectorWrite, { kind: 'heartbeat' }>>();
    const dev = new Map<string, Extract<CollectorWrite, { kind: 'device_state' }>>();
    const lost: number[] = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      if (w.kind === 'status') {
        // A Will (offline) of an older MQTT session than the known one is late: dropped.
        const boot = boots.get(w.station) ?? null;
        const applied = w.status.online || boot === null || w.status.boot >= boot;
        if (applied) {
          statuses.set(w.station, w);
          boots.set(w.station, w.status.boot);
        }
        out[i] = { kind: 'status', applied };
      } else if (w.kind === 'inventory') {
        inventories.set(w.station, w);
        out[i] = { kind: 'inventory' };
      } else if (w.kind === 'heartbeat') {
        hb.push(w);
        lastHeartbeat.set(w.station, w);
        out[i] = { kind: 'heartbeat' };
      } else if (w.kind === 'device_state') {
        // One row per device in a statement; of several, the newest state wins (as the upsert's WHERE would).
        const k = `${w.station}\u0000${w.device}`;
        const prev = dev.get(k);
        if (!prev || w.state.ts >= prev.state.ts) dev.set(k, w);
        out[i] = { kind: 'device_state' };
      } else if (w.kind === 'record') records.push({ i, w });
      else lost.push(i);
    }
    if (statuses.size > 0) await putStatuses(c, [...statuses.values()]);
    if (inventories.size > 0) await putInventories(c, [...inventories.values()]);
    if (hb.length > 0) await putHeartbeatHistory(c, hb, this.historyWritten);
    if (dev.size > 0) await putDevices(c, [...dev.values()]);
    if (records.length > 0) await this.putRecords(c, await this.place(c, records, cursors, currents), cursors, out);
    await this.finish(c, cursors, lastHeartbeat);
    for (const i of lost) {
      const w = writes[i] as Extract<CollectorWrite, { kind: 'lost' }>;
      out[i] = { kind: 'lost', count: await this.markLost(c, w.station, w.from_seq, w.to_seq, cursors.get(w.station)) };
    }
    if (now.getTime() - this.lastPrune > PRUNE_EVERY_MS) {
      await run(c, SQL.historyPrune, [historyHorizon(now.getTime())]);
      this.lastPrune = now.getTime();
    }
    return out;
  }

  /**
   * Each record at its county seq (ledgers.ts), in batch order, persisting any new ledger; `superseded`
   * when its ledger was replaced below it.
   */
  private async place(
    c: pg.PoolClient,
    records: ReadonlyArray<{ i: number; w: RecordWrite }>,
    cursors: Map<string, Cursor>,
    currents: Map<string, string | null>,
  ): Promise<Array<{ i: number; w: RecordWrite; superseded: boolean }>> {
    const stations = [...new Set(records.map((r) => r.w.station))];
    const ledgers = new Map<string, StationLedgers>(stations.map((s) => [s, { current: currents.get(s) ?? null, rows: new Map() }]));
    for (const row of (await run(c, SQL.ledgerRows, [stations])).rows as Array<LedgerRow & { station_id: string }>) {
      ledgers.get(row.station_id)!.rows.set(row.ledger, { ledger: row.ledger, base: row.base, end_seq: row.end_seq });
    }
    // The records are inserted after all are placed: a new ledger's base must count the batch's earlier ones.
    const maxSeq = new Map(stations.map((s) => [s, cursors.get(s)!.max_seq]));
    const placed: Array<{ i: number; w: RecordWrite; superseded: boolean }> = [];
    for (const r of records) {
      const st = ledgers.get(r.w.station)!;
      const ledger = r.w.record.ledger ?? LEGACY_LEDGER;
      const probe = adoptionProbe(st, ledger, r.w.record.seq);
      const there = probe === undefined ? undefined : ((await run(c, SQL.ledgerRecordId, [r.w.station, probe])).rows[0] as { id: string } | undefined)?.id;
      const p = place(st, ledger, r.w.record.seq, r.w.record.id, maxSeq.get(r.w.station)!, () => there);
      if (p.change) {
        const ch = p.change;
        const now = new Date().toISOString();
        if (ch.end_seq !== null) await run(c, SQL.ledgerEnd, [ch.end_seq, r.w.station, ch.ledger]);
        await run(c, SQL.ledgerInsert, [r.w.station, ch.ledger, ch.base, now]);
        await run(c, SQL.ledgerSwitch, [ch.ledger, ch.base, ch.kind !== 'first', ch.kind === 'replaced', now, r.w.station]);
      }
      if (!p.superseded) maxSeq.set(r.w.station, Math.max(maxSeq.get(r.w.station)!, p.seq));
      placed.push({ i: r.i, w: { ...r.w, record: { ...r.w.record, seq: p.seq } } as RecordWrite, superseded: p.superseded });
    }
    return placed;
  }

  /** Quarantines the far-ahead seqs, inserts the rest in one statement, then tells stored from duplicate and conflict. */
  private async putRecords(c: pg.PoolClient, records: ReadonlyArray<{ i: number; w: RecordWrite; superseded: boolean }>, cursors: Map<string, Cursor>, out: WriteOutcome[]): Promise<void> {
    const keep: Array<{ i: number; w: RecordWrite }> = [];
    const quarantine: Array<{ w: RecordWrite; watermark: number }> = [];
    for (const r of records) {
      const cur = cursors.get(r.w.station)!;
      if (r.superseded || r.w.record.seq > cur.watermark + this.window) {
        cur.quarantined++;
        cur.changed = true;
        if (cur.quarantined <= QUARANTINE_KEEP) quarantine.push({ w: r.w, watermark: cur.watermark });
        out[r.i] = { kind: 'record', outcome: 'quarantined' };
      } else keep.push(r);
    }
    if (quarantine.length > 0) {
      await run(c, SQL.quarantine, rowsParam(quarantine, [(q) => q.w.station, (q) => q.w.record.seq, (q) => q.w.stream, (q) => q.w.record.id, (q) => q.w.receivedAt, (q) => q.watermark, (q) => q.w.raw]));
    }
    if (keep.length === 0) return;
    const inserted = await run(
      c,
      SQL.records,
      rowsParam(keep, [(r) => r.w.station, (r) => r.w.record.seq, (r) => r.w.stream, (r) => r.w.record.id, (r) => r.w.record.historical === true, (r) => r.w.receivedAt, (r) => r.w.raw]),
    );
    const isNew = new Set((inserted.rows as Array<{ station_id: string; seq: number }>).map((r) => `${r.station_id}\u0000${r.seq}`));
    const stored: RecordWrite[] = [];
    const others: Array<{ i: number; w: RecordWrite }> = [];
    for (const r of keep) {
      const k = `${r.w.station}\u0000${r.w.record.seq}`;
      if (isNew.delete(k)) {
        stored.push(r.w);
        out[r.i] = { kind: 'record', outcome: 'stored' };
        const cur = cursors.get(r.w.station)!;
        if (r.w.record.seq > cur.max_seq) cur.max_seq = r.w.record.seq;
        if (r.w.record.seq > cur.watermark) cur.added++;
        cur.changed = true;
      } else others.push(r);
    }
    if (others.length > 0) {
      const ids = new Map(
        ((await run(c, SQL.recordIds, rowsParam(others, [(r) => r.w.station, (r) => r.w.record.seq]))).rows as Array<{ station_id: string; seq: number; id: string }>).map((r) => [
          `${r.station_id}\u0000${r.seq}`,
          r.id,
        ]),
      );
      for (const r of others) {
        const outcome: StoreOutcome = ids.get(`${r.w.station}\u0000${r.w.record.seq}`) === r.w.record.id ? 'duplicate' : 'conflict';
        out[r.i] = { kind: 'record', outcome };
      }
    }
    const usage = stored.filter((w) => w.stream === 'usage').map((w) => ({ s: w.station, u: w.record as UsageRecord }));
    const events = stored.filter((w) => w.stream === 'events').map((w) => ({ s: w.station, e: w.record as EventRecord }));
    if (usage.length > 0) {
      await run(
        c,
        SQL.usage,
        rowsParam(usage, [(x) => x.s, (x) => x.u.seq, (x) => x.u.id, (x) => Date.parse(x.u.start), (x) => Date.parse(x.u.end), (x) => x.u.duration_s, (x) => x.u.signal_s, (x) => x.u.short, (x) => x.u.trigger, (x) => x.u.end_reason]),
      );
    }
    if (events.length > 0) {
      await run(c, SQL.events, rowsParam(events, [(x) => x.s, (x) => x.e.seq, (x) => x.e.ts, (x) => x.e.type, (x) => x.e.severity, (x) => x.e.device ?? null]));
    }
    const notes = latestNotes(stored.map((w) => noteOf(w.station, w.stream, w.record)).filter((n) => n !== null));
    if (notes.length > 0) {
      await run(c, SQL.notes, rowsParam(notes, [(n) => n.station, (n) => n.session_id, (n) => n.seq, (n) => n.topic, (n) => n.attendees, (n) => n.organiser, (n) => n.note]));
    }
    // Schedule runs (two a class) into each schedule's latest run, one statement each (pg-visit-sql.ts).
    for (const x of events) {
      const r = classRunOf(x.s, x.e.seq, x.e);
      if (r) await run(c, VISIT_SQL.classRun, [r.station_id, r.schedule_id, r.run_id, r.seq, r.ts, r.phase, r.ok, r.done, r.total]);
    }
  }

  /**
   * The batch's one update of each station row it changed: the last heartbeat, and max_seq, the
   * quarantine count and the advanced watermark of the stations whose records changed.
   */
  private async finish(c: pg.PoolClient, cursors: Map<string, Cursor>, heartbeats: Map<string, Extract<CollectorWrite, { kind: 'heartbeat' }>>): Promise<void> {
    const ids = [...new Set([...heartbeats.keys(), ...[...cursors].filter(([, cur]) => cur.changed).map(([s]) => s)])];
    if (ids.length === 0) return;
    const cur = (s: string): Cursor | undefined => {
      const x = cursors.get(s);
      return x?.changed ? x : undefined;
    };
    const r = await run(
      c,
      SQL.finish,
      rowsParam(ids, [
        (s) => s,
        (s) => heartbeats.get(s)?.heartbeat.ts ?? null,
        (s) => heartbeats.get(s)?.receivedAt ?? null,
        (s) => heartbeats.get(s)?.heartbeat.outbox.depth ?? null,
        (s) => heartbeats.get(s)?.heartbeat.host.disk_free_pct ?? null,
        (s) => heartbeats.get(s)?.heartbeat.host.disk_free_mb ?? null,
        (s) => cur(s)?.max_seq ?? null,
        (s) => cur(s)?.quarantined ?? null,
        (s) => {
          const x = cur(s);
          return x ? ranInOrder(x) : null;
        },
      ]),
    );
    this.settled(cursors, r.rows as Array<{ station_id: string; watermark: number }>);
  }

  private settled(cursors: Map<string, Cursor>, rows: ReadonlyArray<{ station_id: string; watermark: number }>): void {
    for (const row of rows) {
      const cur = cursors.get(row.station_id);
      if (!cur) continue;
      cur.watermark = row.watermark;
      cur.changed = false;
      cur.inOrder = cur.max_seq === cur.watermark;
      cur.added = 0;
    }
  }

  /** Writes back max_seq and the quarantine count and advances the watermark of every changed station, in one statement. */
  private async settle(c: pg.PoolClient, cursors: Map<string, Cursor>): Promise<void> {
    const changed = [...cursors].filter(([, cur]) => cur.changed);
    if (changed.length === 0) return;
    const r = await run(
      c,
      SQL.settle,
      rowsParam(changed, [([s]) => s, ([, cur]) => cur.max_seq, ([, cur]) => cur.quarantined, ([, cur]) => ranInOrder(cur)]),
    );
    this.settled(cursors, r.rows as Array<{ station_id: string; watermark: number }>);
  }

  /** Marks the holes of the asked range as lost ranges (one statement), then advances the watermark. */
  private async markLost(c: pg.PoolClient, station: string, fromSeq: number, toSeq: number, cur: Cursor | undefined): Promise<number> {
    if (!cur) return 0;
    const a = Math.max(fromSeq, cur.watermark + 1);
    const b = Math.min(toSeq, cur.max_seq - 1, cur.watermark + this.window);
    if (a > b) return 0;
    const ranges = (await run(c, SQL.insertLost, [station, a, b, new Date().toISOString()])).rows as Array<{ from_seq: number; to_seq: number }>;
    cur.changed = true;
    await this.settle(c, new Map([[station, cur]]));
    return ranges.reduce((n, r) => n + r.to_seq - r.from_seq + 1, 0);
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.notify.resignNotify();
    await this.pool.end();
  }
}
