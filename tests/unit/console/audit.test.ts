/**
 * The audit log's pure parts and the roles' table: entries bounded and without secrets whatever a caller
 * passes, the retention cutoff never under 180 days, failed sign-ins itemised up to a rate then counted
 * (an in-memory store and a fake clock: no waiting), entries in words in both languages, and what each
 * role may see and do.
 */
import { describe, it, expect } from 'vitest';
import { AUDIT_CAPS, AUDIT_MIN_DAYS, auditCutoff, auditDetail, auditEntry, type AuditEntry, type AuditRow, type AuditStore } from '../../../county/audit.js';
import { scopeOf, seesStation, visible } from '../../../county/console/access.js';
import { AuditLog, FAILURES_PER_MINUTE } from '../../../county/console/audit-log.js';
import { consoleTranslator } from '../../../county/console/i18n.js';
import { auditCsv, auditWords } from '../../../county/console/pages/audit.js';
import { silentLogger } from '../../../county/log.js';

/** Only what AuditLog calls: appends kept in order. */
class MemoryAudit implements AuditStore {
  readonly rows: AuditEntry[] = [];
  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    this.rows.push(...entries);
  }
  async auditLog(): Promise<AuditRow[]> {
    return [];
  }
  async countAudit(): Promise<number> {
    return this.rows.length;
  }
  async pruneAudit(): Promise<number> {
    return 0;
  }
}

const zh = consoleTranslator('zh');
const en = consoleTranslator('en');
const row = (e: Partial<AuditEntry> & Pick<AuditEntry, 'kind'>): AuditRow => ({ id: 1, at: '2026-11-03T12:00:00.000Z', actor: null, address: null, target: null, detail: null, ...e });

describe('audit entries', () => {
  it('drop secrets by name at any depth and clip every field', () => {
    const detail = JSON.parse(auditDetail({ password: 'hunter2-hunter2', nested: { Password2: 'x', hash: 'scrypt$…', ok: 1 }, _csrf: 't', note: 'n'.repeat(5000) })!) as Record<string, unknown>;
    expect(detail).toEqual({ nested: { ok: 1 }, note: `${'n'.repeat(AUDIT_CAPS.detailString - 1)}…` });
    const e = auditEntry({ at: 'x', kind: 'sign_in_failed', actor: 'a'.repeat(500), address: '1\n2', target: 't'.repeat(1000), detail: { many: Array.from({ length: 200 }, () => 'y'.repeat(900)) } });
    expect(e.actor!.length).toBe(AUDIT_CAPS.actor);
    expect(e.address).toBe('1 2');
    expect(e.target!.length).toBe(AUDIT_CAPS.target);
    expect(e.detail!.length).toBeLessThanOrEqual(AUDIT_CAPS.detail);
    expect(() => JSON.parse(e.detail!)).not.toThrow();
    expect(auditEntry({ at: 'x', kind: 'sign_out' })).toEqual({ at: 'x', kind: 'sign_out', actor: null, address: null, target: null, detail: null });
  });

  it('are kept at least 180 days: the cutoff refuses fewer', () => {
    const now = Date.parse('2026-11-20T00:00:00.000Z');
    expect(auditCutoff(now, AUDIT_MIN_DAYS)).toBe('2026-05-24T00:00:00.000Z');
    expect(auditCutoff(now, 365)).toBe('2025-11-20T00:00:00.000Z');
    for (const days of [0, 30, 179, 179.5, Number.NaN, 100_000]) expect(() => auditCutoff(now, days)).toThrow(/180/);
  });

  it('itemises failed sign-ins up to the rate, then writes one summary of the rest', async () => {
    let now = Date.parse('2026-11-03T12:00:00.000Z');
    const store = new MemoryAudit();
    const audit = new AuditLog(store, silentLogger, () => now);
    for (let i = 0; i < FAILURES_PER_MINUTE + 70; i++) audit.failure('sign_in_failed', { address: '10.0.0.9', detail: { reason: 'unknown_account' } });
    audit.failure('lockout', { address: '10.0.0.9', detail: { what: 'address', min: 15 } });
    await audit.flush();
    expect(store.rows.length).toBe(FAILURES_PER_MINUTE + 1);
    expect(JSON.parse(store.rows.at(-1)!.detail!)).toEqual({ not_itemised: 71, max: FAILURES_PER_MINUTE, since: '2026-11-03T12:00:00.000Z' });
    // A new minute: itemised again.
    now += 61_000;
    audit.failure('sign_in_failed', { actor: 'wangli', detail: { reason: 'wrong_password' } });
    await audit.flush();
    expect(store.rows.at(-1)).toMatchObject({ kind: 'sign_in_failed', actor: 'wangli' });
    expect(store.rows.length).toBe(FAILURES_PER_MINUTE + 2);
  });

  it('reads in words in both languages, for the page and the CSV alike', () => {
    const push = row({
      kind: 'push',
      actor: 'wangli',
      address: '10.0.0.5',
      target: 'town:城关镇',
      detail: JSON.stringify({ target: { kind: 'town', value: '城关镇' }, stations: 12, args: { schedule: { id: 'evening', cron: '0 20 * * 2', duration_min: 45, steps: [{ device: 'projector', action: 'power', value: 'on' }] } } }),
    });
    expect(auditWords(zh, push)).toEqual({ kind: '下发播放计划', actor: 'wangli', target: '乡镇 城关镇', detail: '新增或替换计划 evening：每周二 20:00，45 分钟；步骤：projector：开机、12 个站点' });
    expect(auditWords(en, push).target).toBe('town 城关镇');
    expect(auditWords(en, push).detail).toBe('Add or replace schedule evening: every Tue at 20:00, 45 min; steps: projector: switch on, 12 stations');
    const role = row({ kind: 'account_role', target: 'zhang', detail: JSON.stringify({ from: { role: 'viewer', town: null }, to: { role: 'town', town: '东山乡' }, outside: true }) });
    expect(auditWords(zh, role)).toEqual({ kind: '修改角色', actor: '（账号文件）', target: 'zhang', detail: '查看员 → 乡镇账号（东山乡）、在账号文件中修改（命令行或手工编辑）' });
    expect(auditWords(en, role).detail).toBe('viewer → town (东山乡), changed in the accounts file (command line or by hand)');
    const ack = row({ kind: 'visit_ack', actor: 'zhang', target: 'station:village-03', detail: JSON.stringify({ station: 'village-03', visit: 7, kind: 'offline', note: '明早去' }) });
    expect(auditWords(zh, ack)).toEqual({ kind: '确认上门事项', actor: 'zhang', target: '站点 village-03', detail: '连接中断、备注：明早去' });
    expect(auditWords(en, ack)).toMatchObject({ kind: 'Visit item acknowledged', target: 'station village-03' });
    const cleared = row({ kind: 'visit_clear', actor: 'zhang', target: 'station:village-03', detail: JSON.stringify({ station: 'village-03', visit: 7, kind: 'class_failed' }) });
    expect(auditWords(zh, cleared)).toEqual({ kind: '清除上门事项', actor: 'zhang', target: '站点 village-03', detail: '计划的课没有上成' });
    const csv = auditCsv(zh, [row({ kind: 'sign_in', actor: '=cmd|calc', address: '10.0.0.5', detail: '{"role":"admin"}' })], 'Asia/Shanghai', true, 1);
    expect(csv).toBe('\uFEFF时间,类型,账号,来源地址,对象,内容\r\n2026-11-03 20:00:00,登录成功,\'=cmd|calc,10.0.0.5,,管理员\r\n……超过 1 行，请缩小日期范围,,,,,\r\n');
  });
});

describe('the visit actions in the audit log', () => {
  it('keep the item, its station and cause, and the note of an acknowledgement', async () => {
    const store = new MemoryAudit();
    const audit = new AuditLog(store, silentLogger, () => Date.parse('2026-11-03T12:00:00.000Z'));
    await audit.visit({ action: 'ack', station: 'village-03', id: 7, kind: 'offline', note: '明早去' }, 'zhang', '10.0.0.5');
    await audit.visit({ action: 'clear', station: 'village-03', id: 7, kind: null, note: null }, 'zhang', null);
    expect(store.rows.map((r) => [r.kind, r.actor, r.address, r.target, r.detail])).toEqual([
      ['visit_ack', 'zhang', '10.0.0.5', 'station:village-03', '{"station":"village-03","visit":7,"kind":"offline","note":"明早去"}'],
      ['visit_clear', 'zhang', null, 'station:village-03', '{"station":"village-03","visit":7,"kind":null}'],
    ]);
  });
});

describe('what each role may see and do', () => {
  const stations = [{ town: '城关镇' }, { town: '东山乡' }, { town: null }];
  it('keeps a town account in its town, only admins at accounts and the audit log, and the notifications page to the county\'s accounts', () => {
    expect(scopeOf({ user: 'v', role: 'viewer', town: null })).toEqual({ towns: null, canPush: false, canHandleVisits: false, canManageAccounts: false, canReadAudit: false, notifications: 'history' });
    expect(scopeOf({ user: 'o', role: 'operator', town: null })).toEqual({ towns: null, canPush: true, canHandleVisits: true, canManageAccounts: false, canReadAudit: false, notifications: 'all' });
    expect(scopeOf({ user: 'a', role: 'admin', town: null })).toEqual({ towns: null, canPush: true, canHandleVisits: true, canManageAccounts: true, canReadAudit: true, notifications: 'all' });
    const town = scopeOf({ user: 't', role: 'town', town: '城关镇' });
    expect(town).toMatchObject({ canPush: true, canHandleVisits: true, canManageAccounts: false, canReadAudit: false, notifications: 'none' });
    expect(visible(town, stations)).toEqual([{ town: '城关镇' }]);
    expect(visible(scopeOf({ user: 'v', role: 'viewer', town: null }), stations)).toEqual(stations);
    // A town account without a town (a file edited by hand) and a signed-out request see nothing.
    expect(visible(scopeOf({ user: 't', role: 'town', town: null }), stations)).toEqual([]);
    expect(scopeOf(undefined)).toMatchObject({ canPush: false, canHandleVisits: false, canReadAudit: false, notifications: 'none' });
    expect(seesStation(scopeOf(undefined), { town: '城关镇' })).toBe(false);
  });
});
