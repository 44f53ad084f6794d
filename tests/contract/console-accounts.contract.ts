/**
 * What the console's accounts need from every store (county/audit.ts AuditStore, and the town view of
 * ConsoleStore.recentPushes), run against each by collector-store.test.ts: SQLite on a real file (in
 * this thread and on a worker thread) and PostgreSQL 15 on a real server. The audit log's order, paging,
 * date and kind filters, and the retention pass the console runs (AuditLog.startRetention): only entries
 * older than the days kept go, and never fewer than 180 days.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_MIN_DAYS, auditCutoff, auditEntry, type AuditKind } from '../../county/audit.js';
import { AuditLog } from '../../county/console/audit-log.js';
import { silentLogger } from '../../county/log.js';
import type { CollectorWrite, PushRow } from '../../county/store.js';
import type { StoreUnderTest } from './collector-store.contract.js';

export type OpenAccountsStore = () => Promise<{ store: StoreUnderTest; dispose(): Promise<void> }>;

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-20T04:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

export function consoleAccountsContract(name: string, open: OpenAccountsStore): void {
  describe(`console accounts contract (audit log, a town's view): ${name}`, () => {
    const made: Array<() => Promise<void>> = [];
    const fresh = async (): Promise<StoreUnderTest> => {
      const u = await open();
      made.push(() => u.dispose());
      return u.store;
    };
    afterEach(async () => {
      for (const d of made.splice(0)) await d();
    });
    const entry = (atMs: number, kind: AuditKind, actor: string | null, detail: Record<string, unknown> | null = null) =>
      auditEntry({ at: iso(atMs), kind, actor, address: '10.1.2.3', target: actor === null ? null : `t-${actor}`, detail });

    it('keeps every field, reads newest first (by time, then by arrival), pages and counts', async () => {
      const store = await fresh();
      expect(await store.auditLog({ limit: 10, offset: 0 })).toEqual([]);
      expect(await store.countAudit({})).toBe(0);
      await store.appendAudit([entry(NOW - 3000, 'sign_in', 'wangli', { role: 'operator' }), entry(NOW - 1000, 'push', 'wangli', { args: { delete: 'x' }, stations: 3 })]);
      // Same time as the push, written later: shown before it.
      await store.appendAudit([entry(NOW - 1000, 'sign_out', 'wangli')]);
      await store.appendAudit([entry(NOW - 2000, 'sign_in_failed', null, { reason: 'unknown_account' })]);
      const all = await store.auditLog({ limit: 10, offset: 0 });
      expect(all.map((r) => r.kind)).toEqual(['sign_out', 'push', 'sign_in_failed', 'sign_in']);
      expect(all[1]).toEqual({ id: all[1]!.id, at: iso(NOW - 1000), kind: 'push', actor: 'wangli', address: '10.1.2.3', target: 't-wangli', detail: '{"args":{"delete":"x"},"stations":3}' });
      expect(all[2]).toMatchObject({ actor: null, target: null, detail: '{"reason":"unknown_account"}' });
      expect(typeof all[0]!.id).toBe('number');
      expect((await store.auditLog({ limit: 2, offset: 1 })).map((r) => r.kind)).toEqual(['push', 'sign_in_failed']);
      expect((await store.auditLog({ limit: 10, offset: 4 })).length).toBe(0);
      expect(await store.countAudit({})).toBe(4);
    });

    it('filters by [from, to) and by kind, and counts the same way', async () => {
      const store = await fresh();
      const kinds: AuditKind[] = ['sign_in', 'push', 'account_add', 'sign_out'];
      await store.appendAudit(Array.from({ length: 20 }, (_, i) => entry(NOW - i * DAY, kinds[i % 4]!, `u${i}`)));
      const window = { from: iso(NOW - 10 * DAY), to: iso(NOW - 4 * DAY) };
      const rows = await store.auditLog({ ...window, limit: 100, offset: 0 });
      expect(rows.map((r) => r.actor)).toEqual(['u5', 'u6', 'u7', 'u8', 'u9', 'u10']);
      expect(await store.countAudit(window)).toBe(6);
      const pushes = await store.auditLog({ ...window, kinds: ['push', 'account_add'], limit: 100, offset: 0 });
      expect(pushes.map((r) => r.actor)).toEqual(['u5', 'u6', 'u9', 'u10']);
      expect(await store.countAudit({ kinds: ['push'] })).toBe(5);
      expect(await store.countAudit({ from: iso(NOW - 2 * DAY) })).toBe(3);
      expect(await store.countAudit({ to: iso(NOW - 18 * DAY) })).toBe(1);
      expect(await store.countAudit({ kinds: [] })).toBe(20);
    });

    it('the retention pass deletes only what is older than the days kept, and refuses fewer than 180 days', async () => {
      const store = await fresh();
      const ages = [400 * DAY, 181 * DAY, AUDIT_MIN_DAYS * DAY + 1, AUDIT_MIN_DAYS * DAY - 1, 179 * DAY, 30 * DAY, 0];
      await store.appendAudit(ages.map((age, i) => entry(NOW - age, 'sign_in', `age${i}`)));
      const audit = new AuditLog(store, silentLogger, () => NOW);
      expect(audit.days).toBe(AUDIT_MIN_DAYS);
      audit.startRetention();
      await audit.flush();
      expect((await store.auditLog({ limit: 100, offset: 0 })).map((r) => r.actor)).toEqual(['age6', 'age5', 'age4', 'age3']);
      // Kept longer, nothing more goes; a pass that would keep less than 180 days never runs.
      const year = new AuditLog(store, silentLogger, () => NOW + 100 * DAY, 365);
      year.startRetention();
      await year.flush();
      expect(await store.countAudit({})).toBe(4);
      expect(() => new AuditLog(store, silentLogger, () => NOW, 179)).toThrow(/180/);
      expect(() => auditCutoff(NOW, 30)).toThrow(/至少保留 180 天/);
      expect(await store.pruneAudit(auditCutoff(NOW + 100 * DAY, AUDIT_MIN_DAYS))).toBe(2);
      expect(await store.countAudit({})).toBe(2);
    });

    it('counts a town\'s view of the recent pushes over the stations of its towns only', async () => {
      const store = await fresh();
      const inv = (id: string, town: string | null) =>
        ({ kind: 'inventory', station: id, inventory: { station: { id, name: id, town, county: 'k', level: 'village', timezone: 'Asia/Shanghai' } }, receivedAt: 'now' }) as unknown as CollectorWrite;
      await store.apply([inv('a1', '城关镇'), inv('a2', '城关镇'), inv('b1', '东山乡'), inv('n1', null)]);
      const target = (pushId: string) => (pushId === 'all' ? '{"kind":"all"}' : pushId === 'east' ? '{"kind":"town","town":"东山乡"}' : null);
      const row = (pushId: string, station: string, sentAt: string, status: PushRow['status'] = 'sent'): PushRow => ({
        push_id: pushId,
        transaction: `tx-${pushId}-${station}`,
        station_id: station,
        action: 'schedule.set',
        args: `{"delete":"${pushId}"}`,
        sent_at: sentAt,
        sent_by: 'clerk',
        status,
        response: null,
        responded_at: null,
        target: target(pushId),
      });
      await store.addPushes([row('all', 'a1', iso(NOW), 'ok'), row('all', 'a2', iso(NOW)), row('all', 'b1', iso(NOW), 'error'), row('all', 'n1', iso(NOW))]);
      await store.addPushes([row('east', 'b1', iso(NOW + 1000))]);
      await store.addPushes([row('mine', 'a2', iso(NOW + 2000), 'error')]);
      // What was sent and how its stations were chosen come with a town's view as with the county's.
      const summary = (push_id: string, sent_at: string, stations: number, ok: number, error: number) => ({
        push_id,
        action: 'schedule.set',
        args: `{"delete":"${push_id}"}`,
        target: target(push_id),
        sent_at,
        sent_by: 'clerk',
        stations,
        ok,
        error,
      });
      expect(await store.recentPushes(10, ['城关镇'])).toEqual([summary('mine', iso(NOW + 2000), 1, 0, 1), summary('all', iso(NOW), 2, 1, 0)]);
      expect(await store.recentPushes(1, ['城关镇'])).toEqual([summary('mine', iso(NOW + 2000), 1, 0, 1)]);
      expect(await store.recentPushes(10, ['东山乡', '城关镇'])).toEqual([summary('mine', iso(NOW + 2000), 1, 0, 1), summary('east', iso(NOW + 1000), 1, 0, 0), summary('all', iso(NOW), 3, 1, 1)]);
      expect(await store.recentPushes(10, [])).toEqual([]);
      expect((await store.recentPushes(10)).map((p) => [p.push_id, p.stations])).toEqual([['mine', 1], ['east', 1], ['all', 4]]);
    });
  });
}
