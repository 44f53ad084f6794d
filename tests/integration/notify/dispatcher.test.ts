/**
 * The dispatcher against loopback stand-ins of WeCom, DingTalk and Feishu group robots and a plain
 * webhook, over real HTTP: what each vendor's docs define is checked by the stand-in (path, key, JSON
 * shape, content bytes, signatures, rate limits), and the dispatcher retries what is worth retrying,
 * records what is not, and keeps every robot at 20 messages a minute or fewer.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { Dispatcher, type ResolvedTarget } from '../../../county/notify/dispatcher.js';
import type { Notice } from '../../../county/notify/messages.js';
import { RobotStandIns } from '../../../scripts/lib/kit/robots.js';
import { MemoryNotifyQueue } from '../../helpers/memory-notify-queue.js';

let now = Date.parse('2026-12-07T10:00:00Z');
let robots: RobotStandIns;

beforeEach(async () => {
  now = Date.parse('2026-12-07T10:00:00Z');
  robots = new RobotStandIns(() => now);
  await robots.start();
});
afterEach(async () => {
  await robots.stop();
});

const offline = (i: number, town = '城关镇'): Notice => ({ kind: 'station_offline', town, station_id: `st-${i}`, station_name: `第${i}村`, detail: { minutes: 30 } });

function target(id: string, kind: ResolvedTarget['kind'], url: string, extra: Partial<ResolvedTarget> = {}): ResolvedTarget {
  return { id, kind, url, url_file: '/unused', towns: 'all', lang: 'zh', ...extra };
}

describe('notify dispatcher', () => {
  it('delivers to each kind of robot, signed where the kind signs, to the towns each one hears', async () => {
    const queue = new MemoryNotifyQueue();
    const d = new Dispatcher({
      queue,
      now: () => now,
      targets: [
        target('wecom', 'wecom', robots.add('wecom', 'k1'), { towns: ['城关镇'] }),
        target('ding', 'dingtalk', robots.add('dingtalk', 't1', 'ding-secret'), { secret: 'ding-secret', towns: ['河口镇'] }),
        target('feishu', 'feishu', robots.add('feishu', 'h1', 'fs-secret'), { secret: 'fs-secret', lang: 'en' }),
        target('oa', 'webhook', robots.add('webhook', 'oa', 'oa-secret'), { secret: 'oa-secret' }),
      ],
    });
    await d.notify([offline(1), offline(2, '河口镇')]);
    await d.tick();
    expect(robots.textsFor('wecom', 'k1')).toEqual(['【需上门】城关镇第1村已离线 30 分钟。请联系站点管理员检查电脑、电源和网络。']);
    expect(robots.textsFor('dingtalk', 't1')).toEqual(['【需上门】河口镇第2村已离线 30 分钟。请联系站点管理员检查电脑、电源和网络。']);
    expect(robots.textsFor('feishu', 'h1')).toHaveLength(2);
    expect(robots.textsFor('feishu', 'h1')[0]).toMatch(/^\[Visit needed\] 第1村 \(城关镇\)/);
    expect(robots.received.find((r) => r.kind === 'webhook')!.body).toMatchObject({ kind: 'station_offline', town: '城关镇', stations: ['st-1'] });
    expect(queue.items.every((i) => i.state === 'sent')).toBe(true);
    expect(d.targets().map((t) => t.lastResult)).toEqual(['sent', 'sent', 'sent', 'sent']);
  });

  it('retries after a 45009 rate-limit answer 15 s later (within the vendor\'s minute), and loses nothing', async () => {
    const queue = new MemoryNotifyQueue();
    const d = new Dispatcher({ queue, now: () => now, targets: [target('wecom', 'wecom', robots.add('wecom', 'k1'))] });
    robots.answerNext('wecom', 'k1', { errcode: 45009, errmsg: 'api freq out of limit' });
    await d.notify([offline(1)]);
    await d.tick();
    expect(robots.textsFor('wecom', 'k1')).toEqual([]);
    expect(d.targets()[0]).toMatchObject({ lastResult: 'retry', lastReason: '45009 api freq out of limit' });
    // Nothing new goes to the robot meanwhile either.
    await d.notify([offline(2)]);
    now += 14_999;
    await d.tick();
    expect(robots.answers).toEqual(['wecom k1 45009']);
    now += 1;
    await d.tick();
    expect(robots.textsFor('wecom', 'k1')).toHaveLength(2);
    expect(queue.items[0]).toMatchObject({ state: 'sent', attempts: 1 });
    expect(queue.items[1]).toMatchObject({ state: 'sent', attempts: 0 });
  });

  it('holds news in the quiet hours (a test goes out), then sends what waited, merged, and reports each result', async () => {
    const queue = new MemoryNotifyQueue();
    let quiet = true;
    const results: string[] = [];
    const d = new Dispatcher({
      queue,
      now: () => now,
      targets: [target('wecom', 'wecom', robots.add('wecom', 'k1'))],
      quiet: () => quiet,
      onResult: async (r) => void results.push(`${r.id} ${r.lastResult}`),
    });
    await d.notify(Array.from({ length: 30 }, (_, i) => offline(i + 1)));
    await d.test('wecom');
    await d.tick();
    expect(robots.textsFor('wecom', 'k1')).toEqual(['【测试】这是县远教中心站点管理平台发出的测试消息，收到即说明群机器人设置正确。']);
    quiet = false;
    now += 1_000;
    await d.tick();
    const texts = robots.textsFor('wecom', 'k1').slice(1);
    expect(texts).toHaveLength(1);
    expect(texts[0]).toMatch(/^【需上门】城关镇有 30 个站点离线：第1村、第2村、/);
    expect(queue.items.every((i) => i.state === 'sent')).toBe(true);
    expect(results).toEqual(['wecom sent', 'wecom sent']);
  });

  it('records a wrong signature against its target and does not retry it', async () => {
    const queue = new MemoryNotifyQueue();
    const d = new Dispatcher({ queue, now: () => now, targets: [target('ding', 'dingtalk', robots.add('dingtalk', 't1', 'the-real-secret'), { secret: 'a-wrong-secret' })] });
    await d.notify([offline(1)]);
    await d.tick();
    now += 3_600_000;
    await d.tick();
    expect(robots.answers).toEqual(['dingtalk t1 310000']);
    expect(queue.items[0]).toMatchObject({ state: 'failed', reason: '310000 sign not match' });
    expect(d.targets()[0]).toMatchObject({ lastResult: 'failed', lastReason: '310000 sign not match' });
  });

  it('a power cut across a town: 2,000 stations, at most 20 messages a minute per robot, every station named within 10 minutes', async () => {
    const queue = new MemoryNotifyQueue();
    const d = new Dispatcher({
      queue,
      now: () => now,
      targets: [target('wecom', 'wecom', robots.add('wecom', 'k1')), target('ding', 'dingtalk', robots.add('dingtalk', 't1', 's'), { secret: 's' })],
    });
    const start = now;
    await d.notify(Array.from({ length: 2000 }, (_, i) => offline(i + 1, i < 1500 ? '城关镇' : '河口镇')));
    while (queue.items.some((i) => i.state === 'queued') && now - start < 15 * 60_000) {
      await d.tick();
      now += 5_000;
    }
    for (const robot of ['k1', 't1']) {
      const kind = robot === 'k1' ? 'wecom' : 'dingtalk';
      const times = robots.received.filter((r) => r.kind === kind && r.robot === robot).map((r) => r.atMs);
      for (const t of times) expect(times.filter((x) => x > t - 60_000 && x <= t).length).toBeLessThanOrEqual(20);
      const texts = robots.textsFor(kind, robot).join('\n');
      for (let i = 1; i <= 2000; i++) expect(texts.includes(`第${i}村`), `第${i}村 at ${robot}`).toBe(true);
      expect(Math.max(...times) - start).toBeLessThanOrEqual(10 * 60_000);
    }
    expect(robots.answers.filter((a) => !a.endsWith(' 0'))).toEqual([]);
  }, 60_000);
});
