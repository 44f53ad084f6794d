/**
 * The group notifications' store (county/notify/queue.ts NotifyStore, the collector store's `notify`),
 * run against every implementation by collector-store.test.ts: the durable queue the dispatcher sends
 * from, news told once through marks and event cursors, the targets, the history, and who sends.
 * Everything through the interfaces only; a second store on the same database is a second collector.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../county/notify/messages.js';
import { diskMark, NOTIFY_SCAN_SPAN, offlineMark, onceMark, TARGET_REMOVED } from '../../county/notify/queue.js';
import type { StoreUnderTest } from './collector-store.contract.js';
import { eventWrite } from './event-writes.js';
import { heartbeat } from '../../scripts/fleet/generate.js';

export type OpenNotifyStore = () => Promise<{ store: StoreUnderTest; another(): Promise<StoreUnderTest>; dispose(): Promise<void> }>;

const T0 = Date.parse('2026-12-07T02:00:00Z');
/** Notifications began after every station of a test was first seen: their past is no news. */
const LATER = '9999-12-31T00:00:00.000Z';
const offline = (i: number, town = '城关镇'): Notice => ({ kind: 'station_offline', town, station_id: `st-${i}`, station_name: `第${i}村`, detail: { minutes: 30 } });

/** `exclusiveLead`: a second store on the same database does not lead while the first does (PostgreSQL). */
export function notifyStoreContract(name: string, open: OpenNotifyStore, o: { exclusiveLead: boolean }): void {
  describe(`notify store contract: ${name}`, () => {
    const made: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });
    const fresh = async () => {
      const u = await open();
      made.push(() => u.dispose());
      return u;
    };

    it('keeps queued items per target, oldest first, until they are settled; a retry waits for its time', async () => {
      const { store } = await fresh();
      const q = store.notify;
      await q.enqueue([{ target: 'a', notice: offline(1) }, { target: 'b', notice: offline(1) }, { target: 'a', notice: offline(2, '河口镇') }], T0);
      const due = await q.due('a', T0, 10);
      expect(due.map((d) => [d.notice.station_id, d.attempts])).toEqual([['st-1', 0], ['st-2', 0]]);
      expect(due[1]!.notice).toEqual(offline(2, '河口镇'));
      expect(await q.due('a', T0, 1)).toHaveLength(1);
      expect(await q.due('c', T0, 10)).toEqual([]);
      // Rate limited: the item waits until its next time and counts the attempt.
      await q.settle('a', [due[0]!.id], { state: 'retry', reason: '45009 api freq out of limit', nextMs: T0 + 15_000 }, T0);
      expect((await q.due('a', T0 + 14_999, 10)).map((d) => d.notice.station_id)).toEqual(['st-2']);
      expect((await q.due('a', T0 + 15_000, 10)).map((d) => [d.notice.station_id, d.attempts])).toEqual([['st-1', 1], ['st-2', 0]]);
      expect((await q.notifyQueued(10)).find((i) => i.id === due[0]!.id)).toMatchObject({ state: 'queued', attempts: 1, next_ms: T0 + 15_000, reason: '45009 api freq out of limit' });
      // One summary carries both: one message, both items sent.
      await q.settle('a', due.map((d) => d.id), { state: 'sent', text: '【需上门】两个站点离线' }, T0 + 20_000);
      expect(await q.due('a', T0 + 99_999, 10)).toEqual([]);
      expect(await q.sentSince('a', T0)).toBe(1);
      expect(await q.sentSince('a', T0 + 20_001)).toBe(0);
      expect(await q.sentSince('b', T0)).toBe(0);
      expect(await q.notifyHistory(10)).toEqual([{ id: expect.any(Number), target: 'a', sent_ms: T0 + 20_000, text: '【需上门】两个站点离线', items: 2 }]);
      // A settlement names its target: another target's item is not touched by it.
      const b = (await q.due('b', T0, 10))[0]!;
      await q.settle('a', [b.id], { state: 'failed', reason: 'x' }, T0);
      expect(await q.due('b', T0, 10)).toHaveLength(1);
      await q.settle('b', [b.id], { state: 'failed', reason: '310000 sign not match' }, T0 + 1);
      expect(await q.due('b', T0 + 3_600_000, 10)).toEqual([]);
      expect(await q.notifyFailed(10)).toEqual([expect.objectContaining({ id: b.id, target: 'b', state: 'failed', reason: '310000 sign not match', settled_ms: T0 + 1, notice: offline(1) })]);
      expect(await q.notifyCounts()).toEqual([
        { target: 'a', queued: 0, failed: 0, sent: 1 },
        { target: 'b', queued: 0, failed: 1, sent: 0 },
      ]);
    });

    it('keeps the queue across a restart (another connection, another collector)', async () => {
      const u = await fresh();
      await u.store.notify.enqueue([{ target: 'a', notice: offline(7) }], T0);
      const other = await u.another();
      expect((await other.notify.due('a', T0, 10)).map((d) => d.notice)).toEqual([offline(7)]);
    });

    it('queues news once: a guard on a mark, the marks set and removed with it, all or nothing', async () => {
      const { store } = await fresh();
      const q = store.notify;
      const down = (i: number) => ({ items: [{ target: 'a', notice: offline(i) }], guard: { key: offlineMark(`st-${i}`), present: false }, marks: [{ key: offlineMark(`st-${i}`), value: String(T0) }] });
      const up = (i: number) => ({
        items: [{ target: 'a', notice: { ...offline(i), kind: 'station_online' as const } }],
        guard: { key: offlineMark(`st-${i}`), present: true },
        marks: [{ key: offlineMark(`st-${i}`), value: null }],
      });
      expect(await q.enqueueNews([down(1), down(2)], T0)).toBe(2);
      // The same state again: nothing new (never repeated while it holds).
      expect(await q.enqueueNews([down(1), down(2)], T0 + 5_000)).toBe(0);
      expect(await q.notifyMarks('offline:')).toEqual([
        { key: offlineMark('st-1'), value: String(T0), at_ms: T0 },
        { key: offlineMark('st-2'), value: String(T0), at_ms: T0 },
      ]);
      // Back online: told once, the mark gone; a second "back online" is nothing.
      expect(await q.enqueueNews([up(1), up(1), up(3)], T0 + 10_000)).toBe(1);
      expect((await q.notifyMarks('offline:')).map((m) => m.key)).toEqual([offlineMark('st-2')]);
      expect((await q.due('a', T0 + 10_000, 10)).map((d) => [d.notice.kind, d.notice.station_id])).toEqual([
        ['station_offline', 'st-1'],
        ['station_offline', 'st-2'],
        ['station_online', 'st-1'],
      ]);
      // A prefix is matched as written (no wildcard in it).
      await q.enqueueNews([{ items: [], marks: [{ key: 'a_b', value: '1' }, { key: 'axb', value: '2' }] }], T0);
      expect((await q.notifyMarks('a_')).map((m) => m.key)).toEqual(['a_b']);
      // Once-per-period marks are forgotten with the old history; the others stay.
      await q.enqueueNews([{ items: [{ target: 'a', notice: offline(9) }], guard: { key: onceMark('digest:2026-12-07'), present: false }, marks: [{ key: onceMark('digest:2026-12-07'), value: '1' }] }], T0);
      expect(await q.enqueueNews([{ items: [{ target: 'a', notice: offline(9) }], guard: { key: onceMark('digest:2026-12-07'), present: false } }], T0)).toBe(0);
      await q.pruneNotify(T0 + 1);
      expect((await q.notifyMarks('once:')).map((m) => m.key)).toEqual([]);
      expect((await q.notifyMarks('offline:')).map((m) => m.key)).toEqual([offlineMark('st-2')]);
    });

    it('reads each station\'s new events of the asked types, up to its watermark, once its cursor is moved', async () => {
      const { store } = await fresh();
      const q = store.notify;
      await store.apply([eventWrite('s1', 1, 'agent_start', undefined), eventWrite('s1', 2, 'device_fault', 'projector'), eventWrite('s2', 1, 'schedule_run', undefined)]);
      // A station without a cursor yet is listed without its events: the caller starts it at its watermark.
      let scan = await q.notifyEvents(['device_fault', 'schedule_run'], 100, LATER);
      expect(scan.stations.map((s) => [s.station_id, s.cursor, s.watermark])).toEqual([
        ['s1', null, 2],
        ['s2', null, 1],
      ]);
      expect(scan.events).toEqual([]);
      await q.enqueueNews(scan.stations.map((s) => ({ items: [], cursor: { station_id: s.station_id, seq: s.watermark } })), T0);
      expect((await q.notifyEvents(['device_fault'], 100, LATER)).stations).toEqual([]);
      // New records: seq 4 arrives before 3 (a gap): only what is below the watermark is read.
      await store.apply([eventWrite('s1', 4, 'device_fault', 'amp'), eventWrite('s2', 2, 'lamp_warning', 'projector')]);
      scan = await q.notifyEvents(['device_fault', 'schedule_run'], 100, LATER);
      expect(scan.stations.map((s) => [s.station_id, s.cursor, s.watermark])).toEqual([['s2', 1, 2]]);
      expect(scan.events).toEqual([]);
      await store.apply([eventWrite('s1', 3, 'schedule_run', undefined)]);
      scan = await q.notifyEvents(['device_fault', 'schedule_run'], 100, LATER);
      expect(scan.stations.map((s) => [s.station_id, s.cursor, s.watermark])).toEqual([
        ['s1', 2, 4],
        ['s2', 1, 2],
      ]);
      expect(scan.events.map((e) => [e.station_id, e.seq, (JSON.parse(e.payload) as { type: string }).type])).toEqual([
        ['s1', 3, 'schedule_run'],
        ['s1', 4, 'device_fault'],
      ]);
      expect((await q.notifyEvents(['device_fault'], 1, LATER)).stations).toHaveLength(1);
      await q.enqueueNews(scan.stations.map((s) => ({ items: [], cursor: { station_id: s.station_id, seq: s.watermark } })), T0);
      expect((await q.notifyEvents(['device_fault', 'schedule_run'], 100, LATER)).stations).toEqual([]);
      expect(NOTIFY_SCAN_SPAN).toBeGreaterThanOrEqual(1000);
    });

    it('reads a station first seen since notifications began from its first event', async () => {
      const { store } = await fresh();
      const q = store.notify;
      const began = new Date(Date.now() - 60_000).toISOString();
      await store.apply([eventWrite('new', 1, 'device_fault', 'projector'), eventWrite('new', 2, 'agent_start', undefined)]);
      await store.apply([{ kind: 'status', station: 'empty', status: { v: 1, online: false, station_id: 'empty', boot: 1 }, receivedAt: new Date().toISOString() }]);
      let scan = await q.notifyEvents(['device_fault'], 100, began);
      expect(scan.stations.map((s) => [s.station_id, s.cursor, s.watermark])).toEqual([
        ['empty', 0, 0],
        ['new', 0, 2],
      ]);
      expect(scan.events.map((e) => [e.station_id, e.seq])).toEqual([['new', 1]]);
      await q.enqueueNews(scan.stations.map((s) => ({ items: [], cursor: { station_id: s.station_id, seq: s.watermark } })), T0);
      scan = await q.notifyEvents(['device_fault'], 100, began);
      expect(scan.stations).toEqual([]);
    });

    it('lists the stations the offline rule may speak of, with why each last went offline and its opening hours', async () => {
      const { store } = await fresh();
      const q = store.notify;
      const at = (ms: number) => new Date(T0 + ms).toISOString();
      const up = (station: string, boot: number, ms: number) =>
        ({ kind: 'status', station, status: { v: 1, online: true, station_id: station, boot, agent_boot: 1, agent_version: '0.1.0', started_at: at(0), ts: at(ms), clock: 'synced' }, receivedAt: at(ms) }) as const;
      const beat = (station: string, ms: number) => ({ kind: 'heartbeat', station, heartbeat: heartbeat(1, 60, { depth: 0, first_seq: null, last_seq: 0 }, 1, 0, T0 + ms), receivedAt: at(ms) }) as const;
      const hours = [{ days: ['mon', 'tue'], from: '08:00', to: '12:00' }];
      await store.apply([
        { kind: 'status', station: 'clean', status: { v: 1, online: false, station_id: 'clean', boot: 1, reason: 'agent_stop' }, receivedAt: at(0) },
        { kind: 'status', station: 'will', status: { v: 1, online: false, station_id: 'will', boot: 1 }, receivedAt: at(0) },
        { kind: 'inventory', station: 'will', inventory: { v: 1, ts: at(0), station: { id: 'will', name: '王家沟村', town: '河口镇', county: null, level: 'village', timezone: 'Asia/Urumqi', opening_hours: hours } } as never, receivedAt: at(0) },
        up('fresh', 1, 60_000),
        beat('fresh', 60_000),
        // Online by its status, its heartbeat older than the silence asked about (the visit rule's: heartbeats only).
        up('quiet', 1, 40_000),
        beat('quiet', 0),
        // Online, never a heartbeat yet.
        up('mute', 1, 60_000),
      ]);
      const rows = await q.notifyStations(at(30_000));
      expect(rows.map((r) => [r.station_id, r.online, r.status_reason, r.status_at])).toEqual([
        ['will', false, null, at(0)],
        ['clean', false, 'agent_stop', at(0)],
        ['mute', true, null, at(60_000)],
        ['quiet', true, null, at(40_000)],
      ]);
      expect(rows[0]).toMatchObject({ name: '王家沟村', town: '河口镇', timezone: 'Asia/Urumqi', opening_hours: hours });
      expect(rows[1]).toMatchObject({ timezone: null, opening_hours: null });
      // Marked offline earlier: listed while the mark stays, whatever it does now.
      await q.enqueueNews([{ items: [], marks: [{ key: offlineMark('fresh'), value: '1' }] }], T0);
      expect((await q.notifyStations(at(30_000))).map((r) => r.station_id)).toContain('fresh');
      // Coming back online (and heard from) clears the reason of the last stop.
      await store.apply([up('clean', 2, 60_000), beat('clean', 60_000)]);
      expect((await q.notifyStations(at(30_000))).find((r) => r.station_id === 'clean')).toBeUndefined();
      await store.apply([up('will', 2, 60_000)]);
      expect((await q.notifyStations(at(30_000))).find((r) => r.station_id === 'will')).toMatchObject({ online: true, status_reason: null });
    });

    it('lists the stations whose latest heartbeat shows a disk below a line, or marked disk-full, with their free space', async () => {
      const { store } = await fresh();
      const q = store.notify;
      const beat = (station: string, pct: number | null, mb: number | null, ms: number) => {
        const hb = heartbeat(1, 60, { depth: 0, first_seq: null, last_seq: 0 }, 1, 0, T0 + ms);
        return { kind: 'heartbeat', station, heartbeat: { ...hb, host: { ...hb.host, disk_free_pct: pct, disk_free_mb: mb } }, receivedAt: new Date(T0 + ms).toISOString() } as const;
      };
      await store.apply([beat('full', 50, 30_000, 0), beat('roomy', 40, 90_000, 0), beat('blind', null, null, 0)]);
      expect(await q.notifyDiskStations(5)).toEqual([]);
      // The latest heartbeat counts, every one (not only those the history keeps, one per 10 minutes).
      await store.apply([beat('full', 2.5, 1_500, 1_000)]);
      expect(await q.notifyDiskStations(5)).toEqual([{ station_id: 'full', name: null, town: null, disk_free_pct: 2.5, disk_free_mb: 1_500 }]);
      // Marked: listed while the mark stays, whatever its disk shows now.
      await q.enqueueNews([{ items: [], marks: [{ key: diskMark('roomy'), value: '3' }] }], T0);
      await store.apply([beat('full', 20, 12_000, 2_000)]);
      expect((await q.notifyDiskStations(5)).map((r) => [r.station_id, r.disk_free_pct, r.disk_free_mb])).toEqual([['roomy', 40, 90_000]]);
    });

    it('keeps the targets as the notify file names them, with their last result', async () => {
      const { store } = await fresh();
      const q = store.notify;
      await q.setNotifyTargets(
        [
          { id: 'county', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***', towns: 'all', lang: 'zh' },
          { id: 'hekou', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=***', towns: ['河口镇'], lang: 'en' },
        ],
        T0,
      );
      await q.noteTargetResult('hekou', 'failed', '310000 sign not match', T0 + 5);
      expect(await q.notifyTargets()).toEqual([
        { id: 'county', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***', towns: 'all', lang: 'zh', last_result: null, last_reason: null, last_ms: null },
        { id: 'hekou', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=***', towns: ['河口镇'], lang: 'en', last_result: 'failed', last_reason: '310000 sign not match', last_ms: T0 + 5 },
      ]);
      // The file changed: a target removed is gone (what waited for it fails: it would wait forever), one kept keeps its last result.
      await q.enqueue([{ target: 'county', notice: offline(1) }, { target: 'hekou', notice: offline(2) }], T0);
      await q.setNotifyTargets([{ id: 'hekou', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=***', towns: ['河口镇', '城关镇'], lang: 'zh' }], T0 + 10);
      expect(await q.notifyTargets()).toEqual([
        { id: 'hekou', kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=***', towns: ['河口镇', '城关镇'], lang: 'zh', last_result: 'failed', last_reason: '310000 sign not match', last_ms: T0 + 5 },
      ]);
      expect((await q.notifyQueued(10)).map((i) => i.target)).toEqual(['hekou']);
      expect((await q.notifyFailed(10)).map((i) => [i.target, i.reason, i.settled_ms])).toEqual([['county', TARGET_REMOVED, T0 + 10]]);
      await q.setNotifyTargets([], T0 + 20);
      expect(await q.notifyTargets()).toEqual([]);
    });

    it(o.exclusiveLead ? 'lets one collector send at a time; when it goes, another takes over' : 'lets its one collector send', async () => {
      const u = await fresh();
      expect(await u.store.notify.leadNotify()).toBe(true);
      expect(await u.store.notify.leadNotify()).toBe(true);
      const other = await u.another();
      expect(await other.notify.leadNotify()).toBe(!o.exclusiveLead);
      if (!o.exclusiveLead) return;
      await u.store.notify.resignNotify();
      expect(await other.notify.leadNotify()).toBe(true);
      expect(await u.store.notify.leadNotify()).toBe(false);
      // A closed store's connection ends: its lead goes with it.
      await other.close();
      expect(await u.store.notify.leadNotify()).toBe(true);
    });
  });
}
