/**
 * stationctl sessions / events / schedule / session note as real child processes: from the database
 * (read-only) when the daemon is stopped, and alongside a running daemon. The ledger rows are written
 * through the real Store and its repositories (outbox, sessions, schedules), as the agent writes them.
 */
import { describe, it, expect, afterEach } from 'vitest';
import stringWidth from 'string-width';
import { Store } from '../../../agent/store/store.js';
import { UsageRecordSchema, type UsageRecord } from '../../../protocol/usage-record.js';
import { EventRecordSchema, type EventRecord } from '../../../protocol/event-record.js';
import { tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { writeConfig, ctl, startAgent, waitReady, type RunningAgent } from '../../helpers/agent.js';
import { join } from 'node:path';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SCHEDULES = [
  {
    id: 'tuesday-study',
    name: '周二学习',
    cron: '0 20 * * 2',
    duration_min: 90,
    steps: [{ device: 'projector', action: 'power', value: 'on' }],
  },
];

function seed(dataDir: string, withOpen: boolean): { records: UsageRecord[] } {
  const store = Store.open(dataDir);
  const ledger = store.outbox;
  const records: UsageRecord[] = [];
  const session = (start: string, durationS: number, annotation: UsageRecord['annotation'], trigger: string) => {
    const end = new Date(Date.parse(start) + durationS * 1000).toISOString();
    const rec = ledger.append('usage', 'usage', end, (seq, id, ledgerId) => ({
      v: 1,
      id,
      seq,
      ledger: ledgerId,
      station_id: 'test-station',
      start,
      end,
      duration_s: durationS,
      devices: [{ id: 'projector', kind: 'projector', on_s: durationS }],
      inputs: [{ device: 'projector', input: '31', s: durationS }],
      signal_s: durationS - 10,
      trigger,
      end_reason: 'devices_off',
      annotation: null,
      short: durationS < 300,
      rule_version: 1,
      boot: 1,
      clock: 'synced',
    }));
    const payload = rec.payload as UsageRecord;
    store.sessions.insertClosed(payload.id, payload.seq, start, end, JSON.stringify(payload));
    if (annotation) store.sessions.setAnnotation(payload.id, JSON.stringify(annotation));
    records.push({ ...payload, annotation });
  };
  // 2024-05-07 is a Tuesday; 12:00Z is 20:00 in Asia/Shanghai.
  session('2024-05-07T12:00:00.000Z', 5400, { topic: '果树修剪技术', attendees: 23, organiser: '李支书' }, 'schedule:tuesday-study');
  session('2024-05-09T01:30:00.000Z', 120, null, 'manual');
  session('2024-06-02T12:00:00.000Z', 3600, null, 'county');
  // Only for the stopped-daemon tests: a running agent would close it at start as a power loss.
  if (withOpen) {
    store.sessions.insertOpen('01OPENSESSION0000000000000', '2024-06-03T12:00:00.000Z', '2024-06-03T12:01:00.000Z', '{}');
  }
  for (const [i, type, severity, message] of [
    [0, 'device_offline', 'warning', 'projector offline for 10 min'],
    [1, 'lamp_warning', 'warning', 'lamp 2950 h'],
    [2, 'schedule_run', 'info', 'tuesday-study ran'],
  ] as const) {
    const ts = new Date(Date.parse('2024-05-10T00:00:00.000Z') + i * 60_000).toISOString();
    ledger.append('events', type, ts, (seq, id, ledgerId) => ({ v: 1, seq, ledger: ledgerId, id, station_id: 'test-station', ts, clock: 'synced', type, severity, device: 'projector', message, boot: 1 }));
  }
  const outcome = JSON.stringify({ start: { ok: true, at: '2024-05-07T12:00:05.000Z', steps: [] } });
  store.schedules.startRun('r1', 'tuesday-study', '2024-05-07T12:00:00.000Z', outcome);
  store.schedules.saveRun('r1', outcome, '2024-05-07T13:30:00.000Z');
  store.close();
  return { records };
}

function setup(withOpen = true) {
  const dir = tempDir('records-');
  cleanups.push(() => removeDir(dir));
  const file = writeConfig(dir, {
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: 9, poll_s: 60 }],
    schedules: SCHEDULES,
  });
  const { records } = seed(join(dir, 'data'), withOpen);
  return { dir, file, records };
}

describe('stationctl sessions, events, schedule', () => {
  it('answers from the database when the daemon is stopped, and says so', async () => {
    const { file, records } = setup();
    const res = await ctl(['--json', '--config', file, 'sessions']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain('not running');
    const list = JSON.parse(res.stdout) as UsageRecord[];
    expect(list).toEqual(records);
    for (const r of list) expect(UsageRecordSchema.safeParse(r).success, JSON.stringify(r)).toBe(true);

    const may = JSON.parse((await ctl(['--json', '--config', file, 'sessions', '--since', '2024-05-01', '--until', '2024-05-31'])).stdout) as UsageRecord[];
    expect(may.map((r) => r.start)).toEqual(['2024-05-07T12:00:00.000Z', '2024-05-09T01:30:00.000Z']);
    // Days are the station's (Asia/Shanghai): 01:30Z on the 9th is 09:30 on the 9th, 12:00Z on the 7th is 20:00 on the 7th.
    const day = JSON.parse((await ctl(['--json', '--config', file, 'sessions', '--since', '2024-05-09', '--until', '2024-05-09'])).stdout) as UsageRecord[];
    expect(day).toHaveLength(1);

    const bad = await ctl(['--config', file, 'sessions', '--since', 'last tuesday']);
    expect(bad.code).toBe(2);

    const human = await ctl(['--config', file, 'sessions'], { LANG: 'zh_CN.UTF-8' });
    expect(human.code).toBe(0);
    expect(human.stderr).toContain('代理程序未运行');
    expect(human.stdout).toContain('果树修剪技术');
    expect(human.stdout).toContain('2024-05-07 20:00');
    expect(human.stdout).toContain('播放计划 tu');
    expect(human.stdout).toContain('共 3 次');
    expect(human.stdout).toContain('01OPENSESSION0000000000000');
    for (const l of human.stdout.split('\n')) expect(stringWidth(l), l).toBeLessThanOrEqual(80);
  });

  it('exports CSV with Chinese headers for --lang zh and English ones otherwise', async () => {
    const { file, records } = setup();
    const zh = await ctl(['--lang', 'zh', '--config', file, 'sessions', '--csv']);
    expect(zh.code).toBe(0);
    const lines = zh.stdout.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    expect(zh.stdout.startsWith('\uFEFF')).toBe(true);
    // The sessions engineer's hand-in CSV (agent/sessions/query.ts), whether the daemon runs or not.
    expect(lines[0]).toBe('编号,序号,开始时间,结束时间,时长(分钟),有信号时长(分钟),使用设备,启动方式,结束原因,不足最短时长,学习主题,参加人数,组织人,备注,时钟');
    expect(lines).toHaveLength(1 + records.length);
    expect(lines[1]).toBe(`${records[0]!.id},1,2024-05-07 20:00:00,2024-05-07 21:30:00,90.0,89.8,projector,播放计划:tuesday-study,设备关闭,否,果树修剪技术,23,李支书,,已同步`);

    const en = await ctl(['--lang', 'en', '--config', file, 'sessions', '--csv']);
    expect(en.stdout.split('\r\n')[0]).toBe('id,seq,start,end,duration_min,signal_min,devices,trigger,end_reason,short,topic,attendees,organiser,note,clock');
  });

  it('lists events newest last with --limit, and schedules with next and last run', async () => {
    const { file } = setup();
    const all = JSON.parse((await ctl(['--json', '--config', file, 'events'])).stdout) as EventRecord[];
    expect(all.map((e) => e.type)).toEqual(['device_offline', 'lamp_warning', 'schedule_run']);
    for (const e of all) expect(EventRecordSchema.safeParse(e).success).toBe(true);
    const two = JSON.parse((await ctl(['--json', '--config', file, 'events', '--limit', '2'])).stdout) as EventRecord[];
    expect(two.map((e) => e.type)).toEqual(['lamp_warning', 'schedule_run']);
    const none = JSON.parse((await ctl(['--json', '--config', file, 'events', '--since', '2024-05-11'])).stdout) as EventRecord[];
    expect(none).toEqual([]);
    const zh = await ctl(['--config', file, 'events'], { LANG: 'zh_CN.UTF-8' });
    expect(zh.stdout).toContain('灯泡时长提醒');
    expect(zh.stdout).toContain('警告');

    const sched = await ctl(['--json', '--config', file, 'schedule']);
    expect(sched.code).toBe(0);
    const [entry] = JSON.parse(sched.stdout) as Array<Record<string, unknown>>;
    expect(entry).toMatchObject({
      id: 'tuesday-study',
      source: 'config',
      cron: '0 20 * * 2',
      duration_min: 90,
      enabled: true,
      running: false,
      last_run: { run_id: 'r1', started_at: '2024-05-07T12:00:00.000Z', outcome: { start: { ok: true } } },
    });
    expect(entry!.next_runs).toHaveLength(3);
    const next = new Date((entry!.next_runs as string[])[0]!);
    expect(next.getTime()).toBeGreaterThan(Date.now());
    // Tuesday 20:00 in Shanghai is Tuesday 12:00 UTC.
    expect([next.getUTCDay(), next.getUTCHours(), next.getUTCMinutes()]).toEqual([2, 12, 0]);
  });

  it('works beside a running daemon, and session note needs it (exit 3 when it is down)', async () => {
    const { file, records } = setup(false);
    const down = await ctl(['--config', file, 'session', 'note', records[1]!.id, '--topic', '养殖技术', '--attendees', '12', '--organiser', '王']);
    expect(down.code).toBe(3);
    const usage = await ctl(['--config', file, 'session', 'note', records[1]!.id, '--attendees', 'many']);
    expect(usage.code).toBe(2);

    const agent: RunningAgent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const res = await ctl(['--json', '--config', file, 'sessions', '--until', '2024-06-30']);
    expect(res.code, res.stderr).toBe(0);
    expect((JSON.parse(res.stdout) as UsageRecord[]).map((r) => r.id)).toEqual(records.map((r) => r.id));
    const noted = await ctl(['--config', file, 'session', 'note', records[1]!.id, '--topic', '养殖技术', '--attendees', '12', '--organiser', '王'], { LANG: 'zh_CN.UTF-8' });
    expect(noted.code, noted.stderr).toBe(0);
    expect(noted.stdout).toContain('登记已保存');
    const after = JSON.parse((await ctl(['--json', '--config', file, 'sessions', '--until', '2024-06-30'])).stdout) as UsageRecord[];
    expect(after[1]!.annotation).toEqual({ topic: '养殖技术', attendees: 12, organiser: '王' });
    const ev = await ctl(['--json', '--config', file, 'events', '--since', '2024-05-01']);
    expect((JSON.parse(ev.stdout) as EventRecord[]).map((e) => e.type).slice(0, 3)).toEqual(['device_offline', 'lamp_warning', 'schedule_run']);
  });
});
