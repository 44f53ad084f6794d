/**
 * The county link (docs/design.md §5, docs/mqtt.md): one MQTT connection carrying a live lane (status,
 * inventory, device states, heartbeat) and a durable lane (the outbox, in seq order, QoS 1, removed when
 * the county's `ack` watermark covers it), plus county requests into the command registry.
 *
 * This file only wires the parts, each with one job:
 *   mqtt-connection.ts the MQTT connection: connect, Will, backoff, half-open watchdog, clean stop
 *   live-lane.ts       status, inventory, device states, heartbeat, rebirth, diagnostics
 *   durable-lane.ts    the outbox's records, acks, resend; per connection a Delivery (delivery.ts):
 *                      window, replay pacing, batched PUBACKs and acks
 *   outbox-budget.ts   the outbox's disk budget (`county.outbox_max_mb`)
 *   admission.ts       county requests: guard (requests.ts), concurrency limit, responses
 * and offers what the daemon needs: start/stop, status, and the targets of the county commands
 * (commands.ts). The parts see each other only through these wires and the MQTT Connection.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { DeviceState } from '../../drivers/types.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { EventBus } from '../bus.js';
import type { Clock } from '../clock.js';
import type { CommandRegistry } from '../commands.js';
import type { Outbox } from '../store/outbox.js';
import { RequestAdmission } from './admission.js';
import { loadCommandKey } from './command-key.js';
import { DurableLane } from './durable-lane.js';
import { LiveLane } from './live-lane.js';
import type { LinkMeta } from './meta.js';
import type { DeviceControls } from '../../protocol/device-controls.js';
import type { HostHealth, HostInfo, InventorySchedule } from '../../protocol/payloads.js';
import type { SeenTransactions } from './requests.js';
import { MqttConnection } from './mqtt-connection.js';
import { OutboxBudget, type SummaryEvent } from './outbox-budget.js';
import { resolveTiming, type CountyLinkTuning, type LinkTiming } from './timing.js';
import { Topics } from '../../protocol/topics.js';

export interface CountyLinkDeps {
  /** Must have a `county` section. */
  config: Config;
  /** The store's meta table: the MQTT connection counter, `agent_boot`. */
  meta: LinkMeta;
  outbox: Outbox;
  /** The store's seen-transaction table: the replay cache of county requests. */
  seen: SeenTransactions;
  /** Records the `outbox_summarised` event (the daemon's EventLog). */
  events: { append(event: SummaryEvent): unknown };
  bus: EventBus;
  registry: CommandRegistry;
  log: Logger;
  clock: Clock;
  agentVersion: string;
  startedAtMs: number;
  devices(): DeviceState[];
  /** What each device takes and the installed schedules, for the inventory (docs/mqtt.md "inventory"). */
  controls?(id: string): DeviceControls | undefined;
  schedules?(): { list: InventorySchedule[]; more: number };
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

export class CountyLink {
  readonly timing: LinkTiming;
  private readonly topics: Topics;
  private readonly log: Logger;
  private readonly connection: MqttConnection;
  private readonly live: LiveLane;
  private readonly durable: DurableLane;
  private readonly budget: OutboxBudget;
  private readonly admission: RequestAdmission;
  private running = false;

  constructor(private readonly deps: CountyLinkDeps) {
    const county = deps.config.county;
    if (!county) throw new AgentError(ErrorCodes.county_config, 'the county link needs a county section in the config');
    const stationId = deps.config.station.id;
    const topics = new Topics(county.topic_prefix, stationId);
    this.topics = topics;
    // The daemon may already pass a child({component}); do not bind the key twice.
    const log = deps.log.bindings()['component'] ? deps.log : deps.log.child({ component: 'county' });
    this.log = log;
    const timing = resolveTiming(deps.tuning, county.heartbeat_s);
    this.timing = timing;
    this.connection = new MqttConnection({
      county,
      stationId,
      statusTopic: topics.status,
      subscriptions: [topics.ack, topics.requestFilter],
      meta: deps.meta,
      clock: deps.clock,
      log,
      timing,
      handlers: {
        connected: () => {
          this.durable.connected();
          this.live.birth();
        },
        subscribed: () => this.durable.subscribed(),
        message: (topic, payload) => this.route(topic, payload),
        tick: () => this.durable.tick(),
        ended: () => {
          this.durable.connectionEnded();
          this.live.connectionEnded();
        },
      },
    });
    const connection = this.connection;
    this.live = new LiveLane({
      config: deps.config,
      topics,
      connection,
      meta: deps.meta,
      outbox: deps.outbox,
      clock: deps.clock,
      log,
      agentVersion: deps.agentVersion,
      startedAtMs: deps.startedAtMs,
      devices: () => deps.devices(),
      controls: (id) => deps.controls?.(id),
      schedules: deps.schedules && (() => deps.schedules!()),
      openSessionId: () => deps.openSessionId(),
      hostInfo: deps.hostInfo,
      hostHealth: deps.hostHealth,
      heartbeatMs: timing.heartbeatMs,
    });
    this.durable = new DurableLane({
      stationId,
      outbox: deps.outbox,
      topics,
      connection,
      log,
      clock: deps.clock,
      requireAck: county.require_ack,
      replayRate: county.replay_rate,
      timing,
    });
    this.budget = new OutboxBudget({
      outbox: deps.outbox,
      log,
      outboxMaxMb: county.outbox_max_mb,
      checkEveryMs: timing.budgetCheckMs,
      events: deps.events,
      // Rows the delivery read ahead may be among the ones just summarised.
      summarised: () => this.durable.forgetReadAhead(),
    });
    this.admission = new RequestAdmission({
      county,
      stationId,
      registry: deps.registry,
      topics,
      connection,
      clock: deps.clock,
      log,
      seen: deps.seen,
      maxConcurrentCommands: timing.maxConcurrentCommands,
    });
  }

  /** Starts connecting in the background; never waits for the broker. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    // The key verifies requests and acks alike, so both know it before the first message can arrive.
    const key = await loadCommandKey(this.deps.config.county!, this.log);
    if (!this.running) return; // stopped while the key was being read
    this.durable.setCommandKey(key);
    const problem = this.admission.start(key);
    if (problem !== undefined) this.connection.noteError(problem);
    this.deps.bus.on('device.state', this, (state) => this.live.onDeviceState(state));
    this.deps.bus.on('record.appended', this, () => this.durable.pump());
    this.budget.start();
    this.connection.start();
  }

  /** Stops within ~2 s, telling the county the station went offline on purpose. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.deps.bus.removeAll(this);
    this.budget.stop();
    await this.connection.stop();
  }

  status(): CountyLinkStatus {
    const { lastConnect, lastError } = this.connection;
    return {
      connected: this.connection.connected,
      outbox_depth: this.durable.depth(),
      ...(lastConnect ? { last_connect: lastConnect } : {}),
      ...(lastError ? { last_error: lastError } : {}),
    };
  }

  /** The installed schedules changed (schedule.set): the inventory that lists them goes out again. */
  inventoryChanged(): void {
    this.live.inventoryChanged();
  }

  /** `rebirth`: republish status, inventory and every device state. */
  rebirth(): Promise<{ published: number }> {
    return this.live.rebirth();
  }

  /**
   * `sessions.resend`: republish stored records from `fromSeq` (acked or not) as historical. The answer
   * names the ledger the seqs belong to, so the county never records a `count: 0` against another one.
   */
  resendFrom(fromSeq: number, toSeq?: number): { from_seq: number; to_seq: number; count: number; ledger: string } {
    return { ...this.durable.resendFrom(fromSeq, toSeq), ledger: this.deps.outbox.ledger() };
  }

  /** `diag.run`: host health, devices and the outbox, for a county technician. */
  diagnostics(): Promise<Record<string, unknown>> {
    return this.live.diagnostics(() => ({ outbox: this.durable.figures(), county: this.status() }));
  }

  private route(topic: string, payload: Buffer): void {
    try {
      if (topic === this.topics.ack) return this.durable.onAck(payload);
      const action = this.topics.requestAction(topic);
      if (action !== undefined) return this.admission.handle(action, payload);
    } catch (err) {
      this.log.error({ err, topic }, 'failed to handle a county message');
    }
  }
}
