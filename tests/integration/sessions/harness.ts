/**
 * A real store in a temp dir, the real ledger, event log and bus, and a clock driven by vitest's fake
 * timers: `monotonicMs` follows fake time, `now()` adds a settable offset to simulate wall-clock jumps.
 */
import { vi } from 'vitest';
import Database from 'better-sqlite3';
import type { DeviceKind, DeviceState, PowerState } from '../../../drivers/types.js';
import { EventBus } from '../../../agent/bus.js';
import type { Clock } from '../../../agent/clock.js';
import { EventLog } from '../../../agent/events.js';
import { silentLogger } from '../../../agent/log.js';
import type { Outbox } from '../../../agent/store/outbox.js';
import { Store } from '../../../agent/store/store.js';
import { SessionTracker } from '../../../agent/sessions/tracker.js';
import type { UsageRecord } from '../../../protocol/usage-record.js';

export const T0 = Date.parse('2024-03-05T12:00:00.000Z'); // 20:00 in Asia/Shanghai, a Tuesday

export class TestClock implements Clock {
  wallOffsetMs = 0;
  synced = true;
  private readonly base = Date.now();
  now(): Date {
    return new Date(Date.now() + this.wallOffsetMs);
  }
  monotonicMs(): number {
    return Date.now() - this.base;
  }
  quality(): 'synced' | 'unsynced' {
    return this.synced ? 'synced' : 'unsynced';
  }
}

export const DEVICES = [
  { id: 'proj', kind: 'projector' as DeviceKind, usage: true },
  { id: 'amp', kind: 'amplifier' as DeviceKind, usage: true },
  { id: 'led', kind: 'led_display' as DeviceKind, usage: true },
  { id: 'stb', kind: 'settopbox' as DeviceKind, usage: false },
];

export class Station {
  store: Store;
  ledger: Outbox;
  bus: EventBus;
  events: EventLog;
  tracker: SessionTracker;
  private readonly states = new Map<string, DeviceState>();

  constructor(
    readonly dir: string,
    readonly clock: TestClock,
    readonly boot = 1,
  ) {
    this.store = Store.open(dir);
    this.ledger = this.store.outbox;
    this.bus = new EventBus(silentLogger);
    this.events = new EventLog({ outbox: this.ledger, bus: this.bus, clock, stationId: 'xiaozhuang', boot: () => boot });
    this.tracker = new SessionTracker({
      store: this.store,
      bus: this.bus,
      events: this.events,
      clock,
      log: silentLogger,
      stationId: 'xiaozhuang',
      timezone: 'Asia/Shanghai',
      rules: { min_s: 300, merge_gap_s: 120, idle_cutoff_s: 1800, checkpoint_s: 60 },
      devices: DEVICES,
      boot: () => boot,
    });
  }

  set(id: string, power: PowerState, extra: Partial<DeviceState> = {}): void {
    const kind = DEVICES.find((d) => d.id === id)!.kind;
    const prev = this.states.get(id);
    const next: DeviceState = { id, kind, driver: 'sim', online: true, power, last_seen: null, errors: [], ...extra };
    this.states.set(id, next);
    this.bus.emit('device.state', next, prev);
  }

  async advance(ms: number): Promise<void> {
    await vi.advanceTimersByTimeAsync(ms);
  }

  /** Every durable record, acknowledged or not, in seq order. */
  private records(): Array<{ stream: string; type: string; text: string }> {
    return this.ledger.stored(1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }

  usage(): UsageRecord[] {
    return this.records()
      .filter((r) => r.stream === 'usage')
      .map((r) => JSON.parse(r.text) as UsageRecord);
  }

  eventsOf(type: string): Array<Record<string, unknown>> {
    return this.records()
      .filter((r) => r.stream === 'events' && r.type === type)
      .map((r) => JSON.parse(r.text) as Record<string, unknown>);
  }

  /** The rows as they are on disk, read through a second connection (the store keeps its own private). */
  sessionRows(): Array<{ id: string; state: string; seq: number | null; checkpoint_at: string; record: string }> {
    return onDisk(this.store, (db) => db.prepare('SELECT id, state, seq, checkpoint_at, record FROM sessions ORDER BY start').all() as never);
  }

  close(): void {
    this.store.close();
  }
}

/**
 * A second connection to the store's database file, for what a test looks at or damages behind the
 * store's back (WAL: it sees every commit of the store's own connection).
 */
export function onDisk<T>(store: Store, fn: (db: Database.Database) => T): T {
  const db = new Database(store.path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
