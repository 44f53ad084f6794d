/**
 * Every page of the county console works on a phone: in Chromium with a 390 px wide viewport (a common
 * phone), in both languages, no page is wider than the screen (wide tables scroll inside themselves),
 * the menu is readable (no link broken one character per line), no Chinese page shows an internal code
 * (tests/helpers/zh-words.ts), and the push form can be filled, checked and sent. Signed in as an admin,
 * so the accounts pages and the audit log (and the longest menu) are checked too.
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
import { pageInternalWords } from '../../helpers/zh-words.js';

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

/** The page as it is now fits the phone, and in Chinese shows no internal code. */
async function fits(what: string): Promise<void> {
  expect(await layout(), what).toEqual({ overflow: 0, brokenLinks: [] });
  if ((await page.getAttribute('html', 'lang')) === 'zh-CN') expect(await pageInternalWords(page), what).toEqual([]);
}

async function check(path: string): Promise<void> {
  const res = await page.goto(server.url + path);
  expect(res?.status(), path).toBe(200);
  await fits(path);
}

describe('the console on a 390 px phone', () => {
  it('fits every page to the screen, in Chinese and in English', async () => {
    await check('/login');
    await page.fill('input[name=user]', 'boss');
    await page.fill('input[name=password]', 'admin-password-2026');
    await Promise.all([page.waitForURL('**/fleet'), page.click('#login button[type=submit]')]);
    for (const lang of ['zh', 'en']) {
      await page.goto(`${server.url}/lang?to=${lang}&back=/fleet`);
      for (const path of [
        '/fleet',
        `/station?id=${station}`,
        '/monthly',
        `/monthly?town=${encodeURIComponent(town)}`,
        '/monthly/print',
        `/monthly/print?town=${encodeURIComponent(town)}`,
        '/schedules',
        `/schedules?target=station&station=${encodeURIComponent('村')}`,
        `/schedules?target=station&station=${station}`,
        `/schedules?target=town&town=${encodeURIComponent(town)}`,
        '/schedules?target=all',
        '/notify',
        '/accounts',
        '/accounts/edit?name=zhang',
        '/accounts/remove?name=zhang',
        '/audit',
      ]) await check(path);
    }
  });

  it('lets a clerk find a station, fill in the form, check it and send it on the phone, every page fitting', async () => {
    await page.goto(`${server.url}/lang?to=zh&back=/schedules`);
    await page.fill('#pick-station input[name=station]', station);
    await Promise.all([page.waitForURL('**/schedules?target=station*'), page.click('#pick-station button')]);
    await fits('compose');
    await page.fill('input[name=id]', 'evening-class');
    await page.check('input[name=days][value="2"]');
    await page.fill('input[name=time]', '20:00');
    await page.fill('input[name=duration]', '45');
    await page.selectOption('select[name=step_0]', 'projector-1|power|on');
    await page.selectOption('select[name=step_1]', 'led-1|brightness|');
    await page.fill('input[name=step_value_1]', '80');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    expect(await page.textContent('h1')).toBe('核对后下发');
    await fits('confirmation');
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#confirm-send')]);
    await fits('push');
    // The push in the audit log, with its content in words: the longest rows it has.
    await check('/audit?kind=push');
    expect(await page.textContent('#audit tbody')).toContain('evening-class');
  });
});
