/**
 * Shared pieces of the county-link integration tests: a station (real SQLite store in a temp dir, its
 * outbox (`ledger`), EventLog, bus, registry, CountyLink, wired as the daemon wires them) and a county
 * consumer (a real mqtt.js client) that can ack.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ConfigSchema, type Config } from '../../../config/schema.js';
import type { DeviceState } from '../../../drivers/types.js';
import { EventBus } from '../../../agent/bus.js';
import type { Clock } from '../../../agent/clock.js';
import { CommandRegistry } from '../../../agent/commands.js';
import { HostHealthSampler, hostInfo } from '../../../agent/host.js';
import { registerCountyCommands } from '../../../agent/county/commands.js';
import { signAck } from '../../../protocol/signing.js';
import { CountyLink, type CountyLinkDeps } from '../../../agent/county/link.js';
import type { CountyLinkTuning } from '../../../agent/county/timing.js';
import { EventLog } from '../../../agent/events.js';
import type { HostHealth, HostInfo } from '../../../protocol/payloads.js';
import { silentLogger } from '../../../agent/log.js';
import type { SqliteOutbox } from '../../../agent/store/sqlite-outbox.js';
import type { DurableRecord } from '../../../agent/store/outbox.js';
import { Store } from '../../../agent/store/store.js';
import { waitFor } from '../../../scripts/lib/kit/index.js';

export const systemClock: Clock = {
  now: () => new Date(),
  monotonicMs: () => performance.now(),
  quality: () => 'synced',
};

export const FAST: CountyLinkTuning = {
  keepaliveS: 2,
  connectTimeoutMs: 3_000,
  backoffBaseMs: 200,
  backoffMaxMs: 1_000,
  heartbeatMs: 300,
  ackGraceMs: 100,
  budgetCheckMs: 60_000,
};

export const FAKE_HOST: HostInfo = {
  hostname: 'test-host',
  os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', kernel: '6.1.0', arch: 'x64' },
  system: { manufacturer: 'Lenovo', model: 'M720', serial: 'PC123' },
  cpu: { model: 'Intel Core i3', cores: 4, physical_cores: 2, speed_ghz: 3.1 },
  mem_total_mb: 8000,
  disks: [{ device: '/dev/sda', type: 'SSD', model: 'Samsung 860', serial: 'S1', size_gb: 256 }],
  filesystems: [{ mount: '/', type: 'ext4', size_gb: 250 }],
  network: [{ iface: 'eth0', mac: '00:11:22:33:44:55', ip4: '192.168.1.10' }],
  serial_ports: [],
};

export const FAKE_HEALTH: HostHealth = {
  cpu_pct: 3.5,
  load_1: 0.1,
  mem_pct: 40,
  mem_available_mb: 4800,
  disk_free_mb: 100_000,
  disk_free_pct: 40,
  temperature_c: null,
  host_uptime_s: 1000,
};

export function projector(id = 'proj1', extra: Partial<DeviceState> = {}): DeviceState {
  return { id, kind: 'projector', driver: 'pjlink', online: true, power: 'off', last_seen: new Date().toISOString(), errors: [], ...extra };
}

export interface StationOptions {
  url: string;
  stationId?: string;
  county?: Record<string, unknown>;
  tuning?: CountyLinkTuning;
  devices?: DeviceState[];
  dataDir?: string;
  realHost?: boolean;
  /** What the daemon passes from its supervisor and scheduler for the inventory. */
  controls?: CountyLinkDeps['controls'];
  schedules?: CountyLinkDeps['schedules'];
}

export interface Station {
  dir: string;
  config: Config;
  store: Store;
  ledger: SqliteOutbox;
  bus: EventBus;
  registry: CommandRegistry;
  link: CountyLink;
  devices: DeviceState[];
  appendUsage(n?: number): DurableRecord[];
  close(): Promise<void>;
}

/** The station's own folder when the test gives none; close() removes it. */
function stationDir(): string {
  return mkdtempSync(join(tmpdir(), 'county-'));
}

export function writeSecret(dir: string, name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text, { mode: 0o600 });
  return f;
}

export function buildConfig(dir: string, stationId: string, county: Record<string, unknown>): Config {
  return ConfigSchema.parse({
    station: { id: stationId, name: `站点 ${stationId}`, town: '城关镇' },
    data_dir: join(dir, 'data'),
    county,
  });
}

export function makeStation(opts: StationOptions): Station {
  const dir = opts.dataDir ?? stationDir();
  const stationId = opts.stationId ?? 'village-01';
  const config = buildConfig(dir, stationId, { url: opts.url, replay_rate: 2_000, ...opts.county });
  const store = Store.open(config.data_dir);
  store.increment('agent_boot');
  const ledger = store.outbox;
  const bus = new EventBus(silentLogger);
  const registry = new CommandRegistry();
  const devices = opts.devices ?? [projector()];
  // As the daemon builds it: the store's meta table, the outbox, and the EventLog for outbox_summarised.
  const events = new EventLog({ outbox: ledger, bus, clock: systemClock, stationId, boot: () => Number(store.meta('agent_boot') ?? '0') });
  const link = new CountyLink({
    config,
    meta: store,
    outbox: ledger,
    seen: store.seenTransactions,
    events,
    bus,
    registry,
    log: silentLogger,
    clock: systemClock,
    agentVersion: '0.1.0-test',
    startedAtMs: Date.now(),
    devices: () => devices,
    ...(opts.controls ? { controls: opts.controls } : {}),
    ...(opts.schedules ? { schedules: opts.schedules } : {}),
    openSessionId: () => null,
    tuning: { ...FAST, ...opts.tuning },
    ...(opts.realHost
      ? { hostInfo: () => hostInfo(), hostHealth: ((sampler) => () => sampler.sample())(new HostHealthSampler(config.data_dir)) }
      : { hostInfo: async () => FAKE_HOST, hostHealth: async () => FAKE_HEALTH }),
  });
  registerCountyCommands(registry, link);
  let usageCount = 0;
  return {
    dir,
    config,
    store,
    ledger,
    bus,
    registry,
    link,
    devices,
    appendUsage(n = 1) {
      const out: DurableRecord[] = [];
      for (let i = 0; i < n; i++) {
        const start = new Date(Date.UTC(2026, 2, 1, 8, 0, 0) + usageCount * 3_600_000).toISOString();
        const end = new Date(Date.parse(start) + 1_800_000).toISOString();
        usageCount++;
        const rec = ledger.append('usage', 'usage', end, (seq, id, ledgerId) => ({
          v: 1,
          id,
          seq,
          ledger: ledgerId,
          station_id: stationId,
          start,
          end,
          duration_s: 1800,
          devices: [{ id: 'proj1', kind: 'projector', on_s: 1800 }],
          inputs: [{ device: 'proj1', input: '31', s: 1800 }],
          signal_s: 1700,
          trigger: 'manual',
          end_reason: 'devices_off',
          annotation: null,
          short: false,
          rule_version: 1,
          boot: 1,
          clock: 'synced',
        }));
        bus.emit('record.appended', rec);
        out.push(rec);
      }
      return out;
    },
    async close() {
      await link.stop();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Received {
  topic: string;
  payload: Record<string, unknown> | null;
  raw: string;
  retain: boolean;
  qos: number;
}

/**
 * The county side as a test needs it: subscribes to everything below the prefix, keeps what arrives,
 * stores durable records idempotently by seq and publishes the retained `ack` watermark when asked to.
 */
export class CountyConsumer {
  readonly received: Received[] = [];
  /** seq → first payload stored (the idempotent store). */
  readonly stored = new Map<number, Record<string, unknown>>();
  /** seqs in the order they first arrived. */
  readonly arrivalOrder: number[] = [];
  duplicates = 0;
  /** The ledger of the last durable record received: what the acks name (docs/mqtt.md "Ledgers"). */
  ledger: string | undefined;
  private acked = 0;

  private constructor(
    readonly client: MqttClient,
    private readonly prefix: string,
    private readonly autoAck: boolean,
    private readonly ackKey: string | undefined,
  ) {}

  /** `ackKey`: sign acks with the stations' command key (docs/mqtt.md "Ack signing"). */
  static async connect(url: string, opts: { prefix?: string; autoAck?: boolean; ackKey?: string; options?: IClientOptions } = {}): Promise<CountyConsumer> {
    const prefix = opts.prefix ?? 'stations';
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clean: true, connectTimeout: 5_000, ...opts.options });
    const c = new CountyConsumer(client, prefix, opts.autoAck ?? true, opts.ackKey);
    client.on('error', () => undefined);
    client.on('message', (topic, payload, packet) => c.onMessage(topic, payload, packet.retain, packet.qos));
    await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
    return c;
  }

  private onMessage(topic: string, payload: Buffer, retain: boolean, qos: number): void {
    const raw = payload.toString('utf8');
    let parsed: Record<string, unknown> | null = null;
    try {
      parsed = raw === '' ? null : (JSON.parse(raw) as Record<string, unknown>);
    } catch {
      parsed = null;
    }
    this.received.push({ topic, payload: parsed, raw, retain, qos });
    if ((topic.endsWith('/usage') || topic.endsWith('/events')) && parsed && typeof parsed['seq'] === 'number') {
      const seq = parsed['seq'];
      if (typeof parsed['ledger'] === 'string') this.ledger = parsed['ledger'];
      if (this.stored.has(seq)) this.duplicates++;
      else {
        this.stored.set(seq, parsed);
        this.arrivalOrder.push(seq);
      }
      if (this.autoAck) this.ackContiguous(topic.slice(0, topic.lastIndexOf('/')));
    }
  }

  /** Acks the highest seq up to which everything is stored (gaps hold the watermark back). */
  ackContiguous(base: string): void {
    let n = this.acked;
    while (this.stored.has(n + 1)) n++;
    if (n > this.acked) {
      this.acked = n;
      // Fire and forget, as a county does; an ack still in flight when the consumer closes is simply not sent.
      this.client.publish(`${base}/ack`, this.ackPayload(base.slice(base.lastIndexOf('/') + 1), n), { qos: 1, retain: true }, () => undefined);
    }
  }

  /** An ack as this county writes it: signed when it has a key. */
  ackPayload(stationId: string, seq: number, key = this.ackKey, ledger = this.ledger): string {
    const named = ledger === undefined ? {} : { ledger };
    if (key === undefined) return JSON.stringify({ seq, ...named });
    const ts = new Date().toISOString();
    return JSON.stringify({ seq, ts, ...named, sig: signAck(key, stationId, { seq, ts, ...named }) });
  }

  on(topicSuffix: string): Received[] {
    return this.received.filter((r) => r.topic.endsWith(topicSuffix));
  }

  last(topicSuffix: string): Received | undefined {
    const list = this.on(topicSuffix);
    return list[list.length - 1];
  }

  async waitFor(topicSuffix: string, pred: (r: Received) => boolean = () => true, timeoutMs = 10_000): Promise<Received> {
    return waitFor(() => this.received.find((r) => r.topic.endsWith(topicSuffix) && pred(r)), timeoutMs);
  }

  async publish(topic: string, payload: string | Buffer, opts: { retain?: boolean } = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, retain: opts.retain ?? false });
  }

  clear(): void {
    this.received.length = 0;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true).catch(() => undefined);
  }
}
