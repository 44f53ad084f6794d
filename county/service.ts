/**
 * A running county collector: one MQTT client subscribed to every station, the batcher that writes
 * what arrives into the store, the acker and the gap watcher on their timers. Several collectors can
 * share the load through an MQTT shared subscription and one database. See county/README.md.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger, type Logger } from './log.js';
import { FleetTopics } from '../protocol/topics.js';
import { Acker } from './acker.js';
import { coalesceWrites } from './coalesce-writes.js';
import { Batcher } from './batcher.js';
import { GapWatcher } from './gap-watcher.js';
import { LogLimiter } from '../protocol/log-limit.js';
import { StationRate } from './station-rate.js';
import { emptyWriteStats, writeBatch, type Incoming, type WriteStats } from './write-batch.js';
import { DEFAULT_TIMEZONE, fleetTable, monthlyCsv, monthlyReport, type FleetRow, type MonthlyReport } from './report.js';
import { openCollectorStore } from './open-store.js';
import type { CollectorStore, ConsoleStore, StoreOptions } from './store.js';
import { countyClientOptions, keysOf, type BrokerAccess } from './broker-access.js';
import { DEFAULT_VISIT_RULES, type VisitRules } from './visits.js';
import { VisitWatcher } from './visit-sync.js';
import type { LoadedNotify } from './notify/load.js';
import { Notifier, type NotifierOptions } from './notify/notifier.js';

/**
 * Topic prefix (default `stations`), account and CA from BrokerAccess; its command keys (each station's
 * own, or the legacy shared `commandKey`: what the station's `county.command_key_file` holds) sign
 * `request/sessions.resend` and the acks (HMAC-SHA256, protocol/signing.ts).
 */
export interface CollectorOptions extends BrokerAccess {
  url: string;
  /**
   * A SQLite file or a `postgres://` URL, opened (and closed by stop()) by the collector; several
   * collectors may share one.
   */
  db?: string;
  /** Options of the store the collector opens (e.g. `seqWindow`). */
  storeOptions?: StoreOptions;
  /** Create a SQLite `db` that does not exist yet (default true; the command line says --create). */
  createDb?: boolean;
  /** Or a store of the caller's (another database); stop() leaves it open. Exactly one of `db` and `store`. */
  store?: CollectorStore;
  /** Shared-subscription group; null subscribes without `$share/` (brokers without shared subscriptions, e.g. aedes). */
  group?: string | null;
  clientId?: string;
  /** A resend answer is believed only this long after the request. Default 30 000. */
  resendTimeoutMs?: number;
  /** Most messages one station may have waiting to be written; beyond, they are shed. Default 20 000. */
  maxQueuedPerStation?: number;
  /** Most messages waiting in all. Default 200 000. */
  maxQueued?: number;
  /**
   * Per-station admission, before anything else is done with a message: sustained messages/s and the
   * burst above it (StationRate). Defaults 200/s and 5 000. Beyond, messages are shed.
   */
  stationRate?: { perSecond: number; burst: number };
  /** A gap must persist this long before the collector asks for it (in-flight reordering heals itself). Default 5 000. */
  gapGraceMs?: number;
  /** The same gap is asked for again after this long. Default 30 000. */
  resendRetryMs?: number;
  /** How often new watermarks are acked (coalesces one ack per station per period). Default 200. */
  ackIntervalMs?: number;
  /** Incoming messages are written in one transaction per this period or `maxBatch` messages. Default 20. */
  flushMs?: number;
  maxBatch?: number;
  /**
   * Batches written at once (default 2): the next batch is validated and sent while the store commits the
   * one before. A station's messages are never in two batches at once (Batcher), so they keep their order.
   */
  concurrency?: number;
  /**
   * The visit lifecycle's pass (visit-sync.ts) on a timer: the rule's thresholds (`offlineAfterS` is
   * `visits.offline_after_s`) and how often (default 60 000 ms; 0: never). Needs a store with the
   * console's reads (every store the collector opens has them).
   */
  visits?: { rules?: Partial<VisitRules>; intervalMs?: number };
  /**
   * Group notifications (`--notify FILE`, county/notify/): the notify file as loaded. The collector then
   * finds the news in what it stores, queues it in the database and, while it leads (one collector of
   * those sharing a PostgreSQL database), sends it. The store must be a county store (CollectorStore and ConsoleStore).
   */
  notify?: LoadedNotify;
  /** The notifier's timing and the robots' HTTP, for tests. */
  notifyOptions?: Pick<NotifierOptions, 'intervals' | 'send' | 'now'>;
  log?: Logger;
}

export interface CollectorStats extends WriteStats {
  received: number;
  /** Messages refused because their station (or the whole queue) had too many waiting. */
  shed: number;
  acks_published: number;
  resends_requested: number;
  /** Resend requests whose answer did not come in time (a later answer is not believed). */
  resends_expired: number;
}

export interface Collector {
  store: CollectorStore;
  client: MqttClient;
  stats(): CollectorStats;
  /** Messages received and waiting to be written (the write backlog). */
  pending(): number;
  monthlyReport(month: string): Promise<MonthlyReport>;
  monthlyCsv(month: string): Promise<string>;
  fleetTable(): Promise<FleetRow[]>;
  /** Resolves once everything received before the call is written (tests and shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/** The subscriptions of one collector: durable and periodic topics shared, retained state topics not. */
export function collectorSubscriptions(prefix: string, group: string | null): Record<string, { qos: 0 | 1 }> {
  const f = new FleetTopics(prefix);
  return {
    [f.filter('usage', group)]: { qos: 1 },
    [f.filter('events', group)]: { qos: 1 },
    [f.filter('heartbeat', group)]: { qos: 0 },
    // Unshared: a resend answer is believed only by the collector that asked (GapWatcher), so each
    // collector must hear every answer; they are few (one per request).
    [f.filter('response')]: { qos: 1 },
    // Brokers do not send retained messages to shared subscriptions (MQTT 5 §4.8.2), and each collector
    // needs the whole fleet's state anyway: these are idempotent upserts, cheap to receive twice.
    [f.filter('status')]: { qos: 1 },
    [f.filter('inventory')]: { qos: 1 },
    [f.filter('device_state')]: { qos: 1 },
  };
}

const emptyStats = (): CollectorStats => ({ received: 0, shed: 0, ...emptyWriteStats(), acks_published: 0, resends_requested: 0, resends_expired: 0 });

export async function startCollector(opts: CollectorOptions): Promise<Collector> {
  if ((opts.db === undefined) === (opts.store === undefined)) throw new Error('startCollector needs exactly one of db (a SQLite file or a postgres:// URL) and store');
  const log = opts.log ?? silentLogger;
  const fleet = new FleetTopics(opts.prefix ?? 'stations');
  const group = opts.group === undefined ? 'county' : opts.group;
  const subscriptions = collectorSubscriptions(fleet.prefix, group);
  const gapGraceMs = opts.gapGraceMs ?? 5_000;
  const store = opts.store ?? (await openCollectorStore(opts.db!, opts.storeOptions, { thread: true, mustExist: opts.createDb === false }));
  const closeStore = async (): Promise<void> => {
    if (!opts.store) await store.close();
  };
  const stats = emptyStats();

  const client = mqtt.connect(opts.url, countyClientOptions('collector', opts));
  coalesceWrites(client);

  const limiter = new LogLimiter(log);
  const keys = keysOf(opts);
  const acker = new Acker({ store, fleet, client, log, onPublished: () => stats.acks_published++, keys });
  const gapWatcher = new GapWatcher({
    store,
    fleet,
    client,
    log,
    gapGraceMs,
    resendRetryMs: opts.resendRetryMs ?? 30_000,
    resendTimeoutMs: opts.resendTimeoutMs ?? 30_000,
    keys,
    onRequested: () => stats.resends_requested++,
    onExpired: () => stats.resends_expired++,
  });
  // Per-station queues taken in turn: a station flooding the collector waits behind itself only.
  const batcher = new Batcher<Incoming>({
    flushMs: opts.flushMs ?? 20,
    maxBatch: opts.maxBatch ?? 2_000,
    concurrency: opts.concurrency ?? 2,
    key: (m) => m.parsed?.station ?? '',
    maxPerKey: opts.maxQueuedPerStation ?? 20_000,
    maxQueued: opts.maxQueued ?? 200_000,
    onShed: (m, station) => {
      stats.shed++;
      limiter.warn({ station, topic: m.topic.slice(0, 200) }, 'too many messages waiting from this station: shed (durable ones come back, unacked)');
    },
    write: (batch) => writeBatch(store, fleet, batch, stats, log, { ledger: gapWatcher, limiter }),
    onError: (err, batch) => {
      stats.store_errors++;
      log.error({ err: (err as Error).message, messages: batch.length }, 'could not write a batch; it will be recovered through gaps');
    },
  });

  const admit = new StationRate(opts.stationRate ?? { perSecond: 200, burst: 5_000 });
  client.on('message', (topic, payload) => {
    stats.received++;
    const parsed = fleet.parse(topic);
    const station = parsed?.station ?? '';
    if (!admit.take(station)) {
      stats.shed++;
      limiter.warn({ station }, 'station sends faster than any station does: shed (durable ones come back, unacked)');
      return;
    }
    batcher.push({ topic, parsed, payload, receivedAt: new Date().toISOString() });
  });

  let subscribed: () => void = () => {};
  const firstSubscribe = new Promise<void>((r) => (subscribed = r));
  client.on('connect', () => {
    client.subscribe(subscriptions, (err) => {
      if (err) log.error({ err: err.message }, 'subscribe failed');
      else subscribed();
    });
    // Retained acks may be gone after a broker restart without persistence; they are ours to restore.
    void acker.restore();
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
      void client
        .endAsync(true)
        .then(closeStore)
        .finally(() => reject(err));
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  // Subscribed before the caller gets control, so nothing published after startCollector() is missed.
  await firstSubscribe;

  const visitRules: VisitRules = { ...DEFAULT_VISIT_RULES, ...opts.visits?.rules };
  let notifier: Notifier | undefined;
  if (opts.notify) {
    const fleetOf = (store as Partial<ConsoleStore>).fleet;
    if (typeof fleetOf !== 'function') throw new Error('group notifications need a county store (CollectorStore and ConsoleStore)');
    notifier = new Notifier({ store: store as CollectorStore & ConsoleStore, notify: opts.notify, visits: { rules: visitRules, countyTz: DEFAULT_TIMEZONE }, log: log.child({ component: 'notify' }), ...opts.notifyOptions });
    notifier.start();
  }

  const ackTimer = setInterval(() => void acker.tick(), opts.ackIntervalMs ?? 200);
  const gapTimer = setInterval(
    () => {
      limiter.summarise();
      void gapWatcher.tick();
    },
    Math.max(50, Math.min(1_000, Math.floor(gapGraceMs / 4))),
  );

  const visitMs = opts.visits?.intervalMs ?? 60_000;
  const visitStore = store as CollectorStore & Partial<ConsoleStore>;
  const visitWatcher =
    visitMs > 0 && typeof visitStore.fleet === 'function' && typeof visitStore.liveVisits === 'function'
      ? new VisitWatcher({ store: visitStore as CollectorStore & ConsoleStore, rules: visitRules, countyTz: DEFAULT_TIMEZONE, log })
      : undefined;
  let visitPass: Promise<void> = Promise.resolve();
  const visitTimer = visitWatcher ? setInterval(() => (visitPass = visitWatcher.tick()), visitMs) : undefined;

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    await notifier?.stop();
    clearInterval(visitTimer);
    await visitPass;
    await batcher.flush();
    await acker.final();
    acker.close();
    gapWatcher.close();
    clearInterval(ackTimer);
    clearInterval(gapTimer);
    // Not forced: the last acks are still in mqtt.js's queue and should reach the broker.
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([client.endAsync(false), new Promise((r) => (grace = setTimeout(r, 2_000)))]);
    clearTimeout(grace);
    await client.endAsync(true);
    // What arrived while the client closed is stored too (not acked: the next collector acks it).
    await batcher.stop();
    await closeStore();
  };

  return {
    store,
    client,
    stats: () => ({ ...stats, malformed_by_reason: { ...stats.malformed_by_reason } }),
    pending: () => batcher.pending,
    monthlyReport: (month) => monthlyReport(store, month),
    monthlyCsv: async (month) => monthlyCsv(await monthlyReport(store, month)),
    fleetTable: () => fleetTable(store),
    flush: () => batcher.flush(),
    stop: () => (stopping ??= stop()),
  };
}
