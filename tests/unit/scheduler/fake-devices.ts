/**
 * An in-memory DeviceControl with the timing real hardware has: a projector warms up before it is
 * `on` (and refuses input selection meanwhile, like PJLink ERR3) and cools down before it is `off`.
 */
import type { DeviceCommand, DeviceKind, DeviceState } from '../../../drivers/types.js';
import type { DeviceControl } from '../../../agent/scheduler/steps.js';
import { AgentError } from '../../../protocol/errors.js';

export class FakeDevices implements DeviceControl {
  readonly states = new Map<string, DeviceState>();
  readonly calls: Array<{ at: number; device: string; command: DeviceCommand; source: string }> = [];
  readonly broken = new Set<string>();
  private readonly waiters = new Set<() => void>();
  warmMs = 30_000;
  coolMs = 20_000;

  constructor(
    devices: Array<{ id: string; kind: DeviceKind }>,
    private readonly onChange: (s: DeviceState, prev: DeviceState) => void = () => {},
  ) {
    for (const d of devices) this.states.set(d.id, { id: d.id, kind: d.kind, driver: 'fake', online: true, power: 'off', last_seen: null, errors: [] });
  }

  state(id: string): DeviceState | undefined {
    return this.states.get(id);
  }

  private patch(id: string, p: Partial<DeviceState>): void {
    const prev = this.states.get(id)!;
    const next = { ...prev, ...p };
    this.states.set(id, next);
    this.onChange(next, prev);
    for (const w of [...this.waiters]) w();
  }

  async execute(id: string, command: DeviceCommand, source: string): Promise<unknown> {
    this.calls.push({ at: Date.now(), device: id, command, source });
    const s = this.states.get(id);
    if (!s) throw new AgentError('not_found', `no device ${id}`);
    if (this.broken.has(id)) throw new AgentError('disconnected', `${id} does not answer`);
    if (command.action === 'power') {
      const on = command.value === 'on' || (command.value === 'toggle' && s.power === 'off');
      if (s.kind === 'projector') {
        if (on && s.power === 'off') {
          this.patch(id, { power: 'warming' });
          setTimeout(() => this.patch(id, { power: 'on', signal: true }), this.warmMs);
        } else if (!on && s.power === 'on') {
          this.patch(id, { power: 'cooling', signal: false });
          setTimeout(() => this.patch(id, { power: 'off' }), this.coolMs);
        }
      } else {
        this.patch(id, { power: on ? 'on' : 'off' });
      }
    } else if (command.action === 'input') {
      if (s.power !== 'on') throw new AgentError('busy', 'ERR3: unavailable while warming up');
      this.patch(id, { input: command.value });
    } else if (command.action === 'volume') {
      this.patch(id, { volume: command.value });
    }
    return this.states.get(id);
  }

  waitFor(id: string, check: (s: DeviceState) => boolean, timeoutMs: number): Promise<DeviceState> {
    return new Promise((resolve, reject) => {
      const test = () => {
        const s = this.states.get(id)!;
        if (check(s)) {
          this.waiters.delete(test);
          clearTimeout(timer);
          resolve(s);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(test);
        reject(new AgentError('timeout', `${id} did not reach the state in time`));
      }, timeoutMs);
      this.waiters.add(test);
      test();
    });
  }
}
