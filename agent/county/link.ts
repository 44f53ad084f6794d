/**
 * The county link (docs/design.md §5, docs/mqtt.md): one MQTT connection carrying a live lane (status,
 * inventory, device states, heartbeat) and a durable lane (the ledger's outbox, in seq order, QoS 1,
 * removed when the county's `ack` watermark covers it), plus county requests into the command registry.
 *
 * Reconnects are driven here, not by mqtt.js (its fixed reconnectPeriod would make a fleet reconnect in
 * lockstep): each attempt is a fresh client, after a capped exponential backoff with full jitter. The
 * agent's own outbox makes the in-flight packets a dropped client loses harmless: they are replayed.
 */
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Config, CountyConfig } from '../../config/schema.js';
import type { DeviceState } from '../../drivers/types.js';
import type { EventBus } from '../bus.js';
import type { Clock } from '../clock.js';
import type { CommandRegistry } from '../commands.js';
import { AgentError, ErrorCodes } from '../../drivers/errors.js';
import type { EventRecord } from '../events.js';
import type { Outbox, OutboxSummary, StoredRecord } from '../store/outbox.js';
import { markHistorical } from './historical.js';
import type { Store } from '../store/store.js';
import type {
  CountyResponse,
  DeviceStatePayload,
  Heartbeat,
  HostHealth,
  HostInfo,
  Inventory,
  StatusOnline,
  StatusWill,
} from './payloads.js';
import { AckSchema } from './payloads.js';
import { ReplayCache, RequestGuard } from './requests.js';
import { Topics } from './topics.js';

/** Timing knobs; production uses the defaults, tests shorten them. */
export interface CountyLinkTuning {
  /** MQTT keepalive; a missing PINGRESP after 1.5× this closes the connection. Default 30. */
  keepaliveS?: number;
  /** Give up on a CONNECT/CONNACK after this long. Default 15 000. */
  connectTimeoutMs?: number;
  /** First reconnect delay bound; doubles per failed attempt. Default 1 000. */
  backoffBaseMs?: number;
  /** Reconnect delay cap. Default 300 000 (5 min). */
  backoffMaxMs?: number;
  /** A connection that lasted this long resets the backoff. Default 30 000. */
  stableMs?: number;
  /** Overrides county.heartbeat_s. */
  heartbeatMs?: number;
  /** After connect, wait this long for the retained `ack` before replaying (avoids resending stored records). Default 300. */
  ackGraceMs?: number;
  /** Published records the county has not acked after this long are sent again (historical). Default 600 000. */
  ackTimeoutMs?: number;
  /** Durable records in flight at once. Default 32. */
  window?: number;
  /** How often the outbox disk budget is checked. Default 30 000. */
  budgetCheckMs?: number;
  /** Max county commands running at once; more get `busy`. Default 8. */
  maxConcurrentCommands?: number;
  /** Randomness for jitter (tests pin it). */
  random?: () => number;
}

export interface CountyLinkDeps {
  config: Config;
  store: Store;
  outbox: Outbox;
  bus: EventBus;
  registry: CommandRegistry;
  log: Logger;
  clock: Clock;
  agentVersion: string;
  startedAtMs: number;
  devices(): DeviceState[];
  openSessionId(): string | null;
  tuning?: CountyLinkTuning;
  /** Static host facts for the inventory (the daemon passes agent/host.ts's, gathered once per process). */
  hostInfo: () => Promise<HostInfo>;
  /** Per-heartbeat host figures (the daemon passes a HostHealthSampler on data_dir). */
  hostHealth: () => Promise<HostHealth>;
}

export interface CountyLinkStatus {
  connected: boolean;
  outbox_depth: number;
  last_connect?: string;
  last_error?: string;
}

/** Meta key of the MQTT session counter (`boot` in status and the Will). */
export const MQTT_BOOT_KEY = 'mqtt_boot';
/** Meta key of the agent start counter (`boot` in durable records), incremented by the daemon. */
export const AGENT_BOOT_KEY = 'agent_boot';
const SEEN_TX_KEY = 'county_seen_tx';

const QOS1 = { qos: 1 as const };
/** Outbox rows fetched per query by the durable lane. */
const READ_AHEAD = 64;

export class CountyLink {
  private readonly county: CountyConfig | undefined;
  private readonly topics: Topics | undefined;
  private readonly log: Logger;
  private readonly t: Required<Omit<CountyLinkTuning, 'heartbeatMs'>> & { heartbeatMs: number };
  private client: MqttClient | null = null;
  private connected = false;
  private stopped = true;
  private attempt = 0;
  private connectedAtMs = 0;
  private lastConnect: string | undefined;
  private lastError: string | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private laneTimer: NodeJS.Timeout | undefined;
  private budgetTimer: NodeJS.Timeout | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;
  private lastInboundMs = 0;
  private boot = 0;
  private guard: RequestGuard | undefined;
  private readonly replay = new ReplayCache();
  private runningCommands = 0;
  private publishedIdentity = '';
  private budgetWarned = false;
  private droppedRequestLogs = 0;
  private requestLogWindowStart = 0;
  private requestLogsInWindow = 0;

  // Durable lane state, reset on every connect.
  private laneOpen = false;
  private cursor = 0;
  /** Outbox rows read ahead of the cursor, not yet sent. */
  private ahead: StoredRecord[] = [];
  private highestSent = 0;
  private backlogBelow = 0;
  private readonly inflight = new Set<number>();
  private tokens = 0;
  private tokensAtMs = 0;
  private lastAckProgressMs = 0;
  private resend: { next: number; until: number } | null = null;
  // Ledger writes are batched: with synchronous=FULL each transaction is an fsync, and one per PUBACK
  // or per ack message would cap a replay at the disk's fsync rate.
  private pubackedSeqs: number[] = [];
  private pendingAck: number | null = null;
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: CountyLinkDeps) {
    this.county = deps.config.county;
    this.topics = this.county ? new Topics(this.county.topic_prefix, deps.config.station.id) : undefined;
    // The daemon may already pass a child({component}); do not bind the key twice.
    this.log = deps.log.bindings()['component'] ? deps.log : deps.log.child({ component: 'county' });
    const tu = deps.tuning ?? {};
    this.t = {
      keepaliveS: tu.keepaliveS ?? 30,
      connectTimeoutMs: tu.connectTimeoutMs ?? 15_000,
      backoffBaseMs: tu.backoffBaseMs ?? 1_000,
      backoffMaxMs: tu.backoffMaxMs ?? 300_000,
      stableMs: tu.stableMs ?? 30_000,
      heartbeatMs: tu.heartbeatMs ?? (this.county?.heartbeat_s ?? 60) * 1000,
      ackGraceMs: tu.ackGraceMs ?? 300,
      ackTimeoutMs: tu.ackTimeoutMs ?? 600_000,
      window: tu.window ?? 32,
      budgetCheckMs: tu.budgetCheckMs ?? 30_000,
      maxConcurrentCommands: tu.maxConcurrentCommands ?? 8,
      random: tu.random ?? Math.random,
    };
  }

  /** Starts connecting in the background; never waits for the broker. */
  async start(): Promise<void> {
    if (!this.county || !this.topics) {
      this.log.info('no county section in the config: county reporting is off');
      return;
    }
    if (!this.stopped) return;
    this.stopped = false;
    let key: Buffer | undefined;
    if (this.county.command_key_file) {
      try {
        key = Buffer.from((await readFile(this.county.command_key_file, 'utf8')).trim(), 'utf8');
      } catch (err) {
        // Fail closed: without the key no county command may run, but reporting still works.
        this.lastError = `cannot read county.command_key_file ${this.county.command_key_file}: ${(err as Error).message}`;
        this.log.error({ err }, this.lastError);
        key = undefined;
      }
      if (key !== undefined && key.length < 16) {
        this.log.warn('county.command_key_file holds fewer than 16 bytes: use a longer random key');
      }
    }
    const allowed = this.county.command_key_file && key === undefined ? [] : this.county.allowed_commands;
    this.guard = new RequestGuard({
      stationId: this.deps.config.station.id,
      allowed,
      ...(key ? { key } : {}),
      nowMs: () => this.deps.clock.now().getTime(),
      replay: this.replay,
    });
    try {
      this.replay.load(JSON.parse(this.deps.store.meta(SEEN_TX_KEY) ?? '[]'), this.deps.clock.now().getTime());
    } catch {
      /* a damaged cache only weakens replay protection for five minutes */
    }
    this.deps.bus.on('device.state', this, (state, previous) => this.onDeviceState(state, previous));
    this.deps.bus.on('record.appended', this, () => this.pump());
    this.budgetTimer = setInterval(() => this.enforceBudget(), this.t.budgetCheckMs);
    this.budgetTimer.unref();
    this.enforceBudget();
    this.connect();
  }

  /**
   * Stops within ~2 s: tells the county we are going (a clean DISCONNECT suppresses the Will, so the
   * offline status is published explicitly), then ends the client whatever the broker does.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.bus.removeAll(this);
    for (const t of [this.reconnectTimer, this.budgetTimer]) clearTimeout(t);
    this.reconnectTimer = undefined;
    this.budgetTimer = undefined;
    this.stopSessionTimers();
    const client = this.client;
    this.client = null;
    const wasConnected = this.connected;
    this.connected = false;
    if (!client) return;
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(hard);
        client.end(true);
        resolve();
      };
      const hard = setTimeout(finish, 1_500);
      if (!wasConnected) return finish();
      const will: StatusWill = { v: 1, online: false, station_id: this.deps.config.station.id, boot: this.boot, reason: 'agent_stop' };
      client.publish(this.topics!.status, JSON.stringify(will), { qos: 1, retain: true }, () => {
        client.end(false, {}, finish);
      });
    });
    client.removeAllListeners();
    client.on('error', () => undefined);
  }

  status(): CountyLinkStatus {
    return {
      connected: this.connected,
      outbox_depth: this.deps.outbox.depth().count,
      ...(this.lastConnect ? { last_connect: this.lastConnect } : {}),
      ...(this.lastError ? { last_error: this.lastError } : {}),
    };
  }

  // ---------------------------------------------------------------- connection

  private connect(): void {
    if (this.stopped || !this.county || !this.topics) return;
    const county = this.county;
    const next = Number(this.deps.store.meta(MQTT_BOOT_KEY) ?? '0') + 1;
    void this.clientOptions(county, next).then(
      (options) => {
        if (this.stopped) return;
        const client = mqtt.connect(county.url, options);
        this.client = client;
        this.lastInboundMs = Date.now();
        let closed = false;
        client.on('connect', () => this.onConnect(client, next));
        client.on('message', (topic, payload) => this.onMessage(client, topic, payload));
        client.on('packetreceive', () => (this.lastInboundMs = Date.now()));
        client.on('error', (err) => this.onError(err));
        client.on('close', () => {
          if (closed) return;
          closed = true;
          this.onClose(client);
        });
      },
      (err: unknown) => {
        this.lastError = (err as Error).message;
        this.log.error({ err }, `county link cannot connect: ${this.lastError}`);
        this.scheduleReconnect();
      },
    );
  }

  private async clientOptions(county: CountyConfig, boot: number): Promise<IClientOptions> {
    const readSecret = async (file: string, what: string): Promise<Buffer> => {
      try {
        return await readFile(file);
      } catch (err) {
        throw new AgentError(ErrorCodes.county_config, `cannot read county.${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
    };
    const will: StatusWill = { v: 1, online: false, station_id: this.deps.config.station.id, boot };
    const options: IClientOptions = {
      clientId: `station-agent-${this.deps.config.station.id}`,
      protocolVersion: 4,
      clean: true,
      // Reconnects are ours (backoff + jitter); resubscription happens in onConnect.
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: this.t.connectTimeoutMs,
      keepalive: this.t.keepaliveS,
      // Ping on a fixed rhythm even while publishing, so a half-open link is noticed by a missing PINGRESP.
      reschedulePings: false,
      queueQoSZero: false,
      will: { topic: this.topics!.status, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    };
    if (county.username) options.username = county.username;
    if (county.password_file) options.password = (await readSecret(county.password_file, 'password_file')).toString('utf8').trim();
    if (county.url.startsWith('mqtts://')) {
      options.rejectUnauthorized = true;
      if (county.ca_file) options.ca = await readSecret(county.ca_file, 'ca_file');
      if (county.cert_file) options.cert = await readSecret(county.cert_file, 'cert_file');
      if (county.key_file) options.key = await readSecret(county.key_file, 'key_file');
    }
    return options;
  }

  private onConnect(client: MqttClient, boot: number): void {
    if (client !== this.client || this.stopped) return;
    // The session counter moves only once a session exists, so failed attempts do not inflate it.
    this.deps.store.setMeta(MQTT_BOOT_KEY, String(boot));
    this.boot = boot;
    this.connected = true;
    this.connectedAtMs = Date.now();
    this.lastConnect = this.deps.clock.now().toISOString();
    this.lastError = undefined;
    this.log.info({ boot, url: this.county!.url }, 'connected to the county broker');
    const topics = this.topics!;
    client.subscribe([topics.ack, topics.requestFilter], QOS1, (err, granted) => {
      if (client !== this.client) return;
      if (err) this.log.error({ err }, 'subscribe failed');
      for (const g of granted ?? []) {
        if (g.qos === 128) this.log.error({ topic: g.topic }, 'broker refused the subscription (check the ACL)');
      }
      // The retained ack arrives right after SUBACK; give it a moment so stored records are not resent.
      this.laneTimer = setTimeout(() => this.openLane(), this.t.ackGraceMs);
    });
    this.publishStatus();
    void this.publishInventory();
    for (const d of this.deps.devices()) this.publishState(d);
    void this.publishHeartbeat();
    this.heartbeatTimer = setInterval(() => void this.publishHeartbeat(), this.t.heartbeatMs);
    const wd = Math.max(500, (this.t.keepaliveS * 1000) / 2);
    this.watchdogTimer = setInterval(() => this.watchdog(client), wd);
  }

  /**
   * Belt and braces over mqtt.js's own keepalive: with pings on a fixed rhythm, total inbound silence
   * for twice the keepalive means the TCP connection is half-open (NAT timeout, pulled cable upstream).
   */
  private watchdog(client: MqttClient): void {
    if (client !== this.client || !this.connected) return;
    const silence = Date.now() - this.lastInboundMs;
    if (silence > this.t.keepaliveS * 2000 + 500) {
      this.lastError = `no packet from the broker for ${Math.round(silence / 1000)} s (half-open connection)`;
      this.log.warn(this.lastError);
      client.end(true);
    }
    if (this.laneOpen && this.county!.require_ack) this.checkAckTimeout();
  }

  private onError(err: Error & { code?: string | number }): void {
    this.lastError = describeError(err, this.county);
    // Repeated failures while the county is unreachable are expected: one line per attempt at warn.
    this.log.warn({ code: err.code }, `county link: ${this.lastError}`);
  }

  private onClose(client: MqttClient): void {
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end(true);
    if (client !== this.client) return;
    this.client = null;
    const wasConnected = this.connected;
    this.connected = false;
    this.stopSessionTimers();
    if (wasConnected) {
      this.log.warn({ last_error: this.lastError }, 'disconnected from the county broker');
      if (Date.now() - this.connectedAtMs >= this.t.stableMs) this.attempt = 0;
    }
    this.scheduleReconnect();
  }

  private stopSessionTimers(): void {
    if (this.flushTimer) this.flush();
    for (const t of [this.heartbeatTimer, this.watchdogTimer, this.laneTimer, this.inventoryTimer]) {
      clearTimeout(t);
      clearInterval(t);
    }
    this.heartbeatTimer = this.watchdogTimer = this.laneTimer = this.inventoryTimer = undefined;
    this.laneOpen = false;
    this.inflight.clear();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = reconnectDelay(this.attempt, this.t.backoffBaseMs, this.t.backoffMaxMs, this.t.random);
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.log.debug({ delay_ms: delay, attempt: this.attempt }, 'reconnect scheduled');
  }

  // ---------------------------------------------------------------- live lane

  private envelope(): { ts: string; clock: 'synced' | 'unsynced' } {
    return { ts: this.deps.clock.now().toISOString(), clock: this.deps.clock.quality() };
  }

  private agentBoot(): number {
    return Number(this.deps.store.meta(AGENT_BOOT_KEY) ?? '0');
  }

  private publish(topic: string, payload: unknown, opts: { qos: 0 | 1; retain?: boolean }, cb?: (err?: Error) => void): boolean {
    const client = this.client;
    if (!client || !this.connected) return false;
    client.publish(topic, JSON.stringify(payload), { qos: opts.qos, retain: opts.retain ?? false }, (err) => cb?.(err ?? undefined));
    return true;
  }

  private publishStatus(): boolean {
    const payload: StatusOnline = {
      v: 1,
      online: true,
      station_id: this.deps.config.station.id,
      boot: this.boot,
      agent_boot: this.agentBoot(),
      agent_version: this.deps.agentVersion,
      started_at: new Date(this.deps.startedAtMs).toISOString(),
      ...this.envelope(),
    };
    return this.publish(this.topics!.status, payload, { qos: 1, retain: true });
  }

  /** Builds the inventory payload (also used by `stationctl inventory` through the control socket). */
  async inventory(): Promise<Inventory> {
    const s = this.deps.config.station;
    const host = await this.deps.hostInfo();
    const names = new Map(this.deps.config.devices.map((d) => [d.id, d.name ?? null]));
    return {
      v: 1,
      station: { id: s.id, name: s.name, town: s.town ?? null, county: s.county ?? null, level: s.level, timezone: s.timezone },
      agent: { version: this.deps.agentVersion, agent_boot: this.agentBoot(), started_at: new Date(this.deps.startedAtMs).toISOString() },
      host,
      devices: this.deps.devices().map((d) => ({
        id: d.id,
        name: names.get(d.id) ?? null,
        kind: d.kind,
        driver: d.driver,
        online: d.online,
        manufacturer: d.manufacturer ?? null,
        model: d.model ?? null,
        serial_number: d.serial_number ?? null,
        firmware: d.firmware ?? null,
      })),
      ...this.envelope(),
    };
  }

  private identity(devices: DeviceState[]): string {
    return JSON.stringify(devices.map((d) => [d.id, d.kind, d.driver, d.manufacturer ?? null, d.model ?? null, d.serial_number ?? null, d.firmware ?? null]));
  }

  private async publishInventory(): Promise<boolean> {
    const client = this.client;
    try {
      const inv = await this.inventory();
      if (client !== this.client) return false;
      this.publishedIdentity = this.identity(this.deps.devices());
      return this.publish(this.topics!.inventory, inv, { qos: 1, retain: true });
    } catch (err) {
      this.log.error({ err }, 'cannot build the inventory');
      return false;
    }
  }

  private publishState(state: DeviceState): boolean {
    let topic: string;
    try {
      topic = this.topics!.deviceState(state.id);
    } catch (err) {
      this.log.error({ err, device: state.id }, 'device id unusable in a topic');
      return false;
    }
    const payload: DeviceStatePayload = { ...state, v: 1, ...this.envelope() } as DeviceStatePayload;
    return this.publish(topic, payload, { qos: 1, retain: true });
  }

  private onDeviceState(state: DeviceState, _previous: DeviceState | undefined): void {
    if (!this.connected) return;
    this.publishState(state);
    // Identity (model, serial, firmware) is learnt when a device first answers: refresh the survey row,
    // debounced so a supervisor opening five devices at once publishes one inventory.
    if (this.identity(this.deps.devices()) !== this.publishedIdentity && !this.inventoryTimer) {
      this.inventoryTimer = setTimeout(() => {
        this.inventoryTimer = undefined;
        void this.publishInventory();
      }, 1_000);
    }
  }

  private async publishHeartbeat(): Promise<void> {
    const client = this.client;
    let host: HostHealth;
    try {
      host = await this.deps.hostHealth();
    } catch (err) {
      this.log.warn({ err }, 'host health unavailable');
      return;
    }
    if (client !== this.client || !this.connected) return;
    const devices = this.deps.devices();
    const depth = this.deps.outbox.depth();
    const payload: Heartbeat = {
      v: 1,
      ...this.envelope(),
      clock_offset_ms: null,
      boot: this.boot,
      uptime_s: Math.max(0, Math.floor((Date.now() - this.deps.startedAtMs) / 1000)),
      agent: agentMemory(),
      host,
      devices: {
        total: devices.length,
        online: devices.filter((d) => d.online).length,
        on: devices.filter((d) => d.power === 'on' || d.power === 'warming').length,
        faults: devices.filter((d) => d.errors.length > 0).length,
        list: devices.map((d) => ({ id: d.id, online: d.online, power: d.power })),
      },
      outbox: { depth: depth.count, first_seq: depth.first_seq, oldest_ts: depth.oldest_ts, last_seq: this.deps.outbox.lastSeq() },
      open_session: this.deps.openSessionId(),
    };
    this.publish(this.topics!.heartbeat, payload, { qos: 0 });
  }

  /** `rebirth`: republish status, inventory and every device state. */
  async rebirth(): Promise<{ published: number }> {
    if (!this.connected) throw new AgentError(ErrorCodes.disconnected, 'not connected to the county broker', { retryable: true });
    let n = 0;
    if (this.publishStatus()) n++;
    if (await this.publishInventory()) n++;
    for (const d of this.deps.devices()) if (this.publishState(d)) n++;
    return { published: n };
  }

  // ---------------------------------------------------------------- durable lane

  private openLane(): void {
    this.laneTimer = undefined;
    if (!this.connected) return;
    this.laneOpen = true;
    this.cursor = 0;
    this.ahead = [];
    this.highestSent = 0;
    // Everything already in the ledger at (re)connect is backlog: replayed as historical, rate-limited.
    this.backlogBelow = this.deps.outbox.lastSeq() + 1;
    this.tokens = 0;
    this.tokensAtMs = Date.now();
    this.lastAckProgressMs = Date.now();
    this.pump();
  }

  private takeToken(): number {
    const rate = this.county!.replay_rate;
    const now = Date.now();
    // A burst of at most a tenth of a second keeps live traffic from queueing behind the replay.
    this.tokens = Math.min(Math.max(1, rate / 10), this.tokens + ((now - this.tokensAtMs) / 1000) * rate);
    this.tokensAtMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / rate) * 1000);
  }

  /** Sends what the window and the replay rate allow; called on connect, append, PUBACK, ack and timers. */
  private pump(): void {
    if (!this.laneOpen || !this.connected || this.stopped) return;
    const client = this.client!;
    while (this.inflight.size < this.t.window) {
      // A window of rows per query: one SELECT per record made a long backlog cost a query per publish.
      if (this.ahead.length === 0) this.ahead = this.deps.outbox.pending(this.cursor, READ_AHEAD);
      let next: StoredRecord | undefined = this.ahead[0];
      let resend = false;
      if (!next && this.resend) {
        const [rec] = this.deps.outbox.stored(this.resend.next, this.resend.until, 1);
        if (!rec) {
          this.log.info({ until: this.resend.until }, 'sessions.resend finished');
          this.resend = null;
          return;
        }
        next = rec;
        resend = true;
      }
      if (!next) return;
      const historical = resend || next.seq < this.backlogBelow || next.seq <= this.highestSent;
      if (historical) {
        const wait = this.takeToken();
        if (wait > 0) {
          if (!this.laneTimer) {
            this.laneTimer = setTimeout(() => {
              this.laneTimer = undefined;
              this.pump();
            }, wait);
          }
          return;
        }
      }
      const seq = next.seq;
      if (resend) this.resend!.next = seq + 1;
      else {
        this.ahead.shift();
        this.cursor = seq;
        this.highestSent = Math.max(this.highestSent, seq);
      }
      const key = resend ? -seq : seq;
      this.inflight.add(key);
      client.publish(this.topics!.stream(next.stream), historical ? markHistorical(next.text) : next.text, QOS1, (err) => {
        if (client !== this.client) return;
        this.inflight.delete(key);
        if (!err && !resend) {
          this.pubackedSeqs.push(seq);
          this.scheduleFlush();
        }
        this.pump();
      });
    }
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => this.flush(), 25);
  }

  /** Applies batched PUBACKs and the latest county ack in one go each. */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    try {
      const seqs = this.pubackedSeqs;
      this.pubackedSeqs = [];
      this.deps.outbox.markPublished(seqs, !this.county!.require_ack);
      const ack = this.pendingAck;
      this.pendingAck = null;
      if (ack !== null) this.applyAck(ack);
    } catch (err) {
      this.log.error({ err }, 'cannot record delivery in the ledger');
    }
    this.pump();
  }

  private onAck(raw: Buffer): void {
    let seq: number;
    try {
      const parsed = AckSchema.safeParse(JSON.parse(raw.toString('utf8')));
      if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'invalid');
      seq = parsed.data.seq;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ignoring a malformed ack');
      return;
    }
    // A county acking per message sends hundreds of acks during a replay; only the highest matters.
    this.pendingAck = Math.max(this.pendingAck ?? 0, seq);
    this.scheduleFlush();
  }

  private applyAck(seq: number): void {
    const last = this.deps.outbox.lastSeq();
    if (seq > last) {
      // The county has stored seqs this database never issued: it was restored or replaced. Jump past
      // them so no new record reuses a stored (station_id, seq) and gets dropped as a duplicate.
      this.deps.outbox.advanceSeqPast(seq);
      this.log.warn({ ack: seq, last_seq: last }, 'county acknowledged seqs this station never issued; seq counter advanced');
    }
    const n = this.deps.outbox.ackUpTo(seq);
    if (n > 0) {
      this.lastAckProgressMs = Date.now();
      this.log.debug({ ack: seq, removed: n }, 'county ack');
    }
  }

  /** Published records that stay unacked (the county's consumer was away) are sent again. */
  private checkAckTimeout(): void {
    if (this.inflight.size > 0) return;
    const { first_seq } = this.deps.outbox.depth();
    if (first_seq === null || first_seq > this.cursor) {
      this.lastAckProgressMs = Date.now();
      return;
    }
    if (Date.now() - this.lastAckProgressMs < this.t.ackTimeoutMs) return;
    this.log.warn({ from_seq: first_seq }, 'no county ack in time; sending unacknowledged records again');
    this.lastAckProgressMs = Date.now();
    this.cursor = first_seq - 1;
    this.ahead = [];
    this.pump();
  }

  /** `sessions.resend`: republish stored records from `fromSeq` (acked or not) as historical. */
  resendFrom(fromSeq: number, toSeq?: number): { from_seq: number; to_seq: number; count: number } {
    const last = this.deps.outbox.lastSeq();
    const until = Math.min(toSeq ?? last, last);
    const count = until >= fromSeq ? this.deps.outbox.countStored(fromSeq, until) : 0;
    if (count > 0) {
      this.resend = { next: fromSeq, until };
      this.pump();
    }
    return { from_seq: fromSeq, to_seq: until, count };
  }

  private enforceBudget(): void {
    if (!this.county) return;
    const maxBytes = this.county.outbox_max_mb * 2 ** 20;
    let summary: OutboxSummary | null;
    try {
      summary = this.deps.outbox.summarise(maxBytes);
    } catch (err) {
      this.log.error({ err }, 'outbox budget check failed');
      return;
    }
    if (summary) {
      this.ahead = []; // rows read ahead may be among the ones just summarised
      this.log.warn({ removed: summary.removed, bytes_freed: summary.bytes_freed }, 'outbox over budget: low-priority events summarised');
      const ts = this.deps.clock.now().toISOString();
      const record = this.deps.outbox.append('events', 'outbox_summarised', ts, (seq, id) => {
        const ev: EventRecord = {
          v: 1,
          seq,
          id,
          station_id: this.deps.config.station.id,
          ts,
          clock: this.deps.clock.quality(),
          type: 'outbox_summarised',
          severity: 'warning',
          message: `outbox over ${this.county!.outbox_max_mb} MB: ${summary!.removed} unsent events summarised`,
          data: { ...summary },
          boot: this.agentBoot(),
        };
        return ev;
      });
      this.deps.bus.emit('record.appended', record);
    }
    const bytes = this.deps.outbox.bytes();
    if (bytes > maxBytes && !this.budgetWarned) {
      this.budgetWarned = true;
      this.log.warn({ outbox_bytes: bytes }, 'outbox over budget with usage records only: they are never evicted');
    } else if (bytes <= maxBytes) this.budgetWarned = false;
  }

  // ---------------------------------------------------------------- county requests

  private onMessage(client: MqttClient, topic: string, payload: Buffer): void {
    if (client !== this.client) return;
    try {
      if (topic === this.topics!.ack) return this.onAck(payload);
      const action = this.topics!.requestAction(topic);
      if (action !== undefined) return this.onRequest(action, payload);
    } catch (err) {
      this.log.error({ err, topic }, 'failed to handle a county message');
    }
  }

  private logRequestProblem(fields: Record<string, unknown>, msg: string): void {
    // A flood of bad requests must not flood the journal: at most 20 lines a minute, then a count.
    const now = Date.now();
    if (now - this.requestLogWindowStart > 60_000) {
      if (this.droppedRequestLogs > 0) this.log.warn({ suppressed: this.droppedRequestLogs }, 'county request problems not logged individually');
      this.requestLogWindowStart = now;
      this.requestLogsInWindow = 0;
      this.droppedRequestLogs = 0;
    }
    if (this.requestLogsInWindow++ < 20) this.log.warn(fields, msg);
    else this.droppedRequestLogs++;
  }

  private onRequest(action: string, raw: Buffer): void {
    const verdict = this.guard!.check(action, raw);
    if (!verdict.ok) {
      this.logRequestProblem({ action, transaction: verdict.transaction, code: verdict.code }, `county request refused: ${verdict.message}`);
      if (verdict.transaction !== null) {
        this.respond(action, { transaction: verdict.transaction, status: 'error', error: { code: verdict.code, message: verdict.message } });
      }
      return;
    }
    this.persistSeen();
    if (this.runningCommands >= this.t.maxConcurrentCommands) {
      this.respond(action, { transaction: verdict.transaction, status: 'error', error: { code: ErrorCodes.busy, message: 'too many county commands running' } });
      return;
    }
    this.runningCommands++;
    this.log.info({ action, transaction: verdict.transaction }, 'county request');
    void this.deps.registry
      .invoke(action, verdict.args, { source: 'county', transaction: verdict.transaction })
      .then((result) => {
        if (result.status === 'ok') this.respond(action, { transaction: verdict.transaction, status: 'ok', data: result.data });
        else {
          this.log.warn({ action, transaction: verdict.transaction, error: result.error }, 'county request failed');
          this.respond(action, { transaction: verdict.transaction, status: 'error', error: result.error });
        }
      })
      .finally(() => this.runningCommands--);
  }

  private persistSeen(): void {
    try {
      this.deps.store.setMeta(SEEN_TX_KEY, JSON.stringify(this.replay.dump(this.deps.clock.now().getTime())));
    } catch (err) {
      this.log.warn({ err }, 'cannot persist the replay cache');
    }
  }

  private respond(action: string, body: Omit<CountyResponse, 'v' | 'ts' | 'clock'>): void {
    const payload: CountyResponse = { v: 1, ...body, ...this.envelope() };
    let text: string;
    try {
      text = JSON.stringify(payload);
    } catch (err) {
      text = JSON.stringify({ v: 1, transaction: body.transaction, status: 'error', error: { code: ErrorCodes.internal, message: `result not serialisable: ${(err as Error).message}` }, ...this.envelope() });
    }
    if (!this.client || !this.connected) return;
    this.client.publish(this.topics!.response(action), text, QOS1);
  }

  /** `diag.run`: host health, devices and the outbox, for a county technician. */
  async diagnostics(): Promise<Record<string, unknown>> {
    const health = await this.deps.hostHealth();
    return {
      station_id: this.deps.config.station.id,
      agent: { version: this.deps.agentVersion, uptime_s: Math.floor((Date.now() - this.deps.startedAtMs) / 1000), agent_boot: this.agentBoot(), mqtt_boot: this.boot },
      clock: { now: this.deps.clock.now().toISOString(), state: this.deps.clock.quality() },
      host: health,
      devices: this.deps.devices(),
      open_session: this.deps.openSessionId(),
      outbox: { ...this.deps.outbox.depth(), bytes: this.deps.outbox.bytes(), next_seq: this.deps.outbox.lastSeq() + 1, in_flight: this.inflight.size },
      county: this.status(),
    };
  }
}

/**
 * Full jitter over a capped exponential bound (attempt 0 → up to base, then 2×, 4× … up to max), so a
 * fleet that lost the broker together spreads its reconnects over the whole window instead of arriving
 * in lockstep. Never below 100 ms, so a broker refusing instantly is not hammered.
 */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const bound = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.max(Math.min(100, bound), Math.round(random() * bound));
}

/** One readable line for the errors a technician will meet (wrong CA, bad password, refused port …). */
/** The agent's own memory in MB (one syscall and a V8 call: nothing spawned, nothing allocated to speak of). */
function agentMemory(): { rss_mb: number; heap_used_mb: number } {
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  return { rss_mb: mb(process.memoryUsage.rss()), heap_used_mb: mb(process.memoryUsage().heapUsed) };
}

export function describeError(err: Error & { code?: string | number }, county?: CountyConfig): string {
  const code = typeof err.code === 'string' ? err.code : undefined;
  const url = county?.url ?? 'broker';
  switch (code) {
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return `TLS: the broker's certificate is not signed by county.ca_file${county?.ca_file ? ` (${county.ca_file})` : ''}: ${err.message} [${code}]`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `TLS: the broker's certificate is expired or not yet valid (check the station clock): ${err.message} [${code}]`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS: the broker's certificate does not name the host in county.url (${url}): ${err.message}`;
    case 'ECONNREFUSED':
      return `connection refused by ${url} (broker down or wrong port)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host of ${url} (DNS)`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${url} (${code}): network down?`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection to ${url} reset (${code})`;
  }
  if (typeof err.code === 'number') {
    // CONNACK return codes of MQTT 3.1.1 §3.2.2.3.
    if (err.code === 4) return 'broker refused the login: bad county.username or password_file';
    // mosquitto answers 5 for a wrong password too.
    if (err.code === 5) return 'broker refused the login: not authorised (check county.username and county.password_file against the broker)';
    if (err.code === 2) return 'broker refused the client id';
  }
  return err.message;
}

const ResendArgs = z
  .object({
    from_seq: z.number().int().positive(),
    to_seq: z.number().int().positive().optional(),
  })
  .strict()
  .refine((a) => a.to_seq === undefined || a.to_seq >= a.from_seq, { message: 'to_seq must be >= from_seq', path: ['to_seq'] });

/**
 * Registers the county-side commands: `rebirth`, `sessions.resend`, `diag.run`. They go through the same
 * registry as stationctl's, so the county still needs them in `county.allowed_commands`.
 */
export function registerCountyCommands(registry: CommandRegistry, link: CountyLink): void {
  registry.register({
    name: 'rebirth',
    description: 'Republish status, inventory and every device state to the county',
    args: z.object({}).strict(),
    readOnly: true,
    handler: () => link.rebirth(),
  });
  registry.register({
    name: 'sessions.resend',
    description: 'Republish stored durable records (usage and events) from from_seq on, marked historical',
    args: ResendArgs,
    readOnly: true,
    handler: (args) => link.resendFrom(args.from_seq, args.to_seq),
  });
  registry.register({
    name: 'diag.run',
    description: 'Host health, device states and outbox summary',
    args: z.object({}).strict(),
    readOnly: true,
    handler: () => link.diagnostics(),
  });
}
