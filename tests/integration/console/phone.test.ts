/**
 * Every page of the county console works on a phone: in Chromium with a 390 px wide viewport (a common
 * phone), in both languages, no page is wider than the screen (wide tables scroll inside themselves),
 * the menu is readable (no link broken one character per line) and the push form can be filled and sent.
 * Signed in as an admin, so the accounts pages and the audit log (and the longest menu) are checked too.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { Pusher } from '../../../county/console/pusher.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { seedNotifyTables } from '../../../scripts/console/seed-notify.js';
import { launchChromium } from '../../../scripts/lib/kit/chromium.js';
import { Mosquitto } from '../../../scripts/lib/kit/index.js';
import { tempDir } from '../../helpers/temp.js';

const WIDTH = 390;
const cleanups: Array<() => unknown> = [];
let server: ConsoleServer;
let page: Page;
let station: string;
let town: string;

beforeAll(async () => {
  const dir = tempDir('console-phone-');
  const store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  const ids = await seedConsoleDb(store, { stations: 30, days: 40, historyHours: 24 });
  station = ids[0]!.id;
  town = ids[0]!.town;
  // The notifications page with something in each table (the collector writes these in a real county).
  await seedNotifyTables(store, ids);
  const users = join(dir, 'users');
  await upsertAccount(users, 'boss', 'admin', 'admin-password-2026');
  await upsertAccount(users, 'zhang', 'town', 'zhangs-password', town);
  const broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  const pusher = await Pusher.start({ url: broker.url, store, commandKey: 'county-command-key-0123456789abcdef' });
  cleanups.push(() => pusher.stop());
  server = await startConsole({ store, accounts: new AccountFile(users), port: 0, pusher });
  cleanups.push(() => server.close());
  const browser = await launchChromium({ width: WIDTH, height: 844 });
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** How far the page sticks out past the screen, and the menu links that wrapped inside themselves. */
async function layout(): Promise<{ overflow: number; brokenLinks: string[] }> {
  // Runs in the page (a string: this project compiles without the DOM's types).
  return page.evaluate(`(() => {
    const overflow = document.documentElement.scrollWidth - window.innerWidth;
    const brokenLinks = [...document.querySelectorAll('header a, header button')]
      .filter((a) => a.getClientRects().length > 1 || a.offsetHeight > 2.2 * parseFloat(getComputedStyle(a).lineHeight || '20'))
      .map((a) => a.textContent || '');
    return { overflow, brokenLinks };
  })()`);
}

async function check(path: string): Promise<void> {
  const res = await page.goto(server.url + path);
  expect(res?.status(), path).toBe(200);
  expect(await layout(), path).toEqual({ overflow: 0, brokenLinks: [] });
}

describe('the console on a 390 px phone', () => {
  it('fits every page to the screen, in Chinese and in English', async () => {
    await check('/login');
    await page.fill('input[name=user]', 'boss');
    await page.fill('input[name=password]', 'admin-password-2026');
    await Promise.all([page.waitForURL('**/fleet'), page.click('#login button[type=submit]')]);
    for (const lang of ['zh', 'en']) {
      await page.goto(`${server.url}/lang?to=${lang}&back=/fleet`);
      for (const path of ['/fleet', `/station?id=${station}`, '/monthly', `/monthly?town=${encodeURIComponent(town)}`, '/monthly/print', `/monthly/print?town=${encodeURIComponent(town)}`, '/schedules', '/notify', '/accounts', '/accounts/edit?name=zhang', '/accounts/remove?name=zhang', '/audit']) await check(path);
    }
  });

  it('lets a clerk fill in and send the push form on the phone, and follows the answers on a page that fits', async () => {
    await page.goto(`${server.url}/lang?to=zh&back=/schedules`);
    await page.check('input[name=target][value=station]');
    await page.fill('input[name=station]', station);
    await page.fill('input[name=id]', 'evening-class');
    await page.check('input[name=days][value="2"]');
    await page.fill('input[name=time]', '20:00');
    await page.fill('input[name=duration]', '45');
    await page.fill('input[name=step_device_0]', 'projector');
    await page.fill('input[name=step_value_0]', 'on');
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#compose button[type=submit]')]);
    expect(await layout()).toEqual({ overflow: 0, brokenLinks: [] });
    // The push in the audit log, with its content in words: the longest rows it has.
    await check('/audit?kind=push');
    expect(await page.textContent('#audit tbody')).toContain('evening-class');
  });
});
