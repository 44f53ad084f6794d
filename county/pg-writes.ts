/**
 * The multi-row writes of the PostgreSQL store's batches (pg-store.ts): one statement per kind, the
 * values as `unnest` column arrays, whatever the batch's size.
 */
import type pg from 'pg';
import type { CollectorWrite } from './store.js';
import { SQL } from './pg-schema.js';
import { heartbeatPoint, historyBucket } from './store-rows.js';

/** The parameters of a write statement: its rows as one JSON array of arrays (pg-schema.ts rowsOf). */
export function rowsParam<T>(rows: readonly T[], pick: ReadonlyArray<(r: T) => unknown>): [string] {
  return [JSON.stringify(rows.map((r) => pick.map((f) => f(r))))];
}

/** Statement names by text: the write path's statements are parsed and planned once per connection, not per batch. */
const NAMES = new Map<string, string>(Object.entries(SQL).map(([k, text]) => [text, `county_${k}`]));

/** Runs one of the store's statements (SQL) as a named prepared statement. */
export function run(c: pg.PoolClient, text: string, values: unknown[]): Promise<pg.QueryResult> {
  const name = NAMES.get(text);
  return name === undefined ? c.query(text, values) : c.query({ name, text, values });
}

export async function putStatuses(c: pg.PoolClient, ws: ReadonlyArray<Extract<CollectorWrite, { kind: 'status' }>>): Promise<void> {
  await run(
    c,
    SQL.statuses,
    rowsParam(ws, [(w) => w.station, (w) => w.status.online, (w) => w.status.boot, (w) => (w.status.online ? w.status.ts : null), (w) => w.receivedAt, (w) => (w.status.online ? w.status.agent_version : null), (w) => (w.status.online ? null : (w.status.reason ?? null))]),
  );
}

/** Each station's last inventory of the batch: its identity on the station row, the document beside it. */
export async function putInventories(c: pg.PoolClient, ws: ReadonlyArray<Extract<CollectorWrite, { kind: 'inventory' }>>): Promise<void> {
  const st = (w: (typeof ws)[number]) => w.inventory.station;
  await run(c, SQL.inventories, rowsParam(ws, [(w) => w.station, (w) => st(w).name, (w) => st(w).town, (w) => st(w).county, (w) => st(w).level, (w) => st(w).timezone]));
  await run(c, SQL.inventoryDocs, rowsParam(ws, [(w) => w.station, (w) => JSON.stringify(w.inventory), (w) => w.receivedAt]));
}

/**
 * The history takes the first heartbeat of each bucket not yet written, and the documents table the
 * whole heartbeat with it (at most every 10 minutes). The station row's heartbeat time and outbox depth
 * are written with the batch's other changes to the row (SQL.finish).
 */
export async function putHeartbeatHistory(c: pg.PoolClient, ws: ReadonlyArray<Extract<CollectorWrite, { kind: 'heartbeat' }>>, historyWritten: Map<string, number>): Promise<void> {
  const seen = new Set<string>();
  const points = ws
    .map((w) => ({ w, bucket: historyBucket(Date.parse(w.receivedAt)), p: heartbeatPoint(w.heartbeat) }))
    .filter((x) => {
      const k = `${x.w.station}\u0000${x.bucket}`;
      if (seen.has(k) || historyWritten.get(x.w.station) === x.bucket) return false;
      seen.add(k);
      return true;
    });
  if (points.length === 0) return;
  await run(
    c,
    SQL.history,
    rowsParam(points, [(x) => x.w.station, (x) => x.bucket, (x) => x.p.ts, (x) => x.p.cpu_pct, (x) => x.p.mem_pct, (x) => x.p.disk_free_mb, (x) => x.p.agent_rss_mb, (x) => x.p.outbox_depth, (x) => x.p.online_devices]),
  );
  const docs = [...new Map(points.map((x) => [x.w.station, x.w])).values()];
  await run(c, SQL.heartbeatDocs, rowsParam(docs, [(w) => w.station, (w) => JSON.stringify(w.heartbeat)]));
  for (const x of points) historyWritten.set(x.w.station, x.bucket);
}

export async function putDevices(c: pg.PoolClient, ws: ReadonlyArray<Extract<CollectorWrite, { kind: 'device_state' }>>): Promise<void> {
  await run(
    c,
    SQL.devices,
    rowsParam(ws, [
      (w) => w.station,
      (w) => w.device,
      (w) => w.state.kind,
      (w) => w.state.driver,
      (w) => w.state.online,
      (w) => w.state.power,
      (w) => JSON.stringify(w.state.errors),
      (w) => w.state.lamp_hours ?? null,
      (w) => JSON.stringify(w.state),
      (w) => w.state.ts,
      (w) => w.receivedAt,
    ]),
  );
}
