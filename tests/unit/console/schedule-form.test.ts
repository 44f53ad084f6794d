/**
 * The schedule form becomes a `schedule.set` request the agent's own schema (ScheduleSetArgs) accepts.
 * Each step is a choice the target's devices offer (device-choices.ts); a step no device offers, or a value
 * its action cannot take, is refused on the form in words, naming the step.
 */
import { describe, it, expect } from 'vitest';
import { ScheduleSetArgs } from '../../../protocol/schedule.js';
import { buildScheduleArgs, emptyForm, formCron, readScheduleForm } from '../../../county/console/schedule-form.js';
import { commonDevices, offerFor, offers, parseChoice, stepOptions, type Offer } from '../../../county/console/device-choices.js';
import { readDevices } from '../../../county/console/inventory-read.js';
import { HttpError } from '../../../county/console/http.js';
import { consoleTranslator } from '../../../county/console/i18n.js';

const zh = consoleTranslator('zh');

function form(fields: Record<string, string | string[]>): URLSearchParams {
  const f = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) f.append(k, x);
  return f;
}

const PROJECTOR = { id: 'projector', name: '活动室投影机', kind: 'projector', driver: 'pjlink', controls: { actions: ['power', 'input', 'mute'], inputs: [{ code: '31', kind: 'digital', n: 1 }, { code: '11', kind: 'computer', n: 1 }] } };
const AMP = { id: 'amp', name: '功放', kind: 'amplifier', driver: 'frame_profile', controls: { actions: ['power', 'volume', 'mute'] } };
const LED = { id: 'led', name: null, kind: 'led_display', driver: 'novastar', controls: { actions: ['brightness', 'blank'] } };
const STB = { id: 'stb', name: '机顶盒', kind: 'settopbox', driver: 'net_presence', controls: { actions: [] } };
const OFFER: Offer = offerFor(zh, [{ station_id: 'a', devices: [PROJECTOR, AMP, LED, STB] }], 1);

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
  step_0: 'projector|power|on',
  step_wait_0: 'on',
  step_1: 'amp|volume|',
  step_value_1: '40',
};

describe('what the form offers', () => {
  it('offers each device by its name with only the steps it takes, and nothing for a device that takes none', () => {
    expect(OFFER.devices.map((d) => [d.id, d.label])).toEqual([['projector', '活动室投影机'], ['amp', '功放'], ['led', 'LED显示屏']]);
    const options = (id: string) => stepOptions(zh, OFFER.devices.find((d) => d.id === id)!).map((o) => `${o.value} ${o.text}${o.needs ? ` [${o.needs}]` : ''}`);
    expect(options('projector')).toEqual([
      'projector|power|on 开机',
      'projector|power|off 关机',
      'projector|power|toggle 开关机切换',
      'projector|input|31 切换到数字（HDMI/DVI） 1',
      'projector|input|11 切换到电脑 1',
      'projector|mute|on 静音',
      'projector|mute|off 取消静音',
    ]);
    expect(options('amp')).toEqual(['amp|power|on 开机', 'amp|power|off 关机', 'amp|power|toggle 开关机切换', 'amp|mute|on 静音', 'amp|mute|off 取消静音', 'amp|volume| 调音量（填 0–100） [level]']);
    expect(options('led')).toEqual(['led|brightness| 调亮度（填 0–100） [level]', 'led|blank|on 黑屏', 'led|blank|off 取消黑屏']);
  });

  it('goes by the driver for a station older than controls, and offers a typed code when no input list is known', () => {
    const [old] = readDevices([{ id: 'projector', name: null, kind: 'projector', driver: 'nec' }]);
    expect(old).toMatchObject({ actions: ['power', 'input', 'mute'], inputs: null });
    const offer = offerFor(zh, [{ station_id: 'x', devices: [{ id: 'projector', name: null, kind: 'projector', driver: 'nec' }] }], 1);
    expect(stepOptions(zh, offer.devices[0]!).find((o) => o.value === 'projector|input|')).toMatchObject({ text: '切换输入源（填写代码）', needs: 'code' });
    expect(offers(offer, 'projector', 'input', 'A6')).toBe(true);
    expect(offers(offer, 'projector', 'volume', '3')).toBe(false);
  });

  it('for several stations offers what all of them have: the same device, the actions and inputs all take', () => {
    const a = readDevices([PROJECTOR, AMP, LED]);
    const b = readDevices([{ ...PROJECTOR, name: '投影机', controls: { actions: ['power', 'input'], inputs: [{ code: '31', kind: 'digital', n: 1 }] } }, { ...AMP, controls: { actions: ['power'] } }]);
    const c = readDevices([{ ...PROJECTOR }, { ...AMP, controls: { actions: ['power', 'volume'] } }]);
    const common = commonDevices([a, b, c]);
    expect(common.map((d) => [d.id, d.name, d.actions, d.inputs?.map((i) => i.code) ?? null])).toEqual([
      ['projector', '活动室投影机', ['power', 'input'], ['31']],
      ['amp', '功放', ['power'], null],
    ]);
    // Inputs with nothing in common: no input step at all, not "any code".
    const d = readDevices([{ ...PROJECTOR, controls: { actions: ['power', 'input'], inputs: [{ code: '21', kind: 'video' }] } }]);
    expect(commonDevices([a, d])[0]).toMatchObject({ actions: ['power'], inputs: null });
    // Stations that reported nothing are counted, not intersected.
    const offer = offerFor(zh, [{ station_id: 'a', devices: [PROJECTOR] }, { station_id: 'b', devices: [] }], 3);
    expect(offer).toMatchObject({ stations: 3, reported: 1 });
    expect(offer.devices.map((x) => x.id)).toEqual(['projector']);
  });

  it('reads a choice back strictly', () => {
    expect(parseChoice('projector|input|31')).toEqual({ device: 'projector', action: 'input', value: '31' });
    expect(parseChoice('amp|volume|')).toEqual({ device: 'amp', action: 'volume', value: '' });
    expect(parseChoice('Projector|power|on')).toBeNull();
    expect(parseChoice('projector power on')).toBeNull();
  });
});

describe('schedule form', () => {
  it('builds the schedule.set of a weekly class, accepted by the agent’s schema', () => {
    const v = readScheduleForm(form(CLASS));
    expect(v.target).toEqual({ kind: 'town', station: '', town: '城关镇' });
    const built = buildScheduleArgs(v, 'Asia/Shanghai', OFFER);
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

  it('refuses a step no device of the target offers (forged, or from another station), naming the step', () => {
    for (const choice of ['projector|volume|', 'projector|input|32', 'stb|power|on', 'nobody|power|on', 'projector power on']) {
      const built = buildScheduleArgs(readScheduleForm(form({ ...CLASS, step_1: choice, step_value_1: '5' })), 'Asia/Shanghai', OFFER);
      expect(built, choice).toEqual({ ok: false, problems: [{ key: 'form.step_choice', params: { n: 2 } }] });
    }
  });

  it('refuses a value its action cannot take, naming the step, what it takes and what was typed', () => {
    const cases: Array<[string, string, string]> = [
      ['projector|power|开', '', 'form.step_value.power'],
      ['amp|volume|', 'loud', 'form.step_value.volume'],
      ['amp|volume|', '101', 'form.step_value.volume'],
      ['amp|volume|', '', 'form.step_value.volume'],
      ['led|brightness|', '-1', 'form.step_value.brightness'],
      ['amp|mute|toggle', '', 'form.step_value.mute'],
    ];
    // A forged `开` would not be offered anyway: the offer check is what meets it first …
    expect(buildScheduleArgs(readScheduleForm(form({ ...CLASS, step_1: 'projector|power|开' })), 'Asia/Shanghai', OFFER).ok).toBe(false);
    // … and the contract's rule is behind it for every value the offer lets through.
    const any: Offer = { ...OFFER, devices: OFFER.devices.map((d) => ({ ...d, actions: ['power', 'input', 'mute', 'volume', 'brightness', 'blank'], inputs: null })) };
    for (const [choice, value, key] of cases) {
      const built = buildScheduleArgs(readScheduleForm(form({ ...CLASS, step_1: choice, step_value_1: value })), 'Asia/Shanghai', any);
      const typed = choice.endsWith('|') ? value : choice.split('|')[2]!;
      expect(built, `${choice} ${value}`).toEqual({ ok: false, problems: [{ key, params: { n: '2', value: typed } }] });
    }
    for (const [choice, value] of [['projector|power|toggle', ''], ['amp|mute|on', ''], ['projector|input|31', ''], ['led|brightness|', '100'], ['amp|volume|', '0'], ['led|blank|off', '']]) {
      expect(buildScheduleArgs(readScheduleForm(form({ ...CLASS, step_1: choice!, step_value_1: value! })), 'Asia/Shanghai', OFFER).ok, choice).toBe(true);
    }
  });

  it('names what is missing, in words: days, a valid time, a step, a valid id, a length', () => {
    const problems = (fields: Record<string, string | string[]>) => {
      const b = buildScheduleArgs(readScheduleForm(form(fields)), 'Asia/Shanghai', OFFER);
      return b.ok ? [] : b.problems.map((p) => p.key);
    };
    expect(problems({ ...CLASS, days: [] })).toEqual(['form.days']);
    expect(problems({ ...CLASS, time: '25:00' })).toEqual(['form.time']);
    expect(problems({ ...CLASS, step_0: '', step_1: '' })).toEqual(['form.steps']);
    expect(problems({ ...CLASS, id: 'Winter Class' })).toEqual(['form.id']);
    expect(problems({ ...CLASS, duration: '0' })).toEqual(['form.duration']);
    expect(problems({ ...CLASS, duration: '2000' })).toEqual(['form.duration']);
    expect(formCron({ ...emptyForm(), days: ['5', '1'], time: '7:05' })).toBe('5 7 * * 1,5');
  });

  it('deletes by id', () => {
    expect(buildScheduleArgs(readScheduleForm(form({ target: 'all', mode: 'delete', id: 'old-class' })), 'Asia/Shanghai', OFFER)).toEqual({ ok: true, args: { delete: 'old-class' } });
    const empty = buildScheduleArgs(readScheduleForm(form({ target: 'all', mode: 'delete', id: '' })), 'Asia/Shanghai', OFFER);
    expect(empty).toEqual({ ok: false, problems: [{ key: 'form.id' }] });
  });

  it('ignores values outside the choices and refuses oversized fields', () => {
    const v = readScheduleForm(form({ ...CLASS, target: 'everyone', step_wait_0: 'forever', days: ['9', '1', '1'] }));
    expect(v.target.kind).toBe('');
    expect(v.steps[0]!.wait_for).toBe('');
    expect(v.days).toEqual(['1']);
    expect(() => readScheduleForm(form({ ...CLASS, name: 'x'.repeat(101) }))).toThrow(HttpError);
    expect(() => readScheduleForm(form({ ...CLASS, step_0: 'x'.repeat(129) }))).toThrow(HttpError);
  });
});
