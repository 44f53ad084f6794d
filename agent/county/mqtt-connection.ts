/**
 * The county link's MQTT connection (docs/design.md §5, docs/mqtt.md): one mqtt.js client at a time, with
 * the Last Will, the secrets and TLS of `county`, a watchdog for half-open connections and a clean stop.
 *
 * Reconnects are driven here, not by mqtt.js (its fixed reconnectPeriod would make a fleet reconnect in
 * lockstep): each attempt is a fresh client, after a capped exponential backoff with full jitter. The
 * agent's own outbox makes the in-flight packets a dropped client loses harmless: they are replayed.
 *
 * What a connection carries is not decided here: the handlers (the link) publish the birth, open the
 * durable lane once subscribed, route messages and drop per-connection state when the connection ends.
 */
import { readFile } from 'node:fs/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { CountyConfig } from '../../config/schema.js';
import type { Clock } from '../clock.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { QOS1, type Connection } from './connection.js';
import { MQTT_BOOT_KEY, type LinkMeta } from './meta.js';
import { describeError } from './broker-errors.js';
import type { StatusWill } from '../../protocol/payloads.js';
import type { LinkTiming } from './timing.js';
import { backoffDelay } from '../backoff.js';

export interface ConnectionHandlers {
  /** CONNACK arrived: a new connection exists. */
  connected(): void;
  /** The broker answered the subscription (granted or not). */
  subscribed(): void;
  /** A message from the current client. */
  message(topic: string, payload: Buffer): void;
  /** Each watchdog tick while connected. */
  tick(): void;
  /** The connection ended (lost or stopped): drop its timers and state. */
  ended(): void;
}

export interface MqttConnectionDeps {
  county: CountyConfig;
  stationId: string;
  /** Where the status (online, the Will, the clean offline) is published. */
  statusTopic: string;
  /** Subscribed on every connect, QoS 1. */
  subscriptions: readonly string[];
  /** Holds the MQTT connection counter. */
  meta: LinkMeta;
  clock: Clock;
  log: Logger;
  timing: Pick<LinkTiming, 'keepaliveS' | 'connectTimeoutMs' | 'backoffBaseMs' | 'backoffMaxMs' | 'stableMs' | 'random'>;
  handlers: ConnectionHandlers;
}

export class MqttConnection implements Connection {
  private current: MqttClient | null = null;
  private isConnected = false;
  private connectionBoot = 0;
  private stopped = true;
  private attempt = 0;
  private connectedAtMs = 0;
  private lastInboundMs = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;
  private lastConnectAt: string | undefined;
  private lastErrorText: string | undefined;

  private readonly log: Logger;

  constructor(private readonly deps: MqttConnectionDeps) {
    this.log = deps.log;
  }

  get client(): MqttClient | null {
    return this.current;
  }
  get connected(): boolean {
    return this.isConnected;
  }
  get boot(): number {
    return this.connectionBoot;
  }

  refetchRetained(topic: string): void {
    const client = this.current;
    if (!client || !this.isConnected) return;
    client.subscribe(topic, QOS1, (err) => {
      if (err && client === this.current) this.log.warn({ err, topic }, 'subscribe again failed');
    });
  }
  get lastConnect(): string | undefined {
    return this.lastConnectAt;
  }
  get lastError(): string | undefined {
    return this.lastErrorText;
  }

  /** Records a problem for `status()` (cleared by the next successful connect). */
  noteError(message: string): void {
    this.lastErrorText = message;
  }

  /** Starts connecting in the background; never waits for the broker. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /**
   * Stops within 1.5 s: tells the county we are going (a clean DISCONNECT suppresses the Will, so the
   * offline status is published explicitly), then ends the client whatever the broker does.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.current;
    this.current = null;
    const wasConnected = this.isConnected;
    this.isConnected = false;
    this.endConnection();
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
      const will: StatusWill = { v: 1, online: false, station_id: this.deps.stationId, boot: this.connectionBoot, reason: 'agent_stop' };
      client.publish(this.deps.statusTopic, JSON.stringify(will), { qos: 1, retain: true }, () => {
        client.end(false, {}, finish);
      });
    });
    client.removeAllListeners();
    client.on('error', () => undefined);
  }

  private connect(): void {
    if (this.stopped) return;
    const county = this.deps.county;
    const next = Number(this.deps.meta.meta(MQTT_BOOT_KEY) ?? '0') + 1;
    void this.clientOptions(county, next).then(
      (options) => {
        if (this.stopped) return;
        const client = mqtt.connect(county.url, options);
        this.current = client;
        this.lastInboundMs = this.deps.clock.monotonicMs();
        let closed = false;
        client.on('connect', () => this.onConnect(client, next));
        client.on('message', (topic, payload) => {
          if (client === this.current) this.deps.handlers.message(topic, payload);
        });
        client.on('packetreceive', () => (this.lastInboundMs = this.deps.clock.monotonicMs()));
        client.on('error', (err) => this.onError(err));
        client.on('close', () => {
          if (closed) return;
          closed = true;
          this.onClose(client);
        });
      },
      (err: unknown) => {
        this.lastErrorText = (err as Error).message;
        this.log.error({ err }, `county link cannot connect: ${this.lastErrorText}`);
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
    const t = this.deps.timing;
    const will: StatusWill = { v: 1, online: false, station_id: this.deps.stationId, boot };
    const options: IClientOptions = {
      clientId: `station-agent-${this.deps.stationId}`,
      protocolVersion: 4,
      clean: true,
      // Reconnects are ours (backoff + jitter); resubscription happens in onConnect.
      reconnectPeriod: 0,
      resubscribe: false,
      connectTimeout: t.connectTimeoutMs,
      keepalive: t.keepaliveS,
      // Ping on a fixed rhythm even while publishing, so a half-open link is noticed by a missing PINGRESP.
      reschedulePings: false,
      queueQoSZero: false,
      // mqtt-packet otherwise builds, at the first packet it writes, a Buffer for each of the 65,536 16-bit
      // numbers (its numCache): 6.3 MB of heap on Node 22 (a heap snapshot, docs/benchmarks.md) to save a
      // 2-byte allocation per packet, a few a minute here.
      writeCache: false,
      will: { topic: this.deps.statusTopic, payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
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
    if (client !== this.current || this.stopped) return;
    // The connection counter moves only once a connection exists, so failed attempts do not inflate it.
    this.deps.meta.setMeta(MQTT_BOOT_KEY, String(boot));
    this.connectionBoot = boot;
    this.isConnected = true;
    this.connectedAtMs = this.deps.clock.monotonicMs();
    this.lastConnectAt = this.deps.clock.now().toISOString();
    this.lastErrorText = undefined;
    this.log.info({ boot, url: this.deps.county.url }, 'connected to the county broker');
    client.subscribe([...this.deps.subscriptions], QOS1, (err, granted) => {
      if (client !== this.current) return;
      if (err) this.log.error({ err }, 'subscribe failed');
      for (const g of granted ?? []) {
        if (g.qos === 128) this.log.error({ topic: g.topic }, 'broker refused the subscription (check the ACL)');
      }
      this.deps.handlers.subscribed();
    });
    this.deps.handlers.connected();
    const wd = Math.max(500, (this.deps.timing.keepaliveS * 1000) / 2);
    this.watchdogTimer = setInterval(() => this.watchdog(client), wd);
  }

  /**
   * Belt and braces over mqtt.js's own keepalive: with pings on a fixed rhythm, total inbound silence
   * for twice the keepalive means the TCP connection is half-open (NAT timeout, pulled cable upstream).
   */
  private watchdog(client: MqttClient): void {
    if (client !== this.current || !this.isConnected) return;
    const silence = this.deps.clock.monotonicMs() - this.lastInboundMs;
    if (silence > this.deps.timing.keepaliveS * 2000 + 500) {
      this.lastErrorText = `no packet from the broker for ${Math.round(silence / 1000)} s (half-open connection)`;
      this.log.warn(this.lastErrorText);
      client.end(true);
    }
    this.deps.handlers.tick();
  }

  private onError(err: Error & { code?: string | number }): void {
    this.lastErrorText = describeError(err, this.deps.county);
    // Repeated failures while the county is unreachable are expected: one line per attempt at warn.
    this.log.warn({ code: err.code }, `county link: ${this.lastErrorText}`);
  }

  private onClose(client: MqttClient): void {
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end(true);
    if (client !== this.current) return;
    this.current = null;
    const wasConnected = this.isConnected;
    this.isConnected = false;
    this.endConnection();
    if (wasConnected) {
      this.log.warn({ last_error: this.lastErrorText }, 'disconnected from the county broker');
      if (this.deps.clock.monotonicMs() - this.connectedAtMs >= this.deps.timing.stableMs) this.attempt = 0;
    }
    this.scheduleReconnect();
  }

  private endConnection(): void {
    clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
    this.deps.handlers.ended();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const t = this.deps.timing;
    const delay = backoffDelay(this.attempt, { baseMs: t.backoffBaseMs, maxMs: t.backoffMaxMs, jitter: 'full' }, t.random);
    this.attempt++;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.log.debug({ delay_ms: delay, attempt: this.attempt }, 'reconnect scheduled');
  }
}
