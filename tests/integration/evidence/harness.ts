/**
 * A sealing station on real files: the real Store (SQLite in a temp dir), the real seed file made by
 * `initEvidence`, the real EpochKeys, UsageChain, EventLog and SessionTracker, with the sessions
 * harness's clock (vitest's fake timers: wall time can be moved, epochs with it).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { vi } from 'vitest';
import type { DeviceState, PowerState } from '../../../drivers/types.js';
import { EventBus } from '../../../agent/bus.js';
import { EventLog } from '../../../agent/events.js';
import { silentLogger } from '../../../agent/log.js';
import { Store } from '../../../agent/store/store.js';
import { SessionTracker } from '../../../agent/sessions/tracker.js';
import { EpochKeys } from '../../../agent/evidence/keys.js';
import { UsageChain } from '../../../agent/evidence/chain.js';
import { initEvidence, type InitResult } from '../../../agent/evidence/init.js';
import { EnrollmentSchema, type Enrollment } from '../../../protocol/enrollment.js';
import { DEVICES, type TestClock } from '../sessions/harness.js';

export const STATION = 'xiaozhuang';
export const MIN = 60_000;

/** Makes the seed in `<dir>/data/evidence.key` and the enrollment copy in `<dir>/out`, at the clock's time. */
export function makeSeed(dir: string, clock: TestClock, epochS: number, force = false): { init: InitResult; enrollment: Enrollment } {
  const init = initEvidence({ seedFile: join(dir, 'data', 'evidence.key'), outDir: join(dir, 'out'), stationId: STATION, epochS, nowMs: clock.now().getTime(), force });
  return { init, enrollment: EnrollmentSchema.parse(JSON.parse(readFileSync(init.enrollment_file, 'utf8'))) };
}

export class SealingStation {
  readonly store: Store;
  readonly bus = new EventBus(silentLogger);
  readonly events: EventLog;
  readonly keys: EpochKeys | undefined;
  readonly chain: UsageChain | undefined;
  readonly tracker: SessionTracker;
  private readonly states = new Map<string, DeviceState>();

  /** `epochS` undefined: a station without `evidence`. */
  constructor(
    readonly dir: string,
    readonly clock: TestClock,
    epochS: number | undefined,
  ) {
    this.keys = epochS === undefined ? undefined : EpochKeys.load(join(dir, 'data', 'evidence.key'), { stationId: STATION, epochS }, silentLogger);
    this.store = Store.open(join(dir, 'data'));
    this.events = new EventLog({ outbox: this.store.outbox, bus: this.bus, clock, stationId: STATION, boot: () => 1 });
    this.chain = this.keys ? new UsageChain({ store: this.store, keys: this.keys, clock, stationId: STATION, log: silentLogger }) : undefined;
    this.tracker = new SessionTracker({
      store: this.store,
      bus: this.bus,
      events: this.events,
      clock,
      log: silentLogger,
      stationId: STATION,
      timezone: 'Asia/Shanghai',
      rules: { min_s: 300, merge_gap_s: 0, idle_cutoff_s: 1800, checkpoint_s: 60 },
      devices: DEVICES,
      boot: () => 1,
      ...(this.chain ? { chain: this.chain } : {}),
    });
  }

  /** As App.start does: the genesis (when the chain must begin), then the tracker. */
  start(): this {
    this.chain?.begin();
    this.tracker.start();
    return this;
  }

  set(id: string, power: PowerState): void {
    const kind = DEVICES.find((d) => d.id === id)!.kind;
    const prev = this.states.get(id);
    const next: DeviceState = { id, kind, driver: 'sim', online: true, power, last_seen: null, errors: [], signal: power === 'on' };
    this.states.set(id, next);
    this.bus.emit('device.state', next, prev);
  }

  /** One usage session of `minutes`, closed (devices off), then an event after it, as a real station has. */
  async session(minutes: number): Promise<void> {
    this.set('proj', 'on');
    await vi.advanceTimersByTimeAsync(minutes * MIN);
    this.set('proj', 'off');
    await vi.advanceTimersByTimeAsync(1000);
    this.events.append({ type: 'device_online', severity: 'info', device: 'proj', message: 'projector online' });
  }

  /** The usage stream as stored, parsed, in seq order. */
  usage(): Array<Record<string, unknown> & { seq: number }> {
    return this.store.chain.records().map((r) => JSON.parse(r.payload) as Record<string, unknown> & { seq: number });
  }

  stop(): void {
    this.tracker.stop();
    this.store.close();
  }
}

/** Every file under `dir` (recursively) whose bytes contain `needle` (as raw bytes or as hex text). */
export function filesHolding(dir: string, needle: Buffer): string[] {
  const hex = Buffer.from(needle.toString('hex'));
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        if (bytes.includes(needle) || bytes.includes(hex)) out.push(p);
      }
    }
  };
  walk(dir);
  return out;
}
