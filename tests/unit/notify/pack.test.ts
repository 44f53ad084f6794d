/** Packing news into at most 20 messages a minute per robot without dropping any station. */
import { describe, it, expect } from 'vitest';
import type { Notice } from '../../../county/notify/messages.js';
import { pack, type Queued } from '../../../county/notify/pack.js';

const offline = (i: number, town = '城关镇'): Queued => ({
  id: i,
  notice: { kind: 'station_offline', town, station_id: `st-${i}`, station_name: `第${i}村`, detail: { minutes: 30 } },
});

describe('pack', () => {
  it('sends each piece of news on its own while the budget allows', () => {
    const out = pack([offline(1), offline(2)], 20, 'zh');
    expect(out).toEqual([
      { text: '【需上门】城关镇第1村已离线 30 分钟。请联系站点管理员检查电脑、电源和网络。', ids: [1] },
      { text: '【需上门】城关镇第2村已离线 30 分钟。请联系站点管理员检查电脑、电源和网络。', ids: [2] },
    ]);
    expect(pack([offline(1)], 20, 'en')[0]!.text).toBe("[Visit needed] 第1村 (城关镇) has been offline for 30 min. Ask the station's administrator to check the PC, its power and the network.");
  });

  it('over the budget, names every station of a town in summaries within the content limit', () => {
    const due = [...Array.from({ length: 300 }, (_, i) => offline(i + 1)), offline(1000, '河口镇')];
    const out = pack(due, 20, 'zh');
    expect(out.length).toBeLessThanOrEqual(20);
    for (const o of out) expect(Buffer.byteLength(o.text, 'utf8')).toBeLessThanOrEqual(2048);
    expect(out[0]!.text).toMatch(/^【需上门】城关镇有 \d+ 个站点离线：第1村、第2村、/);
    const covered = out.flatMap((o) => o.ids);
    expect(new Set(covered).size).toBe(covered.length);
    expect(covered.sort((a, b) => a - b)).toEqual(due.map((q) => q.id).sort((a, b) => a - b));
    // Each station named in the message that carries it.
    for (const o of out) for (const id of o.ids) expect(o.text).toContain(`第${id}村`);
    expect(out.at(-1)!.text).toBe('【需上门】河口镇第1000村已离线 30 分钟。请联系站点管理员检查电脑、电源和网络。');
  });

  it('2,000 stations of one county offline at once: every one named within 10 minutes at 20 messages a minute', () => {
    const towns = ['城关镇', '河口镇', '石桥镇', '新集镇', '王店镇', '柳林乡', '高庄乡', '东湖镇'];
    let queue: Queued[] = Array.from({ length: 2000 }, (_, i) => offline(i + 1, towns[i % towns.length]));
    let minutes = 0;
    const named = new Set<number>();
    while (queue.length > 0) {
      minutes++;
      const out = pack(queue, 20, 'zh');
      expect(out.length).toBeLessThanOrEqual(20);
      const sent = new Set(out.flatMap((o) => o.ids));
      for (const id of sent) named.add(id);
      queue = queue.filter((q) => !sent.has(q.id));
    }
    expect(named.size).toBe(2000);
    expect(minutes).toBeLessThanOrEqual(10);
  });

  it('sends nothing without budget', () => {
    expect(pack([offline(1)], 0, 'zh')).toEqual([]);
    const test: Notice = { kind: 'test', town: null, station_id: null, station_name: null };
    expect(pack([{ id: 9, notice: test }], 1, 'zh')[0]!.text).toMatch(/^【测试】/);
  });
});
