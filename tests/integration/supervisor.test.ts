import { describe, it, expect, afterEach, vi } from 'vitest';
import { DeviceSupervisor } from '../../agent/supervisor.js';
import { EventBus } from '../../agent/bus.js';
import { Store } from '../../agent/store/store.js';
import { AgentError } from '../../protocol/errors.js';
import { silentLogger } from '../../agent/log.js';
import type { DeviceConfig } from '../../config/schema.js';
import type { DeviceDriver, DeviceReading, DeviceState, DriverDefinition } from '../../drivers/types.js';
import { tempDir, removeDir, waitFor } from '../../scripts/lib/kit/index.js';

/** An in-memory projector whose behaviour each test scripts. */
class FakeDevice {
  power: 'on' | 'off' = 'off';
  failOpen: AgentError | undefined;
  failPoll: AgentError | undefined;
  opens = 0;
  polls = 0;
  disconnect: ((e: Error) => void) | undefined;

  definition(name = 'fake'): DriverDefinition {
    return {
      name,
      kinds: ['projector'],
      create: (): DeviceDriver => ({
        capabilities: ['power'],
        open: async () => {
          this.opens++;
          if (this.failOpen) throw this.failOpen;
          return { model: 'FAKE-1', power: this.power };
        },
        poll: async (): Promise<DeviceReading> => {
          this.polls++;
          if (this.failPoll) throw this.failPoll;
          return { power: this.power, lamp_hours: 10 };
        },
        execute: async (cmd) => {
          if (cmd.action === 'power') this.power = cmd.value === 'on' ? 'on' : 'off';
          return { power: this.power };
        },
        close: async () => undefined,
        onDisconnect: (fn) => (this.disconnect = fn),
      }),
    };
  }
}

const clock = { now: () => new Date(), monotonicMs: () => performance.now(), quality: () => 'synced' as const };
const fastBackoff = { initialMs: 20, maxMs: 100, authMs: 60_000 };
const dirs: string[] = [];
const sups: DeviceSupervisor[] = [];
const stores: Store[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(sups.splice(0).map((s) => s.stop()));
  stores.splice(0).forEach((s) => s.close());
  dirs.splice(0).forEach(removeDir);
});

function device(id: string, driver = 'fake', poll_s = 0.05): DeviceConfig {
  return { id, kind: 'projector', driver, host: 'x', port: 4352, poll_s, offline_warn_min: 10, usage: true } as unknown as DeviceConfig;
}

function setup(devices: DeviceConfig[], defs: DriverDefinition[]) {
  const dir = tempDir('sup-');
  dirs.push(dir);
  const store = Store.open(dir);
  stores.push(store);
  const bus = new EventBus(silentLogger);
  const changes: DeviceState[] = [];
  bus.on('device.state', {}, (s) => changes.push(s));
  const sup = new DeviceSupervisor({ devices, log: silentLogger, bus, store, clock, backoff: fastBackoff, drivers: new Map(defs.map((d) => [d.name, d])) });
  sups.push(sup);
  sup.start();
  return { sup, store, changes };
}

describe('device supervisor', () => {
  it('brings a device online, publishes changes only, and persists state on change only', async () => {
    const fake = new FakeDevice();
    const { sup, store, changes } = setup([device('p1')], [fake.definition()]);
    await waitFor(() => sup.state('p1')?.online);
    await waitFor(() => fake.polls >= 5);
    expect(sup.state('p1')).toMatchObject({ id: 'p1', online: true, power: 'off', model: 'FAKE-1', lamp_hours: 10, errors: [] });
    // open → online (1), first poll adds lamp_hours (2); then identical polls change nothing.
    expect(changes.length).toBe(2);
    expect(store.deviceStates.all().find((s) => s.id === 'p1')).toMatchObject({ online: true, lamp_hours: 10 });
  });

  it('marks a silent device offline with the error, then back online when it answers again', async () => {
    const fake = new FakeDevice();
    const { sup } = setup([device('p1')], [fake.definition()]);
    await waitFor(() => sup.state('p1')?.online);
    fake.failPoll = new AgentError('timeout', 'no reply within 2000 ms');
    fake.failOpen = new AgentError('timeout', 'connect timed out');
    await waitFor(() => sup.state('p1')?.online === false);
    expect(sup.state('p1')!.errors[0]).toMatchObject({ code: 'unreachable', severity: 'error' });
    fake.failPoll = undefined;
    fake.failOpen = undefined;
    await waitFor(() => sup.state('p1')?.online, 3000);
    expect(sup.state('p1')!.errors).toEqual([]);
  });

  it('reopens after the driver reports a lost link', async () => {
    const fake = new FakeDevice();
    const { sup } = setup([device('p1', 'fake', 10)], [fake.definition()]);
    await waitFor(() => sup.state('p1')?.online);
    expect(fake.opens).toBe(1);
    fake.disconnect!(new Error('adapter unplugged'));
    await waitFor(() => fake.opens >= 2, 3000);
    await waitFor(() => sup.state('p1')?.online);
  });

  it('does not retry a wrong password in a tight loop: the next try comes after authMs', async () => {
    // Fake timers: the retry delay is the behaviour under test, and only the supervisor's own timer moves.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const fake = new FakeDevice();
    fake.failOpen = new AgentError('auth', 'PJLink authentication failed');
    const { sup } = setup([device('p1')], [fake.definition()]);
    await vi.advanceTimersByTimeAsync(fastBackoff.authMs - 1);
    expect(fake.opens).toBe(1);
    expect(sup.state('p1')!.errors[0]).toMatchObject({ code: 'auth_failed' });
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.opens).toBe(2);
  });

  it('keeps the other devices running when one driver is missing or broken', async () => {
    const good = new FakeDevice();
    const broken: DriverDefinition = {
      name: 'broken',
      kinds: ['projector'],
      create: () => {
        throw new Error('constructor blew up');
      },
    };
    const { sup } = setup([device('bad', 'broken'), device('missing', 'nonexistent'), device('good')], [good.definition(), broken]);
    await waitFor(() => sup.state('good')?.online);
    expect(sup.state('missing')!.errors[0]!.code).toBe('driver_unavailable');
    expect(sup.state('bad')!.online).toBe(false);
  });

  it('executes commands, refuses unsupported ones, and waits for a state', async () => {
    const fake = new FakeDevice();
    const { sup } = setup([device('p1')], [fake.definition()]);
    await waitFor(() => sup.state('p1')?.online);
    const waiting = sup.waitFor('p1', (s) => s.power === 'on', 2000);
    const after = await sup.execute('p1', { action: 'power', value: 'on' });
    expect(after.power).toBe('on');
    await expect(waiting).resolves.toMatchObject({ power: 'on' });
    await expect(sup.execute('p1', { action: 'volume', value: 3 })).rejects.toMatchObject({ code: 'unsupported' });
    await expect(sup.execute('nope', { action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(sup.waitFor('p1', (s) => s.power === 'warming', 100)).rejects.toMatchObject({ code: 'timeout' });
  });
});
