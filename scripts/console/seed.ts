/**
 * A realistic county database for the console's screenshots and page benchmarks, written through the
 * store's own write path (`CollectorStore.apply`, as the collector would): the fleet simulator's content
 * (scripts/fleet/generate.ts, a pure function of seed, station and seq) under Chinese town and village
 * names, a month and more of sessions (some with the notes typed on site), a few stations offline or
 * silent, faulty projectors, relay boards that do not answer, lamp warnings, schedule runs (events with
 * the data a real agent sends) and a heartbeat history.
 *
 *   node dist/scripts/console/seed.js --db county.db --stations 500 [--days 40] [--history-hours 72]
 */
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { DEFAULT_SHAPE, deviceState, durableRecord, heartbeat, inventory, rng, SIM_DEVICES, type FleetShape, type StationIdentity } from '../fleet/generate.js';
import type { CollectorWrite, CollectorStore } from '../../county/store.js';
import type { Inventory } from '../../protocol/payloads.js';
import { openCollectorStore } from '../../county/open-store.js';

const TOWNS = ['城关镇', '东山乡', '西河镇', '南塘乡', '北岭镇', '青石镇', '白沙乡', '红旗镇', '柳林乡', '桃源镇', '马坊乡', '高庄镇', '杨柳乡', '石门镇', '龙泉乡'];
const VILLAGES = ['张家庄', '李家湾', '王家沟', '刘家坪', '陈家寨', '杨树村', '赵家岭', '黄土坡', '周家河', '吴家店', '新庄', '后营', '前进', '和平', '胜利', '红星', '大王庄', '小河口', '上坪', '下湾'];
const TOPICS = ['果树冬季修剪技术', '小麦条锈病防治', '党的二十大精神学习', '农村电商直播入门', '生猪养殖防疫', '反诈宣传讲座', '冬季防火安全', '玉米高产栽培', '医保政策解读', '家庭教育讲座'];
const ORGANISERS = ['王书记', '李主任', '张老师', '刘站长', '村委会'];

export interface SeedOptions {
  stations: number;
  /** Days of sessions and events before `nowMs`. */
  days?: number;
  /** Durable records a day per station (default 1: a class most days; the benchmarks use more). */
  perDay?: number;
  /** Hours of heartbeat history (one per 10 minutes) per station; 0 = the last heartbeat only. */
  historyHours?: number;
  nowMs?: number;
  seed?: string;
  /** Writes per transaction. */
  batch?: number;
}

export function seedIdentity(index: number, stations: number): StationIdentity {
  const towns = Math.max(1, Math.min(TOWNS.length * 40, Math.ceil(stations / 35)));
  const t = index % towns;
  const town = t < TOWNS.length ? TOWNS[t]! : `${TOWNS[t % TOWNS.length]}${Math.floor(t / TOWNS.length) + 1}`;
  const village = VILLAGES[Math.floor(index / towns) % VILLAGES.length]!;
  const round = Math.floor(index / towns / VILLAGES.length);
  const n = String(index + 1).padStart(5, '0');
  return { index, id: `st-${n}`, name: `${village}${round ? round + 1 : ''}村`, town };
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * What a current agent adds to the simulator's inventory: device names as configured on site, what each
 * device takes (`controls`) and the installed schedules. Every fifth station's projector has no second
 * HDMI input, so a town's common inputs are fewer than one station's.
 */
export function seedInventoryExtras(inv: Inventory, index: number): void {
  const inputs = [
    { code: '11', kind: 'computer', n: 1 },
    { code: '31', kind: 'digital', n: 1 },
    ...(index % 5 === 4 ? [] : [{ code: '32', kind: 'digital', n: 2 }]),
  ];
  const extras: Record<string, { name: string; controls: NonNullable<Inventory['devices'][number]['controls']> }> = {
    'projector-1': { name: '活动室投影机', controls: { actions: ['power', 'input', 'mute'], inputs } },
    'stb-1': { name: '远程教育机顶盒', controls: { actions: [] } },
    'led-1': { name: '门口LED屏', controls: { actions: ['brightness', 'blank'] } },
    'amp-1': { name: '功放', controls: { actions: ['power'] } },
  };
  inv.devices = inv.devices.map((d) => ({ ...d, ...extras[d.id] }));
  inv.schedules = [
    {
      id: 'tuesday-class',
      name: '周二晚间课堂',
      source: 'config',
      cron: '0 20 * * 2',
      duration_min: 90,
      enabled: true,
      steps: [
        { device: 'projector-1', action: 'power', value: 'on', wait_for: 'on' },
        { device: 'projector-1', action: 'input', value: '31' },
        { device: 'amp-1', action: 'power', value: 'on' },
      ],
    },
  ];
}

/** What kind of day a station has: most are fine; some are offline or silent, for the visit list, some switched off cleanly. */
function condition(index: number): 'online' | 'offline' | 'silent' | 'shutdown' {
  return index % 23 === 5 ? 'offline' : index % 31 === 7 ? 'silent' : index % 17 === 9 ? 'shutdown' : 'online';
}

/** Some stations declare their opening hours (weekday daytime and Saturday evening); the rest are open at all times. */
const OPENING_HOURS: NonNullable<ReturnType<typeof inventory>['station']['opening_hours']> = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '17:30' },
  { days: ['sat'], from: '19:00', to: '22:00' },
];

function stationWrites(shape: FleetShape, id: StationIdentity, o: Required<Omit<SeedOptions, 'seed'>>): CollectorWrite[] {
  const writes: CollectorWrite[] = [];
  const r = rng(shape.seed, 'console-seed', id.index);
  const cond = condition(id.index);
  const lastMs =
    cond === 'offline' || cond === 'shutdown' ? o.nowMs - (1 + Math.floor(r() * 3)) * 86_400_000 : cond === 'silent' ? o.nowMs - 45 * 60_000 : o.nowMs - Math.floor(r() * 50_000);
  const at = iso(lastMs);
  const inv = inventory(id, 1, o.nowMs - 9 * 86_400_000, lastMs);
  inv.agent.version = r() < 0.85 ? '0.1.0' : '0.0.9';
  inv.station.county = '示范县';
  if (id.index % 5 === 3) inv.station.opening_hours = OPENING_HOURS;
  seedInventoryExtras(inv, id.index);
  writes.push({ kind: 'status', station: id.id, receivedAt: at, status: { v: 1, online: true, station_id: id.id, boot: 1, agent_boot: 1, agent_version: inv.agent.version, started_at: inv.agent.started_at, ts: at, clock: 'synced' } });
  writes.push({ kind: 'inventory', station: id.id, inventory: inv, receivedAt: at });
  // About one station in twelve has a projector lamp near its limit; elsewhere every warning was cleared.
  const lamp = id.index % 12 === 2;
  const dormant = id.index % 29 === 13;
  for (const d of SIM_DEVICES) {
    const state = deviceState(id, d, false, lastMs);
    if (d.kind === 'projector') state.lamp_hours = lamp ? 2_900 + (id.index % 180) : 600 + (id.index % 1_900);
    // Now and then a relay board that does not answer: the agent marks it unreachable, with the bus's reason.
    if (d.kind === 'amplifier' && id.index % 19 === 11) {
      Object.assign(state, { online: false, power: 'unknown' });
      state.errors = [{ code: 'unreachable', severity: 'error', text: 'unit 1 did not answer read coils within 500 ms on /dev/ttyUSB0 (unit id, wiring or unit power?)' }];
    }
    writes.push({ kind: 'device_state', station: id.id, device: d.id, state, receivedAt: at });
  }
  const records = o.days * o.perDay;
  for (let seq = 1; seq <= records; seq++) {
    const rec = durableRecord(shape, id, seq, 1);
    if (rec.stream === 'usage') {
      // Classes between 09:00 and 20:00 Beijing time; a dormant station only has short test power-ons.
      const slotMs = shape.slotS * 1000;
      const start = shape.originMs + (seq - 1) * slotMs + (o.perDay === 1 ? (9 + r() * 11) * 3600_000 : r() * (slotMs - rec.payload.duration_s * 1000));
      if (dormant) rec.payload.short = true;
      if (rec.payload.short) rec.payload.duration_s = Math.min(rec.payload.duration_s, 240);
      rec.payload.start = iso(start);
      rec.payload.end = iso(start + rec.payload.duration_s * 1000);
      if (!rec.payload.short && r() < 0.35) {
        rec.payload.annotation = { topic: TOPICS[Math.floor(r() * TOPICS.length)]!, attendees: 8 + Math.floor(r() * 40), organiser: ORGANISERS[Math.floor(r() * ORGANISERS.length)]! };
      }
      if (Date.parse(rec.payload.end) > lastMs) break;
      writes.push({ kind: 'record', station: id.id, stream: 'usage', record: rec.payload, raw: JSON.stringify(rec.payload), receivedAt: rec.payload.end });
    } else {
      // The simulator's events carry no data; a real agent's do (agent/alerts.ts, scheduler.ts), and the
      // console puts them in words from that data: give them what an agent would have sent.
      const ev = rec.payload;
      if (ev.type === 'lamp_warning' || ev.type === 'lamp_warning_cleared') {
        const hours = lamp ? 3_000 + (id.index % 40) : 20 + (seq % 200);
        ev.type = lamp ? 'lamp_warning' : 'lamp_warning_cleared';
        ev.severity = lamp ? 'warning' : 'info';
        ev.message = lamp ? `projector-1: lamp at ${hours} h (warning from 3000 h)` : `projector-1: lamp at ${hours} h, below 3000 h again`;
        ev.data = { lamp_hours: hours, lamp_warn_hours: 3_000 };
      }
      // A relay board that stops answering is a device offline to the agent (its link codes raise no fault event).
      if (ev.type === 'device_fault') Object.assign(ev, { type: 'device_offline', severity: 'warning', message: 'amp-1 has been offline for more than 10 min', data: { offline_warn_min: 10 } });
      else if (ev.type === 'device_fault_cleared') Object.assign(ev, { type: 'device_online', severity: 'info', message: 'amp-1 is back online' });
      if (ev.type === 'schedule_run') {
        const ok = r() < 0.9;
        const steps = ['projector-1', 'led-1', 'amp-1'].map((device, i) =>
          ok || i < 2 ? { device, action: 'power', value: 'on', status: 'ok', ms: 900 } : { device, action: 'power', value: 'on', status: 'timeout', ms: 5_000, error: { code: 'timeout', message: 'amp-1 power timed out after 5 s' } },
        );
        ev.severity = ok ? 'info' : 'warning';
        ev.message = `schedule tuesday-class start: ${ok ? 3 : 2}/3 steps ok`;
        ev.data = { schedule_id: 'tuesday-class', run_id: `run-${seq}`, phase: 'start', ok, steps };
      }
      if (Date.parse(rec.payload.ts) > lastMs) break;
      writes.push({ kind: 'record', station: id.id, stream: 'events', record: rec.payload, raw: JSON.stringify(rec.payload), receivedAt: rec.payload.ts });
    }
  }
  const beats = Math.max(1, Math.floor((o.historyHours * 60) / 10));
  for (let i = beats - 1; i >= 0; i--) {
    const ms = lastMs - i * 10 * 60_000;
    const hourOfDay = (new Date(ms).getUTCHours() + 8) % 24;
    const hb = heartbeat(1, Math.floor((ms - (o.nowMs - 9 * 86_400_000)) / 1000), { depth: cond === 'silent' ? 140 : 0, first_seq: null, last_seq: 0 }, 0, 0, ms);
    hb.host.cpu_pct = Math.round((hourOfDay >= 19 && hourOfDay <= 21 ? 35 : 4) + r() * 8);
    hb.host.disk_free_mb = 30_000 - Math.floor((o.historyHours * 60 - i * 10) / 6) - id.index % 500;
    hb.agent = { rss_mb: Math.round((58 + 1.5 * Math.sin(i / 70) + r() * 0.4) * 10) / 10, heap_used_mb: 12 };
    writes.push({ kind: 'heartbeat', station: id.id, heartbeat: hb, receivedAt: iso(ms) });
  }
  if (cond === 'offline') writes.push({ kind: 'status', station: id.id, receivedAt: at, status: { v: 1, online: false, station_id: id.id, boot: 1 } });
  if (cond === 'shutdown') writes.push({ kind: 'status', station: id.id, receivedAt: at, status: { v: 1, online: false, station_id: id.id, boot: 1, reason: 'agent_stop' } });
  return writes;
}

/** Seeds `store`; returns the identities written (the screenshot script links to one of them). */
export async function seedConsoleDb(store: CollectorStore, opts: SeedOptions): Promise<StationIdentity[]> {
  const o = { days: 40, perDay: 1, historyHours: 72, nowMs: Date.now(), batch: 5_000, ...opts };
  // One durable record a day per station, each day starting at Beijing midnight: a village station has
  // a class most days, not the simulator's six records a day.
  const day = 86_400_000;
  const beijingMidnight = Math.floor((o.nowMs + 8 * 3600_000) / day) * day - 8 * 3600_000;
  const shape: FleetShape = { ...DEFAULT_SHAPE, seed: opts.seed ?? 'console', slotS: 86_400 / o.perDay, originMs: beijingMidnight - (o.days - 1) * day };
  const ids: StationIdentity[] = [];
  let pending: CollectorWrite[] = [];
  for (let i = 0; i < o.stations; i++) {
    const id = seedIdentity(i, o.stations);
    ids.push(id);
    pending.push(...stationWrites(shape, id, o));
    if (pending.length >= o.batch) {
      await store.apply(pending);
      pending = [];
    }
  }
  if (pending.length) await store.apply(pending);
  return ids;
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('seed')
    .requiredOption('--db <file|url>')
    .requiredOption('--stations <n>')
    .option('--days <n>', 'days of sessions and events', '40')
    .option('--per-day <n>', 'durable records a day per station', '1')
    .option('--history-hours <n>', 'hours of heartbeat history', '72')
    .parse(argv, { from: 'user' });
  const o = program.opts<{ db: string; stations: string; days: string; perDay: string; historyHours: string }>();
  const store = await openCollectorStore(o.db);
  try {
    const t0 = Date.now();
    await seedConsoleDb(store, { stations: Number(o.stations), days: Number(o.days), perDay: Number(o.perDay), historyHours: Number(o.historyHours) });
    process.stdout.write(`seeded ${o.stations} stations in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  } finally {
    await store.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`seed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
