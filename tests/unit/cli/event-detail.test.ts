import { describe, it, expect } from 'vitest';
import { eventDetail } from '../../../agent/cli/commands-records.js';
import { CliContext } from '../../../agent/cli/context.js';
import type { EventRecord } from '../../../protocol/event-record.js';

const base = { v: 1 as const, seq: 7, ledger: '01HLEDGERXXXXXXXXXXXXXXXXX', id: '01HXXXXXXXXXXXXXXXXXXXXXXX', station_id: 's', ts: '2026-11-28T12:00:00.000Z', clock: 'synced' as const, boot: 3 };
const events: EventRecord[] = [
  { ...base, type: 'schedule_run', severity: 'info', message: 'schedule tuesday-class start: 3/4 steps ok', data: { schedule_id: 'tuesday-class', phase: 'start', steps: [{ status: 'ok' }, { status: 'ok' }, { status: 'ok' }, { status: 'timeout' }] } },
  { ...base, type: 'lamp_warning', severity: 'warning', device: 'projector', message: 'projector: lamp at 3010 h (warning from 3000 h)', data: { lamp_hours: 3010, lamp_warn_hours: 3000 } },
  { ...base, type: 'device_fault', severity: 'error', device: 'projector', message: 'projector: lamp failure', data: { code: 'lamp', text: 'lamp failure' } },
  { ...base, type: 'device_offline', severity: 'warning', device: 'amp', message: 'amp has been offline for more than 10 min', data: { offline_warn_min: 10 } },
  { ...base, type: 'agent_start', severity: 'info', message: 'agent 0.1.0 started (start 3)', data: { version: '0.1.0' } },
  {
    ...base,
    type: 'power_loss_recovered',
    severity: 'warning',
    message: 'usage session 01HY closed at its last checkpoint (2026-11-28T12:34:00.000Z)',
    data: { session_id: '01HY', seq: 12, end: '2026-11-28T12:34:00.000Z' },
  },
];

describe('event lines', () => {
  it('are rebuilt from the event data in Chinese, with no English words left', () => {
    const ctx = new CliContext({ json: false, lang: 'zh' }, () => undefined, () => undefined);
    const lines = events.map((e) => eventDetail(ctx, e, 'Asia/Shanghai'));
    expect(lines[0]).toBe('tuesday-class 开始：3/4 步成功');
    expect(lines[1]).toBe('3010 小时（提醒阈值 3000 小时）');
    // A fault the catalogue knows is named in words; only an unknown code is shown as the code.
    expect(lines[2]).toBe('灯泡故障');
    expect(eventDetail(ctx, { ...events[2]!, data: { code: 'xyz' } }, 'Asia/Shanghai')).toBe('故障代码 xyz');
    expect(lines[3]).toBe('离线超过 10 分钟');
    // An event without the data its line needs (another agent version) is not a line of question marks.
    expect(eventDetail(ctx, { ...events[3]!, data: undefined }, 'Asia/Shanghai')).toBe('-');
    expect(lines[4]).toBe('版本 0.1.0，第 3 次启动');
    expect(lines[5]).toBe('使用记录 #12 按最后检查点 2026-11-28 20:34 结束');
    // Only ids and codes may be ASCII.
    for (const l of lines) expect(l.replace(/tuesday-class|lamp\b/g, '').match(/[A-Za-z]{2,}/g)).toBeNull();
  });

  it('show the stored message in English, except a time in it, which is in the station time zone', () => {
    const ctx = new CliContext({ json: false, lang: 'en' }, () => undefined, () => undefined);
    const plain = events.filter((e) => e.type !== 'power_loss_recovered');
    expect(plain.map((e) => eventDetail(ctx, e, 'Asia/Shanghai'))).toEqual(plain.map((e) => e.message));
    expect(eventDetail(ctx, events.at(-1)!, 'Asia/Shanghai')).toBe('usage record #12 closed at its last checkpoint 2026-11-28 20:34');
  });
});
