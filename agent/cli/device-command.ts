/**
 * stationctl device <id> <action> [value]. A command the device accepted is reported at once; a power
 * command that leaves the device on its way (a projector warming up for up to 100 s, or cooling down)
 * is then followed until it gets there, with progress, unless `--no-wait`. Following asks the daemon
 * once a second (agent/control/client.ts followDevice), so no request is held open for the warm-up.
 */
import type { Command } from 'commander';
import type { DeviceFault, DeviceState, PowerState } from '../../drivers/types.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { followDevice } from '../control/client.js';
import type { DeviceCommandResult } from '../control/protocol.js';
import type { MessageKey } from '../i18n/index.js';
import type { CliContext } from './context.js';
import { faultText } from '../../protocol/words/faults.js';

/** Long enough for a lamp's third ignition attempt (100 s) and a long cool-down. */
const DEFAULT_FOLLOW_S = 180;
/** Without a terminal (a script, a log), one progress line this often. */
const PROGRESS_EVERY_MS = 10_000;

type Outcome = { kind: 'reached'; state: DeviceState } | { kind: 'offline'; state: DeviceState } | { kind: 'fault'; state: DeviceState; fault: DeviceFault };

/** Progress in place on a terminal, else a line when the power state changes and every 10 s. */
class Progress {
  private lastLine = 0;
  private lastPower: PowerState | undefined;
  private inPlace = false;

  constructor(private readonly c: CliContext) {}

  update(s: DeviceState, ms: number): void {
    if (this.c.opts.json) return;
    const line = this.c.t('device.progress', { power: this.c.t(`power.${s.power}` as MessageKey), seconds: Math.round(ms / 1000) });
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line}\x1b[K`);
      this.inPlace = true;
      return;
    }
    if (s.power !== this.lastPower || ms - this.lastLine >= PROGRESS_EVERY_MS) {
      if (this.lastPower !== undefined) this.c.out(line);
      this.lastPower = s.power;
      this.lastLine = ms;
    }
  }

  end(): void {
    if (this.inPlace) process.stdout.write('\r\x1b[K');
    this.inPlace = false;
  }
}

async function follow(c: CliContext, id: string, result: DeviceCommandResult & { target: 'on' | 'off' }, timeoutS: number): Promise<void> {
  const { t } = c;
  const target = result.target;
  // Faults the device already had are not news; one that appears on the way is why it did not get there.
  const known = new Set(result.errors.filter((e) => e.severity === 'error').map((e) => e.code));
  let outcome: Outcome | undefined;
  let last: DeviceState = result;
  const progress = new Progress(c);
  const started = Date.now();
  try {
    await followDevice(
      c.config().control.socket,
      id,
      (s) => {
        const fresh = s.errors.find((e) => e.severity === 'error' && !known.has(e.code));
        if (s.online && s.power === target) outcome = { kind: 'reached', state: s };
        else if (!s.online) outcome = { kind: 'offline', state: s };
        else if (fresh) outcome = { kind: 'fault', state: s, fault: fresh };
        return outcome !== undefined;
      },
      {
        timeoutMs: timeoutS * 1000,
        onState: (s, ms) => {
          last = s;
          progress.update(s, ms);
        },
      },
    );
  } catch (err) {
    progress.end();
    if (!(err instanceof AgentError) || err.code !== ErrorCodes.timeout) throw err;
    const text = t('device.follow_timeout', { device: id, power: t(`power.${last.power}` as MessageKey), seconds: timeoutS, cmd: 'stationctl devices' });
    if (c.opts.json) c.print({ ...last, accepted: true, done: false, target }, () => text);
    else c.err(text);
    process.exitCode = 1;
    return;
  }
  progress.end();
  const o = outcome!;
  const seconds = Math.round((Date.now() - started) / 1000);
  c.print({ ...o.state, accepted: true, done: o.kind === 'reached', target }, () => {
    if (o.kind === 'reached') return t(target === 'on' ? 'device.reached_on' : 'device.reached_off', { device: id, seconds });
    const fault = o.kind === 'fault' ? o.fault : o.state.errors[0];
    const why = fault ? faultText(t, fault) : t('power.unknown');
    return t(o.kind === 'offline' ? 'device.went_offline' : 'device.failed_on_the_way', { device: id, target: t(`power.${target}`), why });
  });
  if (o.kind !== 'reached') process.exitCode = 1;
}

export function registerDeviceCommand(program: Command, ctx: () => CliContext): void {
  program
    .command('device <id> <action> [value]')
    .description('control a device: power on|off|toggle, input <code>, mute on|off, volume <n>, brightness <n>, blank on|off / 控制设备')
    .option('--no-wait', 'return once the device accepted the command / 设备接受指令后立即返回，不等待预热或散热')
    .option('--timeout <seconds>', 'follow a warm-up or cool-down at most this long / 最长等待秒数', String(DEFAULT_FOLLOW_S))
    .action(async (id: string, action: string, value: string | undefined, opts: { wait: boolean; timeout: string }) => {
      const c = ctx();
      const { t } = c;
      const timeoutS = Number(opts.timeout);
      if (!Number.isInteger(timeoutS) || timeoutS < 1 || timeoutS > 3600) throw new AgentError(ErrorCodes.invalid_args, '--timeout must be a whole number of seconds, 1..3600');
      const result = await c.call<DeviceCommandResult>(`device.${action}`, { device: id, value });
      // An agent older than this stationctl answers the bare state: it waited for the command to finish.
      if (result.done !== false || result.target === undefined) {
        c.print(result, () => t('device.done', { device: id, action, value: value ?? '', power: t(`power.${result.power}` as MessageKey) }));
        return;
      }
      const accepted = t(result.target === 'on' ? 'device.accepted_on' : 'device.accepted_off', { device: id });
      if (!opts.wait) {
        c.print(result, () => `${accepted}\n${t('device.no_wait', { cmd: 'stationctl devices' })}`);
        return;
      }
      if (!c.opts.json) c.out(accepted);
      await follow(c, id, { ...result, target: result.target }, timeoutS);
    });
}
