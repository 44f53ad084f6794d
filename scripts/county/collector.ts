/**
 * The county reference collector: subscribes to every station, stores what arrives (scripts/county/
 * store.ts), acks durable records up to each station's contiguous watermark, and asks stations for the
 * seqs it is missing. Several collectors can share the load through an MQTT shared subscription and
 * one database file. See scripts/county/README.md.
 *
 *   node dist/scripts/county/collector.js --url mqtt://127.0.0.1:1883 --db county.db [--group g]
 *   node dist/scripts/county/collector.js report --db county.db --month 2026-11 [--csv | --json]
 *   node dist/scripts/county/collector.js fleet --db county.db [--csv | --json]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger, silentLogger, type Logger } from '../../agent/log.js';
import { signRequest } from '../../agent/county/signing.js';
import { ingest, MalformedError } from './ingest.js';
import { fleetCsv, fleetTable, formatFleetTable, monthlyCsv, monthlyReport, type FleetRow, type MonthlyReport } from './report.js';
import { CollectorStore, openCollectorDb, type Db } from './store.js';

export interface CollectorOptions {
  url: string;
  /** SQLite file; several collectors may share one. */
  db: string;
  /** Shared-subscription group; null subscribes without `$share/` (brokers without shared subscriptions, e.g. aedes). */
  group?: string | null;
  /** Default `stations`. */
  prefix?: string;
  clientId?: string;
  username?: string;
  password?: string;
  ca?: string | Buffer;
  /** Signs `request/sessions.resend` (HMAC-SHA256) for stations that have `county.command_key_file`. */
  commandKey?: string | Buffer;
  /** A gap must persist this long before the collector asks for it (in-flight reordering heals itself). Default 5 000. */
  gapGraceMs?: number;
  /** The same gap is asked for again after this long. Default 30 000. */
  resendRetryMs?: number;
  /** How often new watermarks are acked (coalesces one ack per station per period). Default 200. */
  ackIntervalMs?: number;
  /** Incoming messages are written in one transaction per this period or `maxBatch` messages. Default 20. */
  flushMs?: number;
  maxBatch?: number;
  log?: Logger;
}

export interface CollectorStats {
  received: number;
  stored: number;
  duplicates: number;
  conflicts: number;
  malformed: number;
  malformed_by_reason: Record<string, number>;
  stale_status: number;
  acks_published: number;
  resends_requested: number;
  resend_errors: number;
  lost_marked: number;
  store_errors: number;
  /** Older heartbeats of a station dropped in favour of a newer one in the same write batch. */
  heartbeats_coalesced: number;
}

export interface Collector {
  db: Db;
  store: CollectorStore;
  client: MqttClient;
  stats(): CollectorStats;
  monthlyReport(month: string): MonthlyReport;
  monthlyCsv(month: string): string;
  fleetTable(): FleetRow[];
  /** Writes whatever is queued now (tests and shutdown). */
  flush(): void;
  stop(): Promise<void>;
}

interface Queued {
  topic: string;
  payload: Buffer;
  receivedAt: string;
}

interface GapWatch {
  from: number;
  since: number;
  lastAsked: number | null;
}

/** The subscriptions of one collector: durable and periodic topics shared, retained state topics not. */
export function collectorSubscriptions(prefix: string, group: string | null): Record<string, { qos: 0 | 1 }> {
  const shared = group === null ? '' : `$share/${group}/`;
  return {
    [`${shared}${prefix}/+/usage`]: { qos: 1 },
    [`${shared}${prefix}/+/events`]: { qos: 1 },
    [`${shared}${prefix}/+/heartbeat`]: { qos: 0 },
    [`${shared}${prefix}/+/response/+`]: { qos: 1 },
    // Brokers do not send retained messages to shared subscriptions (MQTT 5 §4.8.2), and each collector
    // needs the whole fleet's state anyway: these are idempotent upserts, cheap to receive twice.
    [`${prefix}/+/status`]: { qos: 1 },
    [`${prefix}/+/inventory`]: { qos: 1 },
    [`${prefix}/+/devices/+/state`]: { qos: 1 },
  };
}

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  const log = opts.log ?? silentLogger;
  const prefix = opts.prefix ?? 'stations';
  const group = opts.group === undefined ? 'county' : opts.group;
  const gapGraceMs = opts.gapGraceMs ?? 5_000;
  const resendRetryMs = opts.resendRetryMs ?? 30_000;
  const flushMs = opts.flushMs ?? 20;
  const maxBatch = opts.maxBatch ?? 2_000;
  const db = openCollectorDb(opts.db);
  const store = new CollectorStore(db);
  const stats: CollectorStats = {
    received: 0,
    stored: 0,
    duplicates: 0,
    conflicts: 0,
    malformed: 0,
    malformed_by_reason: {},
    stale_status: 0,
    acks_published: 0,
    resends_requested: 0,
    resend_errors: 0,
    lost_marked: 0,
    store_errors: 0,
    heartbeats_coalesced: 0,
  };
  let queue: Queued[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const gaps = new Map<string, GapWatch>();
  let stopped = false;

  const clientOptions: IClientOptions = {
    clientId: opts.clientId ?? `county-collector-${randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 2_000,
    connectTimeout: 10_000,
    keepalive: 30,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(opts.password !== undefined ? { password: opts.password } : {}),
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
  };
  const client = mqtt.connect(opts.url, clientOptions);

  const flush = (): void => {
    if (flushTimer) clearTimeout(flushTimer);
    flushTimer = undefined;
    if (queue.length === 0 || stopped) return;
    const batch = queue;
    queue = [];
    // Heartbeats are most of the traffic and only the latest per station matters: under load a batch
    // holds several per station, and only the last one is validated and written.
    const lastHeartbeat = new Map<string, number>();
    batch.forEach((m, i) => {
      if (m.topic.endsWith('/heartbeat')) lastHeartbeat.set(m.topic, i);
    });
    try {
      store.batch(() => {
        batch.forEach((m, i) => {
          const last = lastHeartbeat.get(m.topic);
          if (last !== undefined && last !== i) {
            stats.heartbeats_coalesced++;
            return;
          }
          handle(m);
        });
      });
    } catch (err) {
      // Nothing of the batch is acked (the transaction rolled back): the stations keep the records and a
      // later seq makes the hole visible, so they come back through sessions.resend.
      stats.store_errors++;
      log.error({ err: (err as Error).message, messages: batch.length }, 'could not write a batch; it will be recovered through gaps');
    }
  };

  const handle = (m: Queued): void => {
    try {
      const r = ingest(store, prefix, m.topic, m.payload, m.receivedAt);
      switch (r.kind) {
        case 'record':
          if (r.outcome === 'stored') stats.stored++;
          else if (r.outcome === 'duplicate') stats.duplicates++;
          else {
            stats.conflicts++;
            log.error({ station: r.station, seq: r.seq }, 'a different record with an already stored (station_id, seq): kept the first one');
          }
          break;
        case 'status':
          if (!r.applied) stats.stale_status++;
          break;
        case 'resend_result':
          if (!r.ok) {
            stats.resend_errors++;
            log.warn({ station: r.station, error: r.error }, 'station refused sessions.resend (is it in county.allowed_commands?)');
          } else if (r.count === 0 && r.to_seq >= r.from_seq) {
            const n = store.markLost(r.station, r.from_seq, r.to_seq);
            stats.lost_marked += n;
            if (n > 0) log.error({ station: r.station, from_seq: r.from_seq, to_seq: r.to_seq, lost: n }, 'station no longer holds these records: recorded as lost');
          }
          break;
        default:
          break;
      }
    } catch (err) {
      if (!(err instanceof MalformedError)) throw err;
      stats.malformed++;
      stats.malformed_by_reason[err.reason] = (stats.malformed_by_reason[err.reason] ?? 0) + 1;
      log.warn({ topic: m.topic, reason: err.reason, detail: err.message }, 'malformed payload dropped');
    }
  };

  client.on('message', (topic, payload) => {
    stats.received++;
    queue.push({ topic, payload, receivedAt: new Date().toISOString() });
    if (queue.length >= maxBatch) flush();
    else flushTimer ??= setTimeout(flush, flushMs);
  });

  const publishAck = (station: string, seq: number): void => {
    client.publish(`${prefix}/${station}/ack`, JSON.stringify({ seq }), { qos: 1, retain: true }, (err) => {
      if (err && !stopped) log.warn({ station, err: err.message }, 'ack publish failed; sent again on reconnect');
    });
    stats.acks_published++;
  };

  const ackTick = (): void => {
    if (stopped || !client.connected) return;
    try {
      const pending = store.batch(() => store.pendingAcks().filter((p) => store.markAcked(p.station_id, p.watermark)));
      for (const p of pending) publishAck(p.station_id, p.watermark);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'ack pass failed');
    }
  };

  const requestResend = (station: string, from: number, to: number): void => {
    // The range travels in the transaction so whichever collector of the group gets the response can act on it.
    const request: Record<string, unknown> = {
      transaction: `resend:${from}:${to}:${randomBytes(4).toString('hex')}`,
      args: { from_seq: from, to_seq: to },
      ts: new Date().toISOString(),
    };
    if (opts.commandKey !== undefined) request['sig'] = signRequest(opts.commandKey, station, 'sessions.resend', request);
    client.publish(`${prefix}/${station}/request/sessions.resend`, JSON.stringify(request), { qos: 1 });
    stats.resends_requested++;
    log.info({ station, from_seq: from, to_seq: to }, 'asked the station for missing records');
  };

  const gapTick = (): void => {
    if (stopped || !client.connected) return;
    const now = Date.now();
    let open;
    try {
      open = store.gaps();
    } catch (err) {
      log.error({ err: (err as Error).message }, 'gap pass failed');
      return;
    }
    const seen = new Set<string>();
    for (const g of open) {
      seen.add(g.station_id);
      let w = gaps.get(g.station_id);
      if (!w || w.from !== g.from_seq) gaps.set(g.station_id, (w = { from: g.from_seq, since: now, lastAsked: null }));
      if (now - w.since < gapGraceMs) continue;
      if (w.lastAsked !== null && now - w.lastAsked < resendRetryMs) continue;
      w.lastAsked = now;
      requestResend(g.station_id, g.from_seq, g.to_seq);
    }
    for (const s of gaps.keys()) if (!seen.has(s)) gaps.delete(s);
  };

  let subscribed: () => void = () => {};
  const firstSubscribe = new Promise<void>((r) => (subscribed = r));
  client.on('connect', () => {
    client.subscribe(collectorSubscriptions(prefix, group), (err) => {
      if (err) log.error({ err: err.message }, 'subscribe failed');
      else subscribed();
    });
    // Retained acks may be gone after a broker restart without persistence; they are ours to restore.
    try {
      for (const r of db.prepare('SELECT station_id, acked_seq FROM stations WHERE acked_seq > 0').all() as Array<{ station_id: string; acked_seq: number }>) {
        publishAck(r.station_id, r.acked_seq);
      }
    } catch (err) {
      log.error({ err: (err as Error).message }, 'could not restore acks');
    }
    log.info({ url: opts.url, group }, 'collector connected');
  });
  client.on('error', (err) => log.warn({ err: err.message }, 'mqtt error'));

  await new Promise<void>((resolve, reject) => {
    const onConnect = (): void => {
      client.off('error', onError);
      resolve();
    };
    const onError = (err: Error): void => {
      // The first connect must work (a wrong URL should fail loudly); later ones retry.
      client.off('connect', onConnect);
      void client.endAsync(true).finally(() => {
        db.close();
        reject(err);
      });
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  // Subscribed before the caller gets control, so nothing published after startCollector() is missed.
  await firstSubscribe;

  const ackTimer = setInterval(ackTick, opts.ackIntervalMs ?? 200);
  const gapTimer = setInterval(gapTick, Math.max(50, Math.min(1_000, Math.floor(gapGraceMs / 4))));

  return {
    db,
    store,
    client,
    stats: () => ({ ...stats, malformed_by_reason: { ...stats.malformed_by_reason } }),
    monthlyReport: (month) => monthlyReport(db, month),
    monthlyCsv: (month) => monthlyCsv(monthlyReport(db, month)),
    fleetTable: () => fleetTable(db),
    flush,
    stop: async () => {
      if (stopped) return;
      flush();
      ackTick();
      stopped = true;
      clearInterval(ackTimer);
      clearInterval(gapTimer);
      if (flushTimer) clearTimeout(flushTimer);
      // Not forced: the last acks are still in mqtt.js's queue and should reach the broker.
      await Promise.race([client.endAsync(false), new Promise((r) => setTimeout(r, 2_000))]);
      await client.endAsync(true);
      db.close();
    },
  };
}

function readSecret(file: string | undefined): string | undefined {
  return file === undefined ? undefined : readFileSync(file, 'utf8').trim();
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('collector').description('county reference collector for station-agent').showHelpAfterError();

  program
    .command('run', { isDefault: true })
    .description('collect from every station until stopped (SIGINT/SIGTERM)')
    .requiredOption('--url <url>', 'broker URL, mqtt:// or mqtts://')
    .requiredOption('--db <file>', 'SQLite database (created when missing)')
    .option('--group <name>', 'shared-subscription group', 'county')
    .option('--no-share', 'subscribe without $share/ (brokers without shared subscriptions)')
    .option('--prefix <prefix>', 'topic prefix', 'stations')
    .option('--username <name>')
    .option('--password-file <file>')
    .option('--ca-file <file>')
    .option('--command-key-file <file>', 'HMAC key for signed county requests')
    .option('--print-s <seconds>', 'print the fleet table every N seconds (0 = never)', '60')
    .addOption(new Option('--log-level <level>').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const log = createLogger(o['logLevel'] as 'info', process.stderr);
      const ca = o['caFile'] ? readFileSync(o['caFile'] as string) : undefined;
      const collector = await startCollector({
        url: o['url'] as string,
        db: o['db'] as string,
        group: o['share'] === false ? null : (o['group'] as string),
        prefix: o['prefix'] as string,
        ...(o['username'] ? { username: o['username'] as string } : {}),
        ...(o['passwordFile'] ? { password: readSecret(o['passwordFile'] as string)! } : {}),
        ...(ca ? { ca } : {}),
        ...(o['commandKeyFile'] ? { commandKey: readSecret(o['commandKeyFile'] as string)! } : {}),
        log,
      });
      const printS = Number(o['printS']);
      const printer = printS > 0 ? setInterval(() => process.stdout.write(formatFleetTable(collector.fleetTable())), printS * 1000) : undefined;
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      if (printer) clearInterval(printer);
      await collector.stop();
      log.info(collector.stats(), 'collector stopped');
    });

  program
    .command('report')
    .description("the county's monthly progress table per town and station")
    .requiredOption('--db <file>')
    .requiredOption('--month <YYYY-MM>', 'calendar month in the stations\' time zone')
    .option('--csv', 'CSV (default)')
    .option('--json', 'JSON')
    .action((o: { db: string; month: string; json?: boolean }) => {
      const db = openCollectorDb(o.db);
      try {
        const report = monthlyReport(db, o.month);
        process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : monthlyCsv(report));
      } finally {
        db.close();
      }
    });

  program
    .command('fleet')
    .description('every station: online, last heartbeat, faults, lamp warnings, outbox depth')
    .requiredOption('--db <file>')
    .option('--csv', 'CSV')
    .option('--json', 'JSON')
    .action((o: { db: string; csv?: boolean; json?: boolean }) => {
      const db = openCollectorDb(o.db);
      try {
        const rows = fleetTable(db);
        process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + '\n' : o.csv ? fleetCsv(rows) : formatFleetTable(rows));
      } finally {
        db.close();
      }
    });

  await program.parseAsync(argv, { from: 'user' });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`collector: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
