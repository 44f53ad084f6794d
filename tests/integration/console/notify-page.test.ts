/**
 * The group notifications page in real Chromium: an operator sees the robots the notify file names
 * (URLs masked: the key never reaches the page), sends a test message that the notifier (the collector's
 * part, here in this process on the same SQLite file) delivers to a WeCom stand-in, and reads a wrong
 * DingTalk secret as words with its target, in Chinese and English, each test message in the audit log;
 * a viewer sees the history only, and a viewer's forged POST is refused; an admin has all of it; a town
 * account has no page and no menu entry (403), and its POST is refused.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { stringify } from 'yaml';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { silentLogger } from '../../../county/log.js';
import { loadNotifyConfig } from '../../../county/notify/load.js';
import { Notifier } from '../../../county/notify/notifier.js';
import { openCollectorStore, type CountyStore } from '../../../county/open-store.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { launchChromium } from '../../../scripts/lib/kit/chromium.js';
import { waitFor } from '../../../scripts/lib/kit/index.js';
import { RobotStandIns } from '../../../scripts/lib/kit/robots.js';
import { ConsoleClient } from '../../helpers/console-client.js';
import { tempDir } from '../../helpers/temp.js';

const WECOM_KEY = 'wecom-key-0123456789abcdef';
const cleanups: Array<() => unknown> = [];
let server: ConsoleServer;
let store: CountyStore;
let page: Page;
let robots: RobotStandIns;
const cspErrors: string[] = [];

async function signIn(user: string, password: string): Promise<void> {
  await page.goto(`${server.url}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForURL('**/fleet'), page.click('#login button[type=submit]')]);
}

beforeAll(async () => {
  const dir = tempDir('console-notify-');
  store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  await seedConsoleDb(store, { stations: 6, days: 3, historyHours: 2 });
  robots = new RobotStandIns();
  await robots.start();
  cleanups.push(() => robots.stop());
  writeFileSync(join(dir, 'wecom.url'), robots.add('wecom', WECOM_KEY), { mode: 0o600 });
  writeFileSync(join(dir, 'ding.url'), robots.add('dingtalk', 'ding-token', 'the-real-secret'), { mode: 0o600 });
  writeFileSync(join(dir, 'ding.secret'), 'a-wrong-secret', { mode: 0o600 });
  writeFileSync(
    join(dir, 'notify.yaml'),
    stringify({
      // Towns no seeded station is in: only the test messages go out.
      targets: [
        { id: 'county-wecom', kind: 'wecom', url_file: 'wecom.url', towns: ['某镇'] },
        { id: 'hekou-ding', kind: 'dingtalk', url_file: 'ding.url', secret_file: 'ding.secret', towns: ['某镇'], lang: 'en' },
      ],
      rules: { station_offline_after_s: 600 },
    }),
  );
  const notifier = new Notifier({ store, notify: loadNotifyConfig(join(dir, 'notify.yaml')), log: silentLogger, intervals: { tickMs: 200 } });
  notifier.start();
  cleanups.push(() => notifier.stop());
  await waitFor('the targets in the database', async () => (await store.notify.notifyTargets()).length === 2, 10_000);
  const users = join(dir, 'users');
  await upsertAccount(users, 'oper', 'operator', 'operator-password');
  await upsertAccount(users, 'view', 'viewer', 'viewer-password');
  await upsertAccount(users, 'boss', 'admin', 'admin-password-2026');
  await upsertAccount(users, 'zhang', 'town', 'zhangs-password', '某镇');
  server = await startConsole({ store, accounts: new AccountFile(users), port: 0 });
  cleanups.push(() => server.close());
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && cspErrors.push(m.text()));
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('the notifications page', () => {
  it('shows an operator the robots with masked URLs, and sends a test message from its button', async () => {
    await signIn('oper', 'operator-password');
    await page.click('header nav a[href="/notify"]');
    await page.waitForURL('**/notify');
    expect(await page.textContent('h1')).toBe('群通知');
    const wecom = page.locator('#notify-targets tr[data-target="county-wecom"]');
    expect(await wecom.textContent()).toContain('企业微信群机器人');
    expect(await wecom.locator('td.url').textContent()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/cgi-bin\/webhook\/send\?key=\*\*\*$/);
    expect(await page.content()).not.toContain(WECOM_KEY);
    expect(await wecom.textContent()).toContain('尚未使用');

    await Promise.all([page.waitForURL('**/notify?tested=county-wecom'), wecom.locator('button').click()]);
    expect(await page.textContent('#notify-tested')).toBe('发往 county-wecom 的测试消息已排队，几秒内发出。');
    await waitFor('the test message at the WeCom stand-in', () => robots.textsFor('wecom', WECOM_KEY).length === 1, 15_000);
    expect(robots.textsFor('wecom', WECOM_KEY)[0]).toMatch(/^【测试】/);
    await waitFor('the result on the page', async () => {
      await page.goto(`${server.url}/notify`);
      return (await wecom.textContent())!.includes('已发送');
    }, 10_000, 200);
    const history = page.locator('#notify-history tbody tr');
    expect(await history.count()).toBe(1);
    expect(await history.first().textContent()).toContain('county-wecom');
    expect(await history.first().textContent()).toContain('【测试】');
    // Who asked for it, for which group, from where: in the audit log.
    const audit = await store.auditLog({ kinds: ['notify_test'], limit: 10, offset: 0 });
    expect(audit.map((r) => [r.actor, r.target, r.detail])).toEqual([['oper', 'group:county-wecom', JSON.stringify({ target: 'county-wecom' })]]);
    expect(audit[0]!.address).toMatch(/127\.0\.0\.1/);
  });

  it('shows a wrong DingTalk secret as words with its target, and never retries it', async () => {
    await page.goto(`${server.url}/notify`);
    const ding = page.locator('#notify-targets tr[data-target="hekou-ding"]');
    await Promise.all([page.waitForURL('**/notify?tested=hekou-ding'), ding.locator('button').click()]);
    await waitFor('the refusal on the page', async () => {
      await page.goto(`${server.url}/notify`);
      return (await page.locator('#notify-failed tr[data-target="hekou-ding"]').count()) === 1;
    }, 15_000, 200);
    expect(await page.locator('#notify-failed tr[data-target="hekou-ding"]').textContent()).toContain('加签密钥不对：请改正通知文件中这个群机器人的密钥文件');
    expect(await ding.textContent()).toContain('被拒收');
    expect(await page.locator('#notify-failed span[title="310000 sign not match"]').count()).toBe(1);
    await page.goto(`${server.url}/lang?to=en&back=/notify`);
    expect(await page.textContent('h1')).toBe('Notifications');
    expect(await page.locator('#notify-failed tr[data-target="hekou-ding"]').textContent()).toContain('the signing secret is wrong: fix secret_file in the notify file');
    expect(await ding.textContent()).toContain('refused');
    expect(robots.answers.filter((a) => a.startsWith('dingtalk'))).toEqual(['dingtalk ding-token 310000']);
    await page.goto(`${server.url}/lang?to=zh&back=/notify`);
  });

  it('shows a viewer the history only, and refuses a viewer\'s test message', async () => {
    await page.click('header form[action="/logout"] button');
    await signIn('view', 'viewer-password');
    await page.goto(`${server.url}/notify`);
    expect(await page.locator('#viewer-note').count()).toBe(1);
    expect(await page.locator('#notify-targets, #notify-queue, #notify-failed, form[action="/notify/test"]').count()).toBe(0);
    expect(await page.locator('#notify-history tbody tr').count()).toBe(1);
    const client = new ConsoleClient(server.url);
    await client.login('view', 'viewer-password');
    const csrf = await client.csrf('/notify');
    expect((await client.post('/notify/test', { _csrf: csrf, target: 'county-wecom' })).status).toBe(403);
    const oper = new ConsoleClient(server.url);
    await oper.login('oper', 'operator-password');
    expect((await oper.post('/notify/test', { _csrf: await oper.csrf('/notify'), target: 'no-such-target' })).status).toBe(400);
    expect((await oper.post('/notify/test', { target: 'county-wecom' })).status).toBe(403);
    expect(cspErrors).toEqual([]);
  });

  it('gives an admin all of it, and a town account none of it (every town\'s groups and history are on it)', async () => {
    const admin = new ConsoleClient(server.url);
    await admin.login('boss', 'admin-password-2026');
    expect(await (await admin.req('/fleet')).text()).toContain('href="/notify"');
    const full = await (await admin.req('/notify')).text();
    expect(full).toContain('id="notify-targets"');
    expect(full).toContain('action="/notify/test"');
    const before = await store.countAudit({ kinds: ['notify_test'] });
    expect((await admin.post('/notify/test', { _csrf: await admin.csrf('/notify'), target: 'county-wecom' })).status).toBe(303);
    expect(await store.countAudit({ kinds: ['notify_test'] })).toBe(before + 1);

    const town = new ConsoleClient(server.url);
    await town.login('zhang', 'zhangs-password');
    expect(await (await town.req('/fleet')).text()).not.toContain('href="/notify"');
    expect((await town.req('/notify')).status).toBe(403);
    const queued = (await store.notify.notifyQueued(50)).length + (await store.notify.notifyHistory(50)).length;
    expect((await town.post('/notify/test', { _csrf: await town.csrf('/fleet'), target: 'county-wecom' })).status).toBe(403);
    expect((await store.notify.notifyQueued(50)).length + (await store.notify.notifyHistory(50)).length).toBe(queued);
    expect(await store.countAudit({ kinds: ['notify_test'] })).toBe(before + 1);
  });
});
