/**
 * The device supervisor owns every device's lifecycle: open, poll at `poll_s`, mark online/offline,
 * reconnect with capped exponential backoff and jitter, reopen when a USB-serial adapter comes back.
 * One failing device never stops the others: each runs its own loop and every error is caught here.
 */
import { readFile } from 'node:fs/promises';
import { watch, existsSync, type FSWatcher } from 'node:fs';
import { dirname, basename } from 'node:path';
import type { Logger } from 'pino';
import type { DeviceConfig } from '../config/schema.js';
import type { DeviceCommand, DeviceDriver, DeviceReading, DeviceState, DriverContext, DriverDefinition, SharedResources } from '../drivers/types.js';
import { DRIVERS } from '../drivers/registry.js';
import { SharedResourcePool } from '../drivers/shared.js';
import { AgentError, ErrorCodes, toAgentError } from '../protocol/errors.js';
import { Faults, faultOf } from '../protocol/faults.js';
import { controlsFrom, type DeviceControls } from '../protocol/device-controls.js';
import type { DeviceDiagnosis } from './control/protocol.js';
import type { EventBus } from './bus.js';
import type { Clock } from './clock.js';
import type { Store } from './store/store.js';
import type { CommandSource } from './commands.js';
import { backoffDelay } from './backoff.js';

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** After an `auth` failure: retrying quickly only locks the projector's account or floods its log. */
  authMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1000, maxMs: 60_000, authMs: 300_000 };

/** Equal jitter: a device is never retried sooner than half the bound (agent/backoff.ts). */
export function deviceRetryDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return backoffDelay(attempt, { baseMs: policy.initialMs, maxMs: policy.maxMs, jitter: 'equal' }, random);
}

/** Consecutive failed polls before a device that was online is marked offline. */
const FAILS_BEFORE_OFFLINE = 2;

export interface SupervisorDeps {
  devices: DeviceConfig[];
  log: Logger;
  bus: EventBus;
  store: Store;
  clock: Clock;
  backoff?: BackoffPolicy;
  /** Extra context for drivers (e.g. a MediaMTX client). */
  extraContext?: Record<string, unknown>;
  /** The driver table; the built-in registry unless a test brings its own. */
  drivers?: ReadonlyMap<string, DriverDefinition>;
}


class DeviceRunner {
  state: DeviceState;
  driver: DeviceDriver | undefined;
  /** Why the device is offline, finer than its state's fault code (for `devices.diagnose`). */
  failure: DeviceDiagnosis['failure'] = null;
  private stopped = false;
  private attempt = 0;
  private failures = 0;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private disconnected: AgentError | undefined;
  known: DeviceDriver | undefined; // the latest driver, kept after close: what it said it can do

  constructor(
    readonly config: DeviceConfig,
    private readonly sup: DeviceSupervisor,
    private readonly log: Logger,
    initial: DeviceState | undefined,
  ) {
    this.state = {
      ...(initial ?? {}),
      id: config.id,
      kind: config.kind,
      driver: config.driver,
      online: false,
      power: initial?.power ?? 'unknown',
      last_seen: initial?.last_seen ?? null,
      errors: initial?.errors ?? [],
    };
  }

  start(): void {
    this.loopDone = this.loop().catch((err) => this.log.error({ err }, 'device loop crashed'));
  }

  /**
   * Bounded by nothing the device does: the stop signal has already ended the requests under way (the
   * supervisor aborts it first), and the driver is closed now rather than after the loop's current poll,
   * which on a slow projector takes seconds.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    this.kick();
    await this.closeDriver();
    await this.loopDone;
    await this.closeDriver();
  }

  /** Wake the loop now (adapter re-plugged, command needs a fresh poll). */
  kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
    });
  }

  private async loop(): Promise<void> {
    const def = this.sup.drivers.get(this.config.driver);
    if (!def) {
      this.update({}, false, [{ code: 'driver_unavailable', severity: 'error', text: `driver ${this.config.driver} is not built into this agent` }]);
      return;
    }
    while (!this.stopped) {
      if (!this.driver) {
        try {
          const driver = def.create(this.sup.contextFor(this.config, this.log, () => this.kick()));
          this.driver = this.known = driver;
          this.disconnected = undefined;
          driver.onDisconnect((reason) => {
            if (this.driver !== driver || this.stopped) return;
            this.log.warn({ err: reason.message }, 'link lost');
            this.disconnected = toAgentError(reason, ErrorCodes.disconnected);
            this.kick();
          });
          const reading = await driver.open();
          if (this.stopped) break;
          this.attempt = 0;
          this.failures = 0;
          this.update(reading, true, undefined);
          this.log.info('device online');
        } catch (err) {
          await this.closeDriver();
          if (this.stopped) break;
          const e = toAgentError(err, ErrorCodes.disconnected);
          this.markFailure(e);
          const delay = e.code === ErrorCodes.auth ? this.sup.backoff.authMs : deviceRetryDelay(this.attempt++, this.sup.backoff);
          this.log.warn({ code: e.code, err: e.message, retry_ms: delay }, 'device open failed');
          this.watchForReplug();
          await this.sleep(delay);
          continue;
        }
      }
      if (this.disconnected) {
        const reason = this.disconnected;
        await this.closeDriver();
        this.markFailure(reason, true);
        continue;
      }
      try {
        const reading = await this.driver!.poll();
        if (this.stopped) break;
        this.failures = 0;
        this.update(reading, true, undefined);
      } catch (err) {
        if (this.stopped) break;
        const e = toAgentError(err, ErrorCodes.timeout);
        if (e.code === ErrorCodes.busy) {
          // PJLink ERR3 / NEC busy during warm-up: the device is there, just not answering that query now.
          this.update({}, true, undefined);
        } else {
          this.failures++;
          this.log.debug({ code: e.code, err: e.message, failures: this.failures }, 'poll failed');
          const linkLost = e.code === ErrorCodes.disconnected || e.code === ErrorCodes.closed;
          if (this.failures >= FAILS_BEFORE_OFFLINE || linkLost) {
            await this.closeDriver();
            this.markFailure(e, linkLost);
            const delay = deviceRetryDelay(this.attempt++, this.sup.backoff);
            await this.sleep(Math.min(delay, this.config.poll_s * 1000));
            continue;
          }
        }
      }
      await this.sleep(this.config.poll_s * 1000);
    }
  }

  private markFailure(e: AgentError, wasLinkLoss = false): void {
    const code = e.code === ErrorCodes.auth ? 'auth_failed' : wasLinkLoss ? 'link_lost' : 'unreachable';
    this.failure = { code: e.code, fault: faultOf(e) ?? null, message: e.message };
    this.update({}, false, [{ code, severity: 'error', text: e.message }]);
  }

  /**
   * While a serial device is gone, watch its /dev/serial/by-id (or /dev) folder so a re-plugged
   * adapter is reopened at once instead of after the backoff.
   */
  private watchForReplug(): void {
    const path = 'serial' in this.config && this.config.serial ? this.config.serial.path : undefined;
    if (!path || this.watcher) return;
    try {
      const dir = dirname(path);
      if (!existsSync(dir)) return;
      const name = basename(path);
      this.watcher = watch(dir, (_event, file) => {
        if (file === name && existsSync(path)) {
          this.attempt = 0;
          this.kick();
        }
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
      this.watcher.unref();
    } catch {
      /* folder not watchable: the backoff still retries */
    }
  }

  private async closeDriver(): Promise<void> {
    const d = this.driver;
    this.driver = undefined;
    if (d) {
      try {
        await d.close();
      } catch (err) {
        this.log.debug({ err }, 'close failed');
      }
    }
  }

  /** Merges a reading; `faults` replaces supervisor-made errors (undefined: keep the driver's own). */
  update(reading: DeviceReading, online: boolean, faults: DeviceState['errors'] | undefined): void {
    const prev = this.state;
    const next: DeviceState = { ...prev, ...reading, id: prev.id, kind: prev.kind, driver: prev.driver, online };
    if (online) {
      this.failure = null;
      next.last_seen = this.sup.clock.now().toISOString();
      next.errors = reading.errors ?? (faults === undefined && prev.online ? prev.errors : []);
    } else {
      next.errors = faults ?? prev.errors;
    }
    if (!online && reading.power === undefined) next.power = prev.power;
    this.state = next;
    this.sup.stateChanged(next, prev);
  }

  async execute(command: DeviceCommand): Promise<DeviceState> {
    const driver = this.driver;
    if (!driver || !this.state.online) {
      throw new AgentError(ErrorCodes.device_offline, `device ${this.config.id} is offline`, { retryable: true });
    }
    if (!driver.capabilities.includes(command.action)) {
      throw new AgentError(ErrorCodes.unsupported, `device ${this.config.id} (${this.config.driver}) does not support ${command.action}`);
    }
    const reading = await driver.execute(command);
    this.update(reading, true, undefined);
    this.kick();
    return this.state;
  }
}

export class DeviceSupervisor {
  readonly backoff: BackoffPolicy;
  readonly clock: Clock;
  readonly drivers: ReadonlyMap<string, DriverDefinition>;
  private readonly runners = new Map<string, DeviceRunner>();
  private readonly shared: SharedResources = new SharedResourcePool();
  private readonly stopping = new AbortController();
  private readonly waiters = new Set<{ id: string; check: (s: DeviceState) => boolean; resolve: (s: DeviceState) => void }>();

  constructor(private readonly deps: SupervisorDeps) {
    this.backoff = deps.backoff ?? DEFAULT_BACKOFF;
    this.clock = deps.clock;
    this.drivers = deps.drivers ?? DRIVERS;
  }

  start(): void {
    const saved = new Map(this.deps.store.deviceStates.all().map((s) => [s.id, s]));
    for (const config of this.deps.devices) {
      const log = this.deps.log.child({ device: config.id, driver: config.driver });
      const runner = new DeviceRunner(config, this, log, saved.get(config.id));
      this.runners.set(config.id, runner);
    }
    for (const r of this.runners.values()) r.start();
  }

  async stop(): Promise<void> {
    // First end every request under way (all links listen to this signal), then close each device.
    this.stopping.abort(new AgentError(ErrorCodes.aborted, 'the agent is stopping'));
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
  }

  contextFor(config: DeviceConfig, log: Logger, requestPoll: () => void = () => undefined): DriverContext {
    return {
      config,
      log,
      readSecret: async (path: string) => {
        try {
          return (await readFile(path, 'utf8')).trim();
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          throw new AgentError(ErrorCodes.not_found, `cannot read ${path} (${code})`, { cause: err, fault: Faults.secret_unreadable });
        }
      },
      peerState: (id: string) => this.runners.get(id)?.state,
      shared: this.shared,
      signal: this.stopping.signal,
      requestPoll,
      ...(this.deps.extraContext ?? {}),
    };
  }

  /** Called by runners; publishes and persists on change only (last_seen alone is not a change). */
  stateChanged(next: DeviceState, prev: DeviceState): void {
    if (!differs(next, prev)) return;
    this.deps.store.deviceStates.save(next, next.last_seen ?? this.clock.now().toISOString());
    this.deps.bus.emit('device.state', next, prev);
    for (const w of this.waiters) {
      if (w.id === next.id && w.check(next)) {
        this.waiters.delete(w);
        w.resolve(next);
      }
    }
  }

  states(): DeviceState[] {
    return [...this.runners.values()].map((r) => r.state);
  }

  /** Each device's last failure while offline, with its fault (drivers/faults.ts): doctor names the fix by it. */
  diagnose(): DeviceDiagnosis[] {
    return [...this.runners.values()].map((r) => ({ id: r.config.id, online: r.state.online, failure: r.state.online ? null : r.failure }));
  }

  state(id: string): DeviceState | undefined {
    return this.runners.get(id)?.state;
  }

  configOf(id: string): DeviceConfig | undefined {
    return this.runners.get(id)?.config;
  }

  /** What the county may schedule on the device (inventory `controls`), as its driver last said, offline too. */
  controls(id: string): DeviceControls | undefined {
    return controlsFrom(this.runners.get(id)?.known);
  }

  async execute(id: string, command: DeviceCommand, _source: CommandSource = 'internal'): Promise<DeviceState> {
    const runner = this.runners.get(id);
    if (!runner) throw new AgentError(ErrorCodes.not_found, `no device ${id}`);
    return runner.execute(command);
  }

  /** Resolves when the device's state satisfies `check`; rejects with `timeout`. */
  waitFor(id: string, check: (s: DeviceState) => boolean, timeoutMs: number): Promise<DeviceState> {
    const current = this.state(id);
    if (!current) return Promise.reject(new AgentError(ErrorCodes.not_found, `no device ${id}`));
    if (check(current)) return Promise.resolve(current);
    this.runners.get(id)?.kick();
    return new Promise((resolve, reject) => {
      const waiter = {
        id,
        check,
        resolve: (s: DeviceState) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new AgentError(ErrorCodes.timeout, `device ${id} did not reach the expected state within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}

function differs(a: DeviceState, b: DeviceState): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (k === 'last_seen') continue;
    const va = (a as unknown as Record<string, unknown>)[k];
    const vb = (b as unknown as Record<string, unknown>)[k];
    if (va === vb) continue;
    if (JSON.stringify(va) !== JSON.stringify(vb)) return true;
  }
  return false;
}
