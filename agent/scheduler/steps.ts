/**
 * Runs a schedule's step sequence against real device state: each step is a device command, optionally
 * followed by waiting for the device to report a power state, each with its own timeout. Every step's
 * outcome is reported; one failed device does not stop the others (the amplifier still comes on when
 * the projector lamp is dead), but later steps on a failed device are skipped.
 */
import { STEP_VALUE_RULES, stepValueFits, type ScheduleStep } from '../../protocol/schedule.js';
import type { DeviceCommand, DeviceState } from '../../drivers/types.js';
import type { CommandSource } from '../commands.js';
import { AgentError, ErrorCodes, toAgentError } from '../../protocol/errors.js';

/** What the scheduler needs from the device supervisor (DeviceSupervisor satisfies it). */
export interface DeviceControl {
  state(id: string): DeviceState | undefined;
  execute(id: string, command: DeviceCommand, source: CommandSource): Promise<unknown>;
  /** Resolves when `check` holds for the device's state; rejects with code `timeout`. */
  waitFor(id: string, check: (s: DeviceState) => boolean, timeoutMs: number): Promise<DeviceState>;
}

export type StepStatus = 'ok' | 'failed' | 'timeout' | 'skipped';

export interface StepOutcome {
  device: string;
  action: ScheduleStep['action'];
  value: ScheduleStep['value'];
  status: StepStatus;
  ms: number;
  error?: { code: string; message: string };
}

export interface StepRunOptions {
  control: DeviceControl;
  monotonicMs: () => number;
  /** Told before a step switches a device on, so the session it opens carries the schedule trigger. */
  beforePowerOn?: () => void;
  signal?: AbortSignal;
}

const asOnOff = (v: ScheduleStep['value']): boolean | undefined =>
  v === true || v === 'on' ? true : v === false || v === 'off' ? false : undefined;

/**
 * Turns a step into a device command. A parsed step always fits (protocol/schedule.ts refuses a value
 * its action cannot take where the step enters); this is the last guard for a step built in code.
 */
export function stepCommand(step: ScheduleStep): DeviceCommand {
  if (!stepValueFits(step.action, step.value)) {
    throw new AgentError(ErrorCodes.invalid_args, `${step.device} ${step.action}: expected ${STEP_VALUE_RULES[step.action]}, got ${JSON.stringify(step.value)}`);
  }
  switch (step.action) {
    case 'power':
      return { action: 'power', value: step.value === 'toggle' ? 'toggle' : asOnOff(step.value) ? 'on' : 'off' };
    case 'input':
      return { action: 'input', value: String(step.value) };
    case 'mute':
    case 'blank':
      return { action: step.action, value: asOnOff(step.value) === true };
    case 'volume':
    case 'brightness':
      return { action: step.action, value: Number(step.value) };
  }
}

/** The default end: every device the steps switched on, switched off in reverse order. */
export function defaultEndSteps(steps: readonly ScheduleStep[]): ScheduleStep[] {
  const seen = new Set<string>();
  const out: ScheduleStep[] = [];
  for (const s of [...steps].reverse()) {
    if (s.action !== 'power' || asOnOff(s.value) !== true || seen.has(s.device)) continue;
    seen.add(s.device);
    out.push({ device: s.device, action: 'power', value: 'off', timeout_s: s.timeout_s });
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new AgentError(ErrorCodes.timeout, `${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
    const onAbort = () => reject(new AgentError(ErrorCodes.aborted, 'the agent is stopping'));
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
  });
}

export async function runSteps(steps: readonly ScheduleStep[], options: StepRunOptions): Promise<StepOutcome[]> {
  const { control, signal } = options;
  const failed = new Set<string>();
  /** Devices switched on by an earlier step: later steps on them wait until they are really on. */
  const poweringOn = new Set<string>();
  const outcomes: StepOutcome[] = [];
  for (const step of steps) {
    const t0 = options.monotonicMs();
    const base = { device: step.device, action: step.action, value: step.value };
    if (signal?.aborted) {
      outcomes.push({ ...base, status: 'skipped', ms: 0, error: { code: ErrorCodes.aborted, message: 'the agent is stopping' } });
      continue;
    }
    if (failed.has(step.device)) {
      outcomes.push({ ...base, status: 'skipped', ms: 0, error: { code: 'previous_step_failed', message: `an earlier step on ${step.device} failed` } });
      continue;
    }
    const timeoutMs = step.timeout_s * 1000;
    try {
      const command = stepCommand(step);
      if (command.action !== 'power' && poweringOn.has(step.device)) {
        // The projector ignores (or refuses) input selection while warming up.
        await withTimeout(control.waitFor(step.device, (s) => s.online && s.power === 'on', timeoutMs), timeoutMs, `${step.device} warm-up`, signal);
      }
      if (command.action === 'power' && command.value !== 'off') options.beforePowerOn?.();
      await withTimeout(control.execute(step.device, command, 'schedule'), timeoutMs, `${step.device} ${step.action}`, signal);
      if (command.action === 'power') {
        if (command.value === 'on') poweringOn.add(step.device);
        else poweringOn.delete(step.device);
      }
      if (step.wait_for) {
        const want = step.wait_for;
        await withTimeout(control.waitFor(step.device, (s) => s.online && s.power === want, timeoutMs), timeoutMs, `${step.device} ${want}`, signal);
        if (want === 'on') poweringOn.delete(step.device);
      }
      outcomes.push({ ...base, status: 'ok', ms: Math.round(options.monotonicMs() - t0) });
    } catch (err) {
      const e = toAgentError(err);
      failed.add(step.device);
      outcomes.push({
        ...base,
        status: e.code === ErrorCodes.timeout ? 'timeout' : e.code === ErrorCodes.aborted ? 'skipped' : 'failed',
        ms: Math.round(options.monotonicMs() - t0),
        error: e.toJSON(),
      });
    }
  }
  return outcomes;
}
