/**
 * The notifier (county/notify/notifier.ts) over a real SQLite county database and real HTTP to robot
 * stand-ins, on a clock set to the morning of the monthly day: the day's digest and the month's
 * progress go out once each, per town to the town's group and whole to the county's; the digest is the
 * console's visit list (county/visits.ts): a station lost by its Will is on it (and told offline once), one
 * shut down cleanly (已关机) is not; a failed class
 * stored as an event is told with why; a restarted notifier tells none of it again; the next morning
 * brings the next digest. A heartbeat showing the disk nearly full is told once, and once freed.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import type { CollectorWrite } from '../../../county/store.js';
import { silentLogger } from '../../../county/log.js';
import { NotifySchema } from '../../../county/notify/config.js';
import type { LoadedNotify } from '../../../county/notify/load.js';
import { Notifier } from '../../../county/notify/notifier.js';
import { openCollectorStore, type CountyStore } from '../../../county/open-store.js';
import { sleep, waitFor } from '../../../scripts/lib/kit/index.js';
import { RobotStandIns } from '../../../scripts/lib/kit/robots.js';
import { heartbeat } from '../../../scripts/fleet/generate.js';
import { tempDir } from '../../helpers/temp.js';

const MORNING = Date.parse('2026-12-20T00:30:00Z'); // 08:30 in Beijing, the monthly day
const realStart = Date.now();
let offset = MORNING - realStart;
/** The county's clock: real time, moved to that morning (and later a day on). */
const now = () => Date.now() + offset;
const iso = (agoMs: number) => new Date(now() - agoMs).toISOString();

const cleanups: Array<() => unknown> = [];
let store: CountyStore;
let robots: RobotStandIns;
let notify: LoadedNotify;

function notifier(): Notifier {
  const n = new Notifier({ store, notify, log: silentLogger, now, intervals: { tickMs: 50, leadMs: 50, scanMs: 50 } });
  n.start();
  return n;
}

const texts = (robot: string) => robots.textsFor('wecom', robot);

beforeAll(async () => {
  store = await openCollectorStore(join(tempDir('notifier-'), 'county.db'));
  cleanups.push(() => store.close());
  robots = new RobotStandIns(now);
  await robots.start();
  cleanups.push(() => robots.stop());
  const target = (id: string, towns: 'all' | string[]) => ({ id, kind: 'wecom' as const, url_file: '/unused', url: robots.add('wecom', id), towns, lang: 'zh' as const });
  notify = {
    file: '/unused/notify.yaml',
    config: NotifySchema.parse({
      targets: [{ id: 'x', kind: 'wecom', url_file: 'u', towns: 'all' }],
      rules: { station_offline_after_s: 600, daily_digest: '08:00', monthly: { day: 20, time: '08:00' }, console_url: 'https://stations.county.example' },
    }),
    targets: [target('county', 'all'), target('chengguan', ['城关镇'])],
  };
  const writes: CollectorWrite[] = [];
  // s2 was shut down cleanly an hour ago (已关机); s4 lost its connection (its Will) almost two hours ago.
  for (const [id, name, town, link] of [['s1', '张家庄村', '城关镇', 'online'], ['s2', '李家湾村', '城关镇', 'stopped'], ['s3', '王家沟村', '河口镇', 'online'], ['s4', '赵家岭村', '城关镇', 'lost']] as const) {
    writes.push(
      { kind: 'inventory', station: id, inventory: { v: 1, ts: iso(60_000), station: { id, name, town, county: null, level: 'village', timezone: 'Asia/Shanghai' } } as never, receivedAt: iso(60_000) },
      link === 'online'
        ? { kind: 'status', station: id, status: { v: 1, online: true, station_id: id, boot: 1, agent_boot: 1, agent_version: '0.1.0', started_at: iso(60_000), ts: iso(60_000), clock: 'synced' }, receivedAt: iso(5_000) }
        : link === 'stopped'
          ? { kind: 'status', station: id, status: { v: 1, online: false, station_id: id, boot: 1, reason: 'agent_stop' }, receivedAt: iso(3_600_000) }
          : { kind: 'status', station: id, status: { v: 1, online: false, station_id: id, boot: 1 }, receivedAt: iso(7_170_000) },
    );
  }
  await store.apply(writes);
}, 30_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the notifier', () => {
  it('sends the morning\'s digest and the month\'s progress once, a failed class with why, and nothing twice after a restart', async () => {
    let n = notifier();
    await waitFor('the offline station, the digest and the progress at both groups', () => texts('county').length >= 3 && texts('chengguan').length >= 3, 15_000);
    const told = (robot: string, prefix: string) => texts(robot).filter((t) => t.startsWith(prefix));
    // A clean stop is no news, and not on the list of visits: 李家湾村 is in neither; 赵家岭村, lost, is in both.
    expect(told('chengguan', '【需上门】')).toEqual(['【需上门】城关镇赵家岭村已离线 120 分钟。请联系站点管理员检查电脑、电源和网络。']);
    expect(told('county', '【需上门】')).toEqual(told('chengguan', '【需上门】'));
    expect(told('chengguan', '【今日需上门】')).toEqual(['【今日需上门】城关镇（2026-12-20）共 1 个站点：赵家岭村（离线）。详情：https://stations.county.example/fleet?state=visit&town=%E5%9F%8E%E5%85%B3%E9%95%87']);
    expect(told('chengguan', '【月度进度】')).toEqual([
      '【月度进度】城关镇 2026-12 截至 2026-12-20：3 个站点共放映 0 场、0.00 小时；本月无放映的站点 3 个：张家庄村、李家湾村、赵家岭村。详情：https://stations.county.example/monthly?month=2026-12&town=%E5%9F%8E%E5%85%B3%E9%95%87',
    ]);
    expect(told('county', '【今日需上门】')).toEqual(['【今日需上门】全县（2026-12-20）共 1 个站点：城关镇赵家岭村（离线）。详情：https://stations.county.example/fleet?state=visit']);
    expect(told('county', '【月度进度】')).toEqual(['【月度进度】2026-12 各镇截至 2026-12-20：\n城关镇：3 个站点，0 场，0.00 小时，3 个站点本月无放映\n河口镇：1 个站点，0 场，0.00 小时，1 个站点本月无放映\n详情：https://stations.county.example/monthly?month=2026-12']);
    expect(texts('chengguan')).toHaveLength(3);
    // The digest's list is the console's: the visit items the pass opened.
    expect((await store.liveVisits()).filter((v) => v.cleared_at === null).map((v) => [v.station_id, v.kind])).toEqual([['s4', 'offline']]);

    // The stations' cursors are set; a run of s1's schedule then fails.
    await waitFor('the cursors set', async () => (await store.notify.notifyEvents(['schedule_run'], 10, '9999')).stations.length === 0, 5_000);
    const run = { v: 1, seq: 1, id: '01RUN0000000000000000000001', station_id: 's1', ts: iso(0), clock: 'synced', type: 'schedule_run', severity: 'warning', message: 'schedule evening start: 0/1 steps ok', boot: 1,
      data: { schedule_id: 'evening', run_id: 'R1', phase: 'start', ok: false, steps: [{ device: 'projector', action: 'power', value: 'on', status: 'failed', ms: 5, error: { code: 'device_offline', message: 'offline' } }] } };
    await store.apply([{ kind: 'record', station: 's1', stream: 'events', record: run as never, raw: JSON.stringify(run), receivedAt: iso(0) }]);
    await waitFor('the failed class at 城关镇\'s group', () => texts('chengguan').length === 4, 10_000);
    expect(texts('chengguan')[3]).toBe('【上课失败】城关镇张家庄村的播放计划“evening”没有完成：projector power on：设备离线。请联系站点管理员。');

    // Restarted (a collector that stopped and came back): what was told stays told.
    await n.stop();
    const before = robots.received.length;
    n = notifier();
    cleanups.push(() => n.stop());
    await waitFor('the restarted notifier to lead', () => n.isLeader, 5_000);
    await sleep(1_000); // an observation window of twenty passes, not a wait for something to happen
    expect(robots.received.length).toBe(before);

    // The next morning: the next digest, once.
    offset += 86_400_000;
    await waitFor('the next digest', () => texts('chengguan').some((t) => t.includes('2026-12-21')), 10_000);
    await sleep(1_000); // an observation window again
    expect(texts('chengguan').filter((t) => t.includes('2026-12-21'))).toHaveLength(1);
    expect(texts('chengguan').filter((t) => t.startsWith('【月度进度】'))).toHaveLength(1);
  }, 60_000);

  it('tells a disk nearly full once while it holds, and once when it is freed', async () => {
    // The restarted notifier of the test above still leads (one on SQLite: two would both send).
    const beat = (pct: number, mb: number) => {
      const hb = heartbeat(1, 600, { depth: 0, first_seq: null, last_seq: 0 }, 0, 0, now());
      return { kind: 'heartbeat', station: 's1', heartbeat: { ...hb, host: { ...hb.host, disk_free_pct: pct, disk_free_mb: mb } }, receivedAt: iso(0) } as const;
    };
    const disk = (robot: string) => texts(robot).filter((t) => t.startsWith('【磁盘'));
    await store.apply([beat(2, 900)]);
    await waitFor('the disk nearly full at both groups', () => disk('chengguan').length >= 1 && disk('county').length >= 1, 10_000);
    expect(disk('chengguan')).toEqual(['【磁盘将满】城关镇张家庄村的电脑磁盘只剩 2% 可用（900 MB）。请联系站点管理员清理电脑磁盘空间。']);
    expect(disk('county')).toEqual(disk('chengguan'));
    // Still nearly full, then inside the band above the line (5 + 2): nothing more.
    await store.apply([beat(3, 1_300)]);
    await sleep(500); // an observation window of ten passes, not a wait for something to happen
    await store.apply([beat(6, 2_600)]);
    await sleep(500);
    expect(disk('chengguan')).toHaveLength(1);
    await store.apply([beat(20, 9_000)]);
    await waitFor('the disk freed', () => disk('chengguan').length === 2 && disk('county').length === 2, 10_000);
    expect(disk('chengguan')[1]).toBe('【磁盘已清理】城关镇张家庄村的电脑磁盘已有 20% 可用。');
  }, 30_000);
});
