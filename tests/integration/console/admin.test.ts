/**
 * The admin's accounts page and the audit log in real Chromium against a real console on a SQLite file:
 * an admin adds a town account (a missing town and a weak password refused with the reason first),
 * changes its role, resets its password and removes it after a confirmation page; the account's own
 * sign-in (an HTTP client: a second sign-in in the admin's browser would replace the admin's) ends at each
 * change. The audit log shows every step with who, from where and when (in the county's time zone),
 * filters by kind and date, and exports a CSV (BOM, Chinese headers) in which no password appears.
 * Changes made with the command line while the console runs are logged as such.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { AccountFile, setRole, upsertAccount } from '../../../county/console/accounts.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { launchChromium, type Chromium } from '../../../scripts/lib/kit/chromium.js';
import { waitFor } from '../../../scripts/lib/kit/index.js';
import { ConsoleClient } from '../../helpers/console-client.js';
import { tempDir } from '../../helpers/temp.js';

const PASSWORDS = ['boss-password-2026', 'zhangs-first-pass', 'zhangs-second-pass', 'wrong-guess-of-zhang'];
/** The console's clock: 2026-11-03 20:00:00 in Beijing, so every logged time is known exactly. */
const NOW = Date.parse('2026-11-03T12:00:00.000Z');
const TODAY = '2026-11-03';
const cleanups: Array<() => unknown> = [];
let store: ConsoleDb;
let server: ConsoleServer;
let browser: Chromium;
let admin: Page;
let users: string;
/** zhang's current sign-in. */
let session: ConsoleClient;

beforeAll(async () => {
  const dir = tempDir('console-admin-');
  store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  await seedConsoleDb(store, { stations: 40, days: 5, historyHours: 1 });
  users = join(dir, 'users');
  await upsertAccount(users, 'boss', 'admin', PASSWORDS[0]!);
  server = await startConsole({ store, accounts: new AccountFile(users), port: 0, now: () => NOW });
  cleanups.push(() => server.close());
  browser = await launchChromium();
  cleanups.push(() => browser.close());
  admin = await browser.context.newPage();
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function submit(selector: string, url?: string): Promise<void> {
  await Promise.all([url ? admin.waitForURL(url) : admin.waitForLoadState(), admin.click(`${selector} button[type=submit]`)]);
}

const accountRows = async (): Promise<string[]> =>
  admin.$$eval('#accounts tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-account'), ...[...tr.querySelectorAll('td')].slice(1, 3).map((td) => (td.textContent ?? '').trim())].join('|')));

/** Where a signed-in client's /fleet goes: 200, or 303 to the sign-in page once its sign-in has ended. */
const fleetStatus = async (c: ConsoleClient) => (await c.req('/fleet')).status;

describe('the admin in the browser', () => {
  it('adds a town account, refusing a missing town and a weak password first', async () => {
    await admin.goto(`${server.url}/login`);
    await admin.fill('input[name=user]', 'boss');
    await admin.fill('input[name=password]', PASSWORDS[0]!);
    await submit('#login', '**/fleet');
    await admin.click('header nav a[href="/accounts"]');
    expect(await admin.title()).toContain('账号管理');
    expect(await accountRows()).toEqual(['boss|管理员|—']);
    expect(await admin.textContent('tr[data-account=boss] td')).toContain('（您本人）');

    await admin.fill('#account-add input[name=name]', 'zhang');
    await admin.selectOption('#account-add select[name=role]', 'town');
    await admin.fill('#account-add input[name=password]', 'password123');
    await admin.fill('#account-add input[name=password2]', 'password123');
    await submit('#account-add');
    expect(await admin.textContent('#account-problem')).toContain('乡镇账号必须填写所属乡镇');

    await admin.fill('#account-add input[name=town]', '城关镇');
    await admin.fill('#account-add input[name=password]', 'password123');
    await admin.fill('#account-add input[name=password2]', 'password123');
    await submit('#account-add');
    expect(await admin.textContent('#account-problem')).toContain('这是常见密码');

    await admin.fill('#account-add input[name=password]', PASSWORDS[1]!);
    await admin.fill('#account-add input[name=password2]', PASSWORDS[1]!);
    await submit('#account-add', '**/accounts?done=added*');
    expect(await admin.textContent('#account-done')).toContain('已添加账号 zhang');
    expect(await accountRows()).toEqual(['boss|管理员|—', 'zhang|乡镇账号|城关镇']);

    session = new ConsoleClient(server.url);
    expect(await session.loginStatus('zhang', PASSWORDS[1]!)).toBe(303);
    const fleet = await (await session.req('/fleet')).text();
    expect(fleet).toContain('zhang（乡镇账号·城关镇）');
    expect(fleet).toContain('data-stations="20"');
  });

  it('changes the role, resets the password and removes the account after a confirmation; each ends its sign-in', async () => {
    await admin.click('tr[data-account=zhang] a');
    await admin.selectOption('#account-role select[name=role]', 'operator');
    await submit('#account-role', '**/accounts?done=role*');
    expect(await accountRows()).toContain('zhang|操作员|—');
    expect(await fleetStatus(session)).toBe(303);
    session = new ConsoleClient(server.url);
    expect(await session.loginStatus('zhang', PASSWORDS[1]!)).toBe(303);
    expect(await (await session.req('/fleet')).text()).toContain('data-stations="40"');
    // A failed guess at zhang's password, for the log.
    expect(await new ConsoleClient(server.url).loginStatus('zhang', PASSWORDS[3]!)).toBe(401);

    await admin.goto(`${server.url}/accounts/edit?name=zhang`);
    await admin.fill('#account-password input[name=password]', PASSWORDS[2]!);
    await admin.fill('#account-password input[name=password2]', 'something else entirely');
    await submit('#account-password');
    expect(await admin.textContent('#account-problem')).toContain('两次输入的密码不一致');
    await admin.fill('#account-password input[name=password]', PASSWORDS[2]!);
    await admin.fill('#account-password input[name=password2]', PASSWORDS[2]!);
    await submit('#account-password', '**/accounts?done=password*');
    expect(await fleetStatus(session)).toBe(303);
    session = new ConsoleClient(server.url);
    expect(await session.loginStatus('zhang', PASSWORDS[2]!)).toBe(303);
    expect(await fleetStatus(session)).toBe(200);

    // The admin can neither remove nor demote the account signed in.
    await admin.goto(`${server.url}/accounts/remove?name=boss`);
    expect(await admin.textContent('#account-problem')).toContain('不能修改您正在使用的账号');

    await admin.goto(`${server.url}/accounts/edit?name=zhang`);
    await Promise.all([admin.waitForURL('**/accounts/remove?name=zhang'), admin.click('#account-remove')]);
    expect(await admin.title()).toContain('删除账号 zhang？');
    // Cancel keeps it; confirming removes it.
    await Promise.all([admin.waitForURL('**/accounts/edit?name=zhang'), admin.click('text=取消')]);
    await admin.goto(`${server.url}/accounts`);
    expect(await accountRows()).toContain('zhang|操作员|—');
    await admin.goto(`${server.url}/accounts/remove?name=zhang`);
    await submit('#account-remove-confirm', '**/accounts?done=removed*');
    expect(await admin.textContent('#account-done')).toContain('已删除账号 zhang');
    expect(await accountRows()).toEqual(['boss|管理员|—']);
    expect(await fleetStatus(session)).toBe(303);
    expect(await new ConsoleClient(server.url).loginStatus('zhang', PASSWORDS[2]!)).toBe(401);
  });

  it('shows each step in the audit log, filters it by kind and date, and exports it as CSV without a password', async () => {
    // Changes made with the command line while the console runs: each seen at the next request.
    await upsertAccount(users, 'wang', 'viewer', 'wangs-password-1');
    await admin.goto(`${server.url}/accounts`);
    setRole(users, 'wang', 'town', '东山乡');
    await admin.goto(`${server.url}/accounts`);
    await admin.click('header nav a[href="/audit"]');
    expect(await admin.title()).toContain('操作日志');
    const kinds = async () => admin.$$eval('#audit tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-kind')));
    const cells = async () => admin.$$eval('#audit tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td.textContent ?? '').trim())));
    await waitFor(async () => {
      await admin.reload();
      return (await kinds())[0] === 'account_role';
    }, 10_000);
    expect(await kinds()).toEqual(['account_role', 'account_add', 'sign_in_failed', 'account_remove', 'sign_in', 'account_password', 'sign_in_failed', 'sign_in', 'account_role', 'sign_in', 'account_add', 'sign_in']);
    const rows = await cells();
    // The county's time (Asia/Shanghai), not UTC.
    for (const r of rows) expect(r[0]).toBe('2026-11-03 20:00:00');
    expect(rows[0]!.slice(1)).toEqual(['修改角色', '（账号文件）', '', 'wang', '查看员 → 乡镇账号（东山乡）、在账号文件中修改（命令行或手工编辑）']);
    expect(rows[1]!.slice(1)).toEqual(['新增账号', '（账号文件）', '', 'wang', '查看员、在账号文件中修改（命令行或手工编辑）']);
    // The removed account's name is not kept for a failed sign-in: it could be a password typed in the wrong field.
    expect(rows[2]!.slice(1)).toEqual(['登录失败', '', '127.0.0.1', '', '没有此账号（输入的用户名不记录）']);
    expect(rows[3]!.slice(1)).toEqual(['删除账号', 'boss', '127.0.0.1', 'zhang', '操作员']);
    expect(rows[5]!.slice(1)).toEqual(['重置密码', 'boss', '127.0.0.1', 'zhang', '']);
    expect(rows[6]!.slice(1)).toEqual(['登录失败', 'zhang', '127.0.0.1', '', '密码错误']);
    expect(rows[8]!.slice(1)).toEqual(['修改角色', 'boss', '127.0.0.1', 'zhang', '乡镇账号（城关镇） → 操作员']);
    expect(rows[9]!.slice(1)).toEqual(['登录成功', 'zhang', '127.0.0.1', '', '乡镇账号（城关镇）']);
    expect(rows[10]!.slice(1)).toEqual(['新增账号', 'boss', '127.0.0.1', 'zhang', '乡镇账号（城关镇）']);
    expect(rows[11]!.slice(1)).toEqual(['登录成功', 'boss', '127.0.0.1', '', '管理员']);

    await admin.selectOption('#audit-filters select[name=kind]', 'account_add');
    await submit('#audit-filters');
    expect(await kinds()).toEqual(['account_add', 'account_add']);
    await admin.fill('#audit-filters input[name=from]', TODAY);
    await admin.fill('#audit-filters input[name=to]', TODAY);
    await admin.selectOption('#audit-filters select[name=kind]', '');
    await submit('#audit-filters');
    expect((await kinds()).length).toBe(12);
    // The day before, in the county's zone, holds none of them (they are 12:00 UTC on the 3rd).
    await admin.goto(`${server.url}/audit?from=2026-11-02&to=2026-11-02`);
    expect(await admin.textContent('main')).toContain('没有符合条件的记录');
    await admin.goto(`${server.url}/audit?from=${TODAY}&to=${TODAY}`);

    const [download] = await Promise.all([admin.waitForEvent('download'), admin.click('#audit-csv')]);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.startsWith('\uFEFF时间,类型,账号,来源地址,对象,内容\r\n')).toBe(true);
    const lines = csv.slice(1).trim().split('\r\n');
    expect(lines.length).toBe(13);
    expect(lines[1]).toBe('2026-11-03 20:00:00,修改角色,（账号文件）,,wang,查看员 → 乡镇账号（东山乡）、在账号文件中修改（命令行或手工编辑）');
    expect(lines).toContain('2026-11-03 20:00:00,删除账号,boss,127.0.0.1,zhang,操作员');
    for (const words of ['新增账号', '重置密码', '登录成功', '登录失败']) expect(csv).toContain(words);
    // No password anywhere: not in the CSV, not in what is stored.
    const stored = JSON.stringify(await store.auditLog({ limit: 1000, offset: 0 }));
    for (const p of [...PASSWORDS, 'wangs-password-1', 'password123', 'something else entirely']) {
      expect(csv).not.toContain(p);
      expect(stored).not.toContain(p);
    }
    // The export itself is logged.
    await waitFor(async () => {
      await admin.reload();
      return (await kinds())[0] === 'audit_export';
    }, 10_000);

    // In English the same page has English headers and words.
    await admin.goto(`${server.url}/lang?to=en&back=/audit`);
    expect(await admin.$$eval('#audit thead th', (ths) => ths.map((th) => th.textContent))).toEqual(['Time', 'Kind', 'Account', 'Address', 'Target', 'Details']);
    expect(await admin.textContent('#audit tbody')).toContain('Account removed');
    await admin.goto(`${server.url}/lang?to=zh&back=/audit`);
  });
});
