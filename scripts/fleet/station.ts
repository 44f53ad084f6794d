/**
 * One simulated station: its MQTT connection (own Last Will, `boot` +1 per connection), its durable
 * records in an in-memory Outbox (agent/store/memory-outbox.ts, the agent's outbox semantics without a
 * disk) until the county acks them, the replay after a reconnect, answers to `request/sessions.resend`,
 * heartbeats and device state changes.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { markHistorical } from '../../agent/county/historical.js';
import { MemoryOutbox } from '../../agent/store/memory-outbox.js';
import type { StoredRecord } from '../../agent/store/outbox.js';
import { deviceState, durableRecord, fleetLedger, hasFault, heartbeat, inventory, rng, SIM_DEVICES, type FleetShape, type StationIdentity } from './generate.js';
import type { FleetStats } from './types.js';
import { Topics } from '../../protocol/topics.js';

/** What every station of a fleet shares. */
export interface FleetContext {
  url: string;
  shape: FleetShape;
  stats: FleetStats;
  duplicateEvery: number | undefined;
  stopped: () => boolean;
}

export class SimStation {
  client: MqttClient | undefined;
  boot = 0;
  readonly agentBoot = 1;
  /** The county's ack watermark, as last heard. */
  acked = 0;
  readonly outbox: MemoryOutbox;
  /** Seqs not published at first (nor replayed): the county must ask for them. */
  readonly withheld = new Set<number>();
  /** Seqs the station "no longer has": a resend answers without them. */
  readonly lost = new Set<number>();
  nextHeartbeat = 0;
  nextRecord = 0;
  nextState = 0;
  readonly on = new Map<string, boolean>(SIM_DEVICES.map((d) => [d.id, false]));
  private connectedOnce = false;

  constructor(
    readonly id: StationIdentity,
    readonly topics: Topics,
    readonly startedAt: number,
    private readonly fleet: FleetContext,
  ) {
    this.outbox = new MemoryOutbox(fleetLedger(fleet.shape, id));
  }

  get lastSeq(): number {
    return this.outbox.lastSeq();
  }

  /** The next durable record, generated for its seq, kept in the outbox and published when connected. */
  allocate(): void {
    const { shape, stats, duplicateEvery } = this.fleet;
    const seq = this.outbox.lastSeq() + 1;
    const rec = durableRecord(shape, this.id, seq, this.agentBoot);
    const type = rec.stream === 'usage' ? 'usage' : rec.payload.type;
    const ts = rec.stream === 'usage' ? rec.payload.end : rec.payload.ts;
    const stored = this.outbox.append(
      rec.stream,
      type,
      ts,
      (allocated) => {
        // The content is a function of the seq: the outbox must hand out exactly the one generated for.
        if (allocated !== seq) throw new Error(`outbox allocated seq ${allocated}, expected ${seq}`);
        return rec.payload;
      },
      rec.payload.id,
    );
    stats.allocated++;
    if (this.withheld.has(seq)) {
      stats.withheld++;
    } else if (this.client?.connected) {
      const [record] = this.outbox.stored(stored.seq, stored.seq, 1);
      this.publishRecord(record!, false);
      stats.published_records++;
      if (duplicateEvery && seq % duplicateEvery === 0) {
        this.publishRecord(record!, false);
        stats.duplicates_sent++;
      }
    }
    // Not connected: it waits in the outbox and goes out with the replay after the reconnect.
  }

  connect(): void {
    const { shape } = this.fleet;
    this.boot = 1;
    const will = (boot: number) => ({
      topic: this.topics.status,
      payload: Buffer.from(JSON.stringify({ v: 1, online: false, station_id: this.id.id, boot })),
      qos: 1 as const,
      retain: true,
    });
    const c = mqtt.connect(this.fleet.url, {
      clientId: `sim-${this.id.id}-${shape.seed}`,
      clean: true,
      keepalive: 30,
      // Jittered, so a broker restart is not followed by every station reconnecting in the same instant.
      reconnectPeriod: 1_000 + Math.floor(rng(shape.seed, 'reconnect', this.id.index)() * 2_000),
      will: will(this.boot),
    });
    this.client = c;
    c.on('connect', () => this.onConnect());
    c.on('message', (topic, payload) => this.onMessage(topic, payload));
    c.on('close', () => {
      // +1 per MQTT session, and the Will of the next session must carry it (docs/design.md §5 `boot`).
      this.boot++;
      c.options.will = will(this.boot);
    });
    c.on('error', () => {
      // mqtt.js reconnects by itself; the county sees the outage through the Will.
    });
  }

  heartbeat(now: number): void {
    const depth = this.outbox.depth();
    const on = [...this.on.values()].filter(Boolean).length;
    this.client?.publish(
      this.topics.heartbeat,
      JSON.stringify(
        heartbeat(
          this.boot,
          Math.floor((now - this.startedAt) / 1000),
          { depth: depth.count, first_seq: depth.first_seq, last_seq: this.outbox.lastSeq() },
          on,
          hasFault(this.id) ? 1 : 0,
          now,
        ),
      ),
      { qos: 0 },
    );
    this.fleet.stats.heartbeats++;
  }

  /** Switches one device (chosen from the seed and the time) and publishes its retained state. */
  toggleDevice(now: number): void {
    const device = SIM_DEVICES[Math.floor(rng(this.fleet.shape.seed, 'state', this.id.index, now)() * SIM_DEVICES.length)]!;
    this.on.set(device.id, !this.on.get(device.id));
    this.publishState(device);
  }

  async stop(abrupt: boolean): Promise<void> {
    const c = this.client;
    if (!c) return;
    if (!abrupt && c.connected) {
      const bye = JSON.stringify({ v: 1, online: false, station_id: this.id.id, boot: this.boot, reason: 'agent_stop' });
      await c.publishAsync(this.topics.status, bye, { qos: 1, retain: true }).catch(() => undefined);
    }
    await c.endAsync(true);
  }

  private publishRecord(record: StoredRecord, historical: boolean): void {
    this.client?.publish(this.topics.stream(record.stream), historical ? markHistorical(record.text) : record.text, { qos: 1 });
  }

  private publishState(device: (typeof SIM_DEVICES)[number]): void {
    this.client?.publish(this.topics.deviceState(device.id), JSON.stringify(deviceState(this.id, device, this.on.get(device.id)!, Date.now())), {
      qos: 1,
      retain: true,
    });
    this.fleet.stats.states++;
  }

  private onConnect(): void {
    const c = this.client!;
    c.subscribe([this.topics.ack, this.topics.requestFilter], { qos: 1 });
    c.publish(
      this.topics.status,
      JSON.stringify({
        v: 1,
        online: true,
        station_id: this.id.id,
        boot: this.boot,
        agent_boot: this.agentBoot,
        agent_version: 'fleet-sim',
        started_at: new Date(this.startedAt).toISOString(),
        ts: new Date().toISOString(),
        clock: 'synced',
      }),
      { qos: 1, retain: true },
    );
    if (!this.connectedOnce) {
      this.connectedOnce = true;
      c.publish(this.topics.inventory, JSON.stringify(inventory(this.id, this.agentBoot, this.startedAt, Date.now())), { qos: 1, retain: true });
      for (const d of SIM_DEVICES) this.publishState(d);
    }
    // The real agent waits briefly for the retained ack before replaying, so it does not resend what the
    // county already stored; so does the simulator.
    setTimeout(() => {
      if (!c.connected || this.fleet.stopped()) return;
      for (const record of this.outbox.pending(0, Number.MAX_SAFE_INTEGER)) {
        if (this.withheld.has(record.seq)) continue;
        this.publishRecord(record, true);
        this.fleet.stats.replayed++;
      }
    }, 300);
  }

  private onMessage(topic: string, payload: Buffer): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    } catch {
      return;
    }
    if (topic === this.topics.ack) {
      const seq = msg['seq'];
      // As the agent's AckGate: only an ack for this station's own ledger.
      if (typeof seq !== 'number' || msg['ledger'] !== this.outbox.ledger()) return;
      this.acked = Math.max(this.acked, seq);
      this.outbox.ackUpTo(seq);
      return;
    }
    if (this.topics.requestAction(topic) === 'sessions.resend') this.answerResend(msg);
  }

  private answerResend(msg: Record<string, unknown>): void {
    const { stats } = this.fleet;
    const args = (msg['args'] ?? {}) as Record<string, unknown>;
    const from = typeof args['from_seq'] === 'number' ? args['from_seq'] : 1;
    const until = Math.min(typeof args['to_seq'] === 'number' ? args['to_seq'] : this.lastSeq, this.lastSeq);
    let count = 0;
    // Acknowledged or not, as the agent's outbox answers `sessions.resend` from what it stores.
    for (const record of until >= from ? this.outbox.stored(from, until, Number.MAX_SAFE_INTEGER) : []) {
      if (this.lost.has(record.seq)) continue;
      // Delivered on request only: a withheld seq stays withheld for replays, like a record the broker dropped.
      this.withheld.delete(record.seq);
      this.publishRecord(record, true);
      count++;
    }
    stats.resends_answered++;
    stats.resent_records += count;
    this.client?.publish(
      this.topics.response('sessions.resend'),
      JSON.stringify({
        v: 1,
        transaction: typeof msg['transaction'] === 'string' ? msg['transaction'] : null,
        status: 'ok',
        data: { from_seq: from, to_seq: until, count, ledger: this.outbox.ledger() },
        ts: new Date().toISOString(),
        clock: 'synced',
      }),
      { qos: 1 },
    );
  }
}
