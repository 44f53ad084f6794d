/**
 * The fleet simulator's content, as pure functions of (seed, station index, seq): any record can be
 * regenerated at will, so tests compute the totals the collector must report (expected.ts) without
 * trusting either side's bookkeeping.
 */
import { createHash } from 'node:crypto';
import type { UsageRecord } from '../../protocol/usage-record.js';
import type { EventRecord, EventType } from '../../protocol/event-record.js';
import type { DeviceStatePayload, Heartbeat, Inventory } from '../../protocol/payloads.js';

/** xmur3 string hash → 32-bit seed. */
function hash(str: string): number {
  let h = 1779033703 ^ str.length;
  for (let i = 0; i < str.length; i++) {
    h = Math.imul(h ^ str.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  h = Math.imul(h ^ (h >>> 16), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return (h ^= h >>> 16) >>> 0;
}

/** mulberry32: small, fast, good enough for simulated content. */
export function rng(...key: Array<string | number>): () => number {
  let a = hash(key.join(':'));
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FleetShape {
  seed: string;
  /** First station id is `<idPrefix>0001`. */
  idPrefix: string;
  towns: number;
  /** Session timeline origin (UTC ms): seq n starts inside slot n. */
  originMs: number;
  /** Each seq owns one slot of this length; a usage session starts inside it. */
  slotS: number;
  /** Fraction of usage sessions under min_s (300 s). */
  shortRatio: number;
  /** Fraction of durable records that are usage records (the rest are events). */
  usageRatio: number;
}

export const DEFAULT_SHAPE: FleetShape = {
  seed: 'fleet',
  idPrefix: 'st-',
  towns: 17,
  originMs: Date.parse('2026-10-28T00:00:00.000Z'),
  slotS: 4 * 3600,
  shortRatio: 0.2,
  usageRatio: 0.7,
};

export const MIN_S = 300;
const MAX_SESSION_S = 2 * 3600;

export interface StationIdentity {
  index: number;
  id: string;
  name: string;
  town: string;
}

export function stationIdentity(shape: FleetShape, index: number): StationIdentity {
  const n = String(index + 1).padStart(4, '0');
  return {
    index,
    id: `${shape.idPrefix}${n}`,
    name: `Village station ${n}`,
    town: `town-${String((index % shape.towns) + 1).padStart(2, '0')}`,
  };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A ULID-shaped id (26 Crockford base-32 chars), deterministic per record. */
function recordId(shape: FleetShape, index: number, seq: number): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  const r = rng(shape.seed, 'id', index, seq);
  let s = '';
  for (let i = 0; i < 26; i++) s += alphabet[Math.floor(r() * 32)];
  return s;
}

export type DurablePayload = { stream: 'usage'; payload: UsageRecord } | { stream: 'events'; payload: EventRecord };

const EVENT_CHOICES: ReadonlyArray<{ type: EventType; severity: 'info' | 'warning' | 'error'; device?: string; message: string }> = [
  { type: 'lamp_warning', severity: 'warning', device: 'projector-1', message: 'lamp hours above the warning threshold' },
  { type: 'lamp_warning_cleared', severity: 'info', device: 'projector-1', message: 'lamp replaced' },
  { type: 'device_fault', severity: 'error', device: 'amp-1', message: 'relay does not answer' },
  { type: 'device_fault_cleared', severity: 'info', device: 'amp-1', message: 'relay answers again' },
  { type: 'schedule_run', severity: 'info', message: 'schedule tuesday-class ran' },
];

/** The ledger of a simulated station: a function of the seed and the station, like everything it sends. */
export function fleetLedger(shape: FleetShape, station: StationIdentity): string {
  return createHash('sha256').update(`${shape.seed}\n${station.id}`).digest('hex').slice(0, 32);
}

/** Durable record `seq` of station `index` (boot is the agent boot the record was made under). */
export function durableRecord(shape: FleetShape, station: StationIdentity, seq: number, boot: number): DurablePayload {
  const r = rng(shape.seed, 'rec', station.index, seq);
  const slotStart = shape.originMs + (seq - 1) * shape.slotS * 1000;
  const isUsage = r() < shape.usageRatio;
  const id = recordId(shape, station.index, seq);
  if (!isUsage) {
    const ev = EVENT_CHOICES[Math.floor(r() * EVENT_CHOICES.length)]!;
    const payload: EventRecord = {
      v: 1,
      seq,
      ledger: fleetLedger(shape, station),
      id,
      station_id: station.id,
      ts: iso(slotStart + Math.floor(r() * shape.slotS) * 1000),
      clock: 'synced',
      type: ev.type,
      severity: ev.severity,
      ...(ev.device ? { device: ev.device } : {}),
      message: ev.message,
      boot,
    };
    return { stream: 'events', payload };
  }
  const short = r() < shape.shortRatio;
  const duration = short ? 30 + Math.floor(r() * (MIN_S - 30)) : MIN_S + Math.floor(r() * (MAX_SESSION_S - MIN_S));
  const startMs = slotStart + Math.floor(r() * Math.max(1, shape.slotS - MAX_SESSION_S)) * 1000;
  const signal = Math.floor(duration * r());
  const projectorOn = duration;
  const ampOn = Math.floor(duration * (0.5 + r() / 2));
  const payload: UsageRecord = {
    v: 1,
    id,
    seq,
    ledger: fleetLedger(shape, station),
    station_id: station.id,
    start: iso(startMs),
    end: iso(startMs + duration * 1000),
    duration_s: duration,
    devices: [
      { id: 'projector-1', kind: 'projector', on_s: projectorOn },
      { id: 'amp-1', kind: 'amplifier', on_s: ampOn },
    ],
    inputs: [{ device: 'projector-1', input: '31', s: projectorOn }],
    signal_s: signal,
    trigger: r() < 0.5 ? 'schedule:tuesday-class' : 'manual',
    end_reason: 'devices_off',
    annotation: null,
    short,
    rule_version: 1,
    boot,
    clock: 'synced',
  };
  return { stream: 'usage', payload };
}

export const SIM_DEVICES = [
  { id: 'projector-1', kind: 'projector', driver: 'pjlink' },
  { id: 'stb-1', kind: 'settopbox', driver: 'net_presence' },
  { id: 'led-1', kind: 'led_display', driver: 'novastar' },
  { id: 'amp-1', kind: 'amplifier', driver: 'modbus_relay' },
] as const;

/** Stations with a permanently faulty projector (so the fleet table has something to show). */
export function hasFault(station: StationIdentity): boolean {
  return station.index % 7 === 3;
}

export function deviceState(station: StationIdentity, device: (typeof SIM_DEVICES)[number], on: boolean, nowMs: number): DeviceStatePayload {
  const errors =
    device.kind === 'projector' && hasFault(station) ? [{ code: 'lamp', severity: 'error' as const, text: 'lamp failure' }] : [];
  return {
    v: 1,
    id: device.id,
    kind: device.kind,
    driver: device.driver,
    online: true,
    power: on ? 'on' : 'off',
    last_seen: iso(nowMs),
    errors,
    ...(device.kind === 'projector' ? { input: '31', signal: on, lamp_hours: 1000 + station.index } : {}),
    ts: iso(nowMs),
    clock: 'synced',
  };
}

export function inventory(station: StationIdentity, agentBoot: number, startedAtMs: number, nowMs: number): Inventory {
  return {
    v: 1,
    station: { id: station.id, name: station.name, town: station.town, county: 'sim-county', level: 'village', timezone: 'Asia/Shanghai' },
    agent: { version: 'fleet-sim', agent_boot: agentBoot, started_at: iso(startedAtMs) },
    host: {
      hostname: station.id,
      os: { platform: 'linux', distro: 'Debian', release: '12', kernel: '6.1.0', arch: 'x64' },
      system: { manufacturer: null, model: null, serial: null },
      cpu: { model: 'sim', cores: 2, physical_cores: 2, speed_ghz: 1.6 },
      mem_total_mb: 4096,
      disks: [],
      filesystems: [{ mount: '/', type: 'ext4', size_gb: 64 }],
      network: [],
      serial_ports: [],
    },
    devices: SIM_DEVICES.map((d) => ({
      id: d.id,
      name: null,
      kind: d.kind,
      driver: d.driver,
      online: true,
      manufacturer: null,
      model: null,
      serial_number: null,
      firmware: null,
    })),
    ts: iso(nowMs),
    clock: 'synced',
  };
}

export function heartbeat(
  boot: number,
  uptimeS: number,
  outbox: { depth: number; first_seq: number | null; last_seq: number },
  devicesOn: number,
  faults: number,
  nowMs: number,
): Heartbeat {
  return {
    v: 1,
    ts: iso(nowMs),
    clock: 'synced',
    clock_offset_ms: null,
    boot,
    uptime_s: uptimeS,
    host: { cpu_pct: 3, load_1: 0.1, mem_pct: 40, mem_available_mb: 2000, disk_free_mb: 30000, disk_free_pct: 50, temperature_c: null, host_uptime_s: uptimeS },
    devices: {
      total: SIM_DEVICES.length,
      online: SIM_DEVICES.length,
      on: devicesOn,
      faults,
      list: SIM_DEVICES.map((d) => ({ id: d.id, online: true, power: 'off' as const })),
    },
    outbox: { depth: outbox.depth, first_seq: outbox.first_seq, oldest_ts: null, last_seq: outbox.last_seq },
    open_session: null,
  };
}
