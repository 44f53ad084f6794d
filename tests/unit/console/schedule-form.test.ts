/**
 * The schedule form becomes a `schedule.set` request the agent's own schema (agent/scheduler/commands.ts
 * ScheduleSetArgs) accepts; what it would refuse is refused on the form, with the field named.
 */
import { describe, it, expect } from 'vitest';
import { ScheduleSetArgs } from '../../../protocol/schedule.js';
import { buildScheduleArgs, emptyForm, formCron, readScheduleForm } from '../../../county/console/schedule-form.js';
import { HttpError } from '../../../county/console/http.js';

function form(fields: Record<string, string | string[]>): URLSearchParams {
  const f = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) f.append(k, x);
  return f;
}

const CLASS = {
  target: 'town',
  town: '城关镇',
  mode: 'set',
  id: 'winter-class',
  name: '冬季农业技术培训',
  days: ['4', '2'],
  time: '19:30',
  duration: '90',
  enabled: 'on',
  step_device_0: 'projector',
  step_action_0: 'power',
  step_value_0: 'on',
  step_wait_0: 'on',
  step_device_1: 'amp',
  step_action_1: 'volume',
  step_value_1: '40',
};

describe('schedule form', () => {
  it('builds the schedule.set of a weekly class, accepted by the agent’s schema', () => {
    const v = readScheduleForm(form(CLASS));
    expect(v.target).toBe('town');
    const built = buildScheduleArgs(v, 'Asia/Shanghai');
    expect(built).toEqual({
      ok: true,
      args: {
        schedule: {
          id: 'winter-class',
          name: '冬季农业技术培训',
          cron: '30 19 * * 2,4',
          duration_min: 90,
          enabled: true,
          steps: [
            { device: 'projector', action: 'power', value: 'on', wait_for: 'on' },
            { device: 'amp', action: 'volume', value: 40 },
          ],
        },
      },
    });
    expect(ScheduleSetArgs.safeParse(built.ok && built.args).success).toBe(true);
  });

  it('refuses a step value its action cannot take, naming the step, what it takes and what was typed', () => {
    const cases: Array<[string, string, string]> = [
      ['power', '开', 'form.step_value.power'],
      ['power', '', 'form.step_value.power'],
      ['volume', 'loud', 'form.step_value.volume'],
      ['volume', '101', 'form.step_value.volume'],
      ['brightness', '-1', 'form.step_value.brightness'],
      ['mute', 'toggle', 'form.step_value.mute'],
      ['blank', '黑', 'form.step_value.blank'],
      ['input', 'HDMI 1', 'form.step_value.input'],
    ];
    for (const [action, value, key] of cases) {
      const built = buildScheduleArgs(readScheduleForm(form({ ...CLASS, step_action_1: action, step_value_1: value })), 'Asia/Shanghai');
      expect(built, `${action} ${value}`).toEqual({ ok: false, problems: [{ key, params: { n: '2', value } }] });
    }
    for (const [action, value] of [['power', 'toggle'], ['power', 'off'], ['mute', 'on'], ['input', '31'], ['input', 'HDMI1'], ['brightness', '100'], ['volume', '0']]) {
      expect(buildScheduleArgs(readScheduleForm(form({ ...CLASS, step_action_1: action!, step_value_1: value! })), 'Asia/Shanghai').ok, `${action} ${value}`).toBe(true);
    }
  });

  it('takes a cron expression instead of days and time, and checks it', () => {
    expect(formCron({ ...emptyForm(), cron: '0 20 * * 1-5' })).toBe('0 20 * * 1-5');
    const bad = buildScheduleArgs(readScheduleForm(form({ ...CLASS, cron: '0 25 * * *' })), 'Asia/Shanghai');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems.map((p) => p.params?.['field'])).toContain('cron');
  });

  it('names what is missing: days, a valid time, a step, a valid id, a length', () => {
    const problems = (fields: Record<string, string | string[]>) => {
      const b = buildScheduleArgs(readScheduleForm(form(fields)), 'Asia/Shanghai');
      return b.ok ? [] : b.problems.map((p) => (p.key === 'form.field' ? `field:${p.params!['field']}` : p.key));
    };
    expect(problems({ ...CLASS, days: [] })).toContain('form.days');
    expect(problems({ ...CLASS, time: '25:00' })).toContain('form.time');
    expect(problems({ ...CLASS, step_device_0: '', step_device_1: '' })).toContain('form.steps');
    expect(problems({ ...CLASS, id: 'Winter Class' })).toContain('field:schedule.id');
    expect(problems({ ...CLASS, duration: '0' })).toContain('field:schedule.duration_min');
    expect(problems({ ...CLASS, duration: '2000' })).toContain('field:schedule.duration_min');
    expect(problems({ ...CLASS, step_device_0: 'Projector!' })).toContain('field:schedule.steps.0.device');
  });

  it('deletes by id', () => {
    expect(buildScheduleArgs(readScheduleForm(form({ target: 'all', mode: 'delete', id: 'old-class' })), 'Asia/Shanghai')).toEqual({
      ok: true,
      args: { delete: 'old-class' },
    });
    expect(buildScheduleArgs(readScheduleForm(form({ target: 'all', mode: 'delete', id: '' })), 'Asia/Shanghai').ok).toBe(false);
  });

  it('ignores values outside the choices and refuses oversized fields', () => {
    const v = readScheduleForm(form({ ...CLASS, target: 'everyone', step_action_0: 'format_disk', days: ['9', '1'] }));
    expect(v.target).toBe('station');
    expect(v.steps[0]!.action).toBe('power');
    expect(v.days).toEqual(['1']);
    expect(() => readScheduleForm(form({ ...CLASS, name: 'x'.repeat(101) }))).toThrow(HttpError);
  });
});
