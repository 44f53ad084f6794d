/**
 * The county link's live lane (docs/mqtt.md): what the county shows as the station's present state,
 * retained so a dashboard that connects later still sees it — status, inventory, one state per device —
 * and the QoS 0 heartbeat. Nothing here is stored: a connection that ends loses nothing, because the next
 * connect publishes everything again (the birth), and `rebirth` does the same on request.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { DeviceState } from '../../drivers/types.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { Clock } from '../clock.js';
import type { Outbox } from '../store/outbox.js';
import { envelope, type Connection } from './connection.js';
import { agentBoot, type LinkMeta } from './meta.js';
import type { DeviceControls } from '../../protocol/device-controls.js';
import type { DeviceStatePayload, Heartbeat, HostHealth, HostInfo, Inventory, InventorySchedule, StatusOnline } from '../../protocol/payloads.js';
import type { Topics } from '../../protocol/topics.js';

export interface LiveLaneDeps {
  config: Config;
  topics: Topics;
  connection: Connection;
  /** Holds the agent start counter (`agent_boot`). */
  meta: LinkMeta;
  /** The outbox figures the heartbeat reports. */
  outbox: Pick<Outbox, 'depth' | 'lastSeq'>;
  clock: Clock;
  log: Logger;
  agentVersion: string;
  startedAtMs: number;
  devices(): DeviceState[];
  /** What each device takes (the supervisor's), for the inventory's `controls`. */
  controls?(id: string): DeviceControls | undefined;
  /** The installed schedules (the scheduler's), for the inventory's `schedules`. */
  schedules?(): { list: InventorySchedule[]; more: number };
  openSessionId(): string | null;
  hostInfo: () => Promise<HostInfo>;
  hostHealth: () => Promise<HostHealth>;
  heartbeatMs: number;
}

/** Device identity changes within this window publish one inventory. */
const INVENTORY_DEBOUNCE_MS = 1_000;

export class LiveLane {
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private inventoryTimer: NodeJS.Timeout | undefined;
  private publishedIdentity = '';

  constructor(private readonly deps: LiveLaneDeps) {}

  /** A connection is up: status, inventory and every device state, then a heartbeat on its rhythm. */
  birth(): void {
    this.publishStatus();
    void this.publishInventory();
    for (const d of this.deps.devices()) this.publishState(d);
    void this.publishHeartbeat();
    this.heartbeatTimer = setInterval(() => void this.publishHeartbeat(), this.deps.heartbeatMs);
  }

  /** The connection ended: its timers go with it (the next birth republishes everything). */
  connectionEnded(): void {
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.inventoryTimer);
    this.heartbeatTimer = this.inventoryTimer = undefined;
  }

  /** `device.state` on the bus. */
  onDeviceState(state: DeviceState): void {
    if (!this.deps.connection.connected) return;
    this.publishState(state);
    // Identity (model, serial, firmware, what it takes) is learnt when a device first answers: refresh the
    // survey row, debounced so a supervisor opening five devices at once publishes one inventory.
    if (this.identity(this.deps.devices()) !== this.publishedIdentity) this.inventoryChanged();
  }

  /** Something the inventory lists changed (a device's identity, the installed schedules): publish it soon. */
  inventoryChanged(): void {
    if (!this.deps.connection.connected || this.inventoryTimer) return;
    this.inventoryTimer = setTimeout(() => {
      this.inventoryTimer = undefined;
      void this.publishInventory();
    }, INVENTORY_DEBOUNCE_MS);
  }

  /** `rebirth`: republish status, inventory and every device state. */
  async rebirth(): Promise<{ published: number }> {
    if (!this.deps.connection.connected) throw new AgentError(ErrorCodes.disconnected, 'not connected to the county broker', { retryable: true });
    let n = 0;
    if (this.publishStatus()) n++;
    if (await this.publishInventory()) n++;
    for (const d of this.deps.devices()) if (this.publishState(d)) n++;
    return { published: n };
  }

  /** The inventory payload: the station, the agent, the host's static facts and every device's identity. */
  async inventory(): Promise<Inventory> {
    const s = this.deps.config.station;
    const host = await this.deps.hostInfo();
    const names = new Map(this.deps.config.devices.map((d) => [d.id, d.name ?? null]));
    const schedules = this.deps.schedules?.();
    return {
      v: 1,
      station: { id: s.id, name: s.name, town: s.town ?? null, county: s.county ?? null, level: s.level, timezone: s.timezone, ...(s.opening_hours ? { opening_hours: s.opening_hours } : {}) },
      agent: { version: this.deps.agentVersion, agent_boot: agentBoot(this.deps.meta), started_at: new Date(this.deps.startedAtMs).toISOString() },
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
        ...((c) => (c ? { controls: c } : {}))(this.deps.controls?.(d.id)),
      })),
      ...(schedules ? { schedules: schedules.list, ...(schedules.more > 0 ? { schedules_more: schedules.more } : {}) } : {}),
      ...envelope(this.deps.clock),
    };
  }

  /**
   * `diag.run`: host health, devices and the agent, for a county technician; `rest` (the outbox and the
   * link's status) is taken after the health sample so every figure is from the same moment.
   */
  async diagnostics<T extends object>(rest: () => T): Promise<Record<string, unknown>> {
    const health = await this.deps.hostHealth();
    const { config, clock } = this.deps;
    return {
      station_id: config.station.id,
      agent: {
        version: this.deps.agentVersion,
        uptime_s: Math.floor((this.deps.clock.now().getTime() - this.deps.startedAtMs) / 1000),
        agent_boot: agentBoot(this.deps.meta),
        mqtt_boot: this.deps.connection.boot,
      },
      clock: { now: clock.now().toISOString(), state: clock.quality() },
      host: health,
      devices: this.deps.devices(),
      open_session: this.deps.openSessionId(),
      ...rest(),
    };
  }

  private publish(topic: string, payload: unknown, opts: { qos: 0 | 1; retain?: boolean }): boolean {
    const { client, connected } = this.deps.connection;
    if (!client || !connected) return false;
    client.publish(topic, JSON.stringify(payload), { qos: opts.qos, retain: opts.retain ?? false }, () => undefined);
    return true;
  }

  private publishStatus(): boolean {
    const payload: StatusOnline = {
      v: 1,
      online: true,
      station_id: this.deps.config.station.id,
      boot: this.deps.connection.boot,
      agent_boot: agentBoot(this.deps.meta),
      agent_version: this.deps.agentVersion,
      started_at: new Date(this.deps.startedAtMs).toISOString(),
      ...envelope(this.deps.clock),
    };
    return this.publish(this.deps.topics.status, payload, { qos: 1, retain: true });
  }

  private identity(devices: DeviceState[]): string {
    return JSON.stringify(devices.map((d) => [d.id, d.kind, d.driver, d.manufacturer ?? null, d.model ?? null, d.serial_number ?? null, d.firmware ?? null, this.deps.controls?.(d.id) ?? null]));
  }

  private async publishInventory(): Promise<boolean> {
    const client = this.deps.connection.client;
    try {
      const inv = await this.inventory();
      if (client !== this.deps.connection.client) return false;
      this.publishedIdentity = this.identity(this.deps.devices());
      return this.publish(this.deps.topics.inventory, inv, { qos: 1, retain: true });
    } catch (err) {
      this.deps.log.error({ err }, 'cannot build the inventory');
      return false;
    }
  }

  private publishState(state: DeviceState): boolean {
    let topic: string;
    try {
      topic = this.deps.topics.deviceState(state.id);
    } catch (err) {
      this.deps.log.error({ err, device: state.id }, 'device id unusable in a topic');
      return false;
    }
    const payload: DeviceStatePayload = { ...state, v: 1, ...envelope(this.deps.clock) } as DeviceStatePayload;
    return this.publish(topic, payload, { qos: 1, retain: true });
  }

  private async publishHeartbeat(): Promise<void> {
    const { connection } = this.deps;
    const client = connection.client;
    let host: HostHealth;
    try {
      host = await this.deps.hostHealth();
    } catch (err) {
      this.deps.log.warn({ err }, 'host health unavailable');
      return;
    }
    if (client !== connection.client || !connection.connected) return;
    const devices = this.deps.devices();
    const depth = this.deps.outbox.depth();
    const payload: Heartbeat = {
      v: 1,
      ...envelope(this.deps.clock),
      clock_offset_ms: null,
      boot: connection.boot,
      uptime_s: Math.max(0, Math.floor((this.deps.clock.now().getTime() - this.deps.startedAtMs) / 1000)),
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
    this.publish(this.deps.topics.heartbeat, payload, { qos: 0 });
  }
}

/** The agent's own memory in MB (one syscall and a V8 call: nothing spawned, nothing allocated to speak of). */
function agentMemory(): { rss_mb: number; heap_used_mb: number } {
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  return { rss_mb: mb(process.memoryUsage.rss()), heap_used_mb: mb(process.memoryUsage().heapUsed) };
}
