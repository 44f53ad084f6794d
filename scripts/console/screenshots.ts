/**
 * Screenshots of every console page for docs/screenshots/, from a realistic seeded database (seed.ts:
 * 500 stations of the fleet simulator's content under Chinese names) in real Chromium. The push page
 * needs a broker: a real mosquitto (scripts/lib/kit) takes the requests; the seeded stations are not
 * running, so the answers of most stations of the town are written the way the console stores them
 * (recordPushResponse) and a few stay unanswered, as on a real morning.
 *
 *   bash scripts/console-screenshots.sh        (installs a CJK font when missing, builds, runs this)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Mosquitto } from '../lib/kit/mosquitto.js';
import { removeDir, tempDir } from '../lib/kit/temp.js';
import { waitFor } from '../lib/kit/wait.js';
import { AccountFile, upsertAccount } from '../../county/console/accounts.js';
import { launchChromium } from '../lib/kit/chromium.js';
import { openCollectorStore } from '../../county/open-store.js';
import { Pusher } from '../../county/console/pusher.js';
import { seedConsoleDb } from './seed.js';
import { seedNotifyTables } from './seed-notify.js';
import { startConsole } from '../../county/console/server.js';
import { localMonth } from '../../county/console/time.js';

export async function takeScreenshots(outDir: string, stations = 500): Promise<string[]> {
  const dir = tempDir('console-shots-');
  const done: Array<() => Promise<unknown> | unknown> = [() => removeDir(dir)];
  try {
    const store = await openCollectorStore(join(dir, 'county.db'));
    done.push(() => store.close());
    const ids = await seedConsoleDb(store, { stations, days: 40, historyHours: 72 });
    const users = join(dir, 'users');
    await upsertAccount(users, 'wangli', 'operator', 'screenshot-pass');
    await upsertAccount(users, 'zhaomin', 'admin', 'screenshot-admin-pass');
    await upsertAccount(users, 'zhangwei', 'town', 'screenshot-town-pass', ids[0]!.town);
    await upsertAccount(users, 'liufang', 'viewer', 'screenshot-view-pass');
    const broker = await Mosquitto.start();
    done.push(() => broker.dispose());
    const pusher = await Pusher.start({ url: `mqtt://127.0.0.1:${broker.port}`, store, commandKey: 'screenshot-county-key-0123456789abcdef' });
    done.push(() => pusher.stop());
    const server = await startConsole({ store, accounts: new AccountFile(users), port: 0, pusher });
    done.push(() => server.close());
    const browser = await launchChromium({ width: 1440, height: 1000 });
    done.push(() => browser.close());
    const page = await browser.context.newPage();
    mkdirSync(outDir, { recursive: true });
    const shots: string[] = [];
    /** The page down to `height` px (a whole long table would make the picture unreadable when shrunk). */
    const shot = async (name: string, height = 1000) => {
      const file = join(outDir, `console-${name}.png`);
      const full = (await page.locator('body').boundingBox())?.height ?? height;
      await page.screenshot({ path: file, fullPage: true, clip: { x: 0, y: 0, width: 1440, height: Math.min(height, Math.ceil(full)) } });
      shots.push(file);
    };
    /** Charts draw on a canvas after the script runs: wait for every one of them (locators: the CSP forbids eval). */
    const chartsDrawn = async () => {
      const charts = page.locator('[data-chart]');
      for (let i = 0; i < (await charts.count()); i++) await charts.nth(i).locator('canvas').first().waitFor();
    };

    await page.goto(`${server.url}/login`);
    await page.fill('input[name=user]', 'wangli');
    await shot('login');
    await page.fill('input[name=password]', 'screenshot-pass');
    await Promise.all([page.waitForURL('**/fleet'), page.click('button[type=submit].primary')]);
    await shot('fleet', 1500);
    const faulty = ids.find((s) => s.index % 7 === 3 && s.index % 23 !== 5)!;
    await page.goto(`${server.url}/station?id=${faulty.id}`);
    await chartsDrawn();
    await shot('station', 2200);
    // The month with the most seeded days behind it (on the 1st, the new month is still empty).
    await page.goto(`${server.url}/monthly?month=${localMonth(Date.now() - 15 * 86_400_000, 'Asia/Shanghai')}`);
    await chartsDrawn();
    await shot('monthly', 1500);
    await page.click(`#towns a >> text=${ids[1]!.town}`);
    await chartsDrawn();
    await shot('monthly-town', 2000);

    const town = ids[0]!.town;
    await page.goto(`${server.url}/schedules?target=town&town=${encodeURIComponent(town)}`);
    await page.fill('input[name=id]', 'winter-class');
    await page.fill('input[name=name]', '冬季农业技术培训');
    for (const d of ['2', '4']) await page.check(`input[name=days][value="${d}"]`);
    await page.fill('input[name=time]', '19:30');
    await page.fill('input[name=duration]', '90');
    const steps: Array<[string, string, string]> = [
      ['projector-1|power|on', '', 'on'],
      ['projector-1|input|31', '', ''],
      ['amp-1|power|on', '', ''],
      ['led-1|brightness|', '80', ''],
    ];
    for (const [i, [choice, value, wait]] of steps.entries()) {
      await page.selectOption(`select[name=step_${i}]`, choice);
      if (value) await page.fill(`input[name=step_value_${i}]`, value);
      if (wait) await page.selectOption(`select[name=step_wait_${i}]`, wait);
    }
    await shot('schedules', 1400);
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    await shot('confirm', 1100);
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#confirm-send')]);
    const pushId = new URL(page.url()).searchParams.get('id')!;
    const rows = await store.push(pushId);
    for (const [i, row] of rows.entries()) {
      if (i % 9 === 4) continue; // not answered (yet)
      const failed = i % 13 === 6;
      const body = failed
        ? { v: 1, transaction: row.transaction, status: 'error', error: { code: 'invalid_args', message: 'schedule winter-class: no device amp-1' }, ts: new Date().toISOString(), clock: 'synced' }
        : { v: 1, transaction: row.transaction, status: 'ok', data: { ids: ['winter-class'] }, ts: new Date().toISOString(), clock: 'synced' };
      await store.recordPushResponse(row.station_id, row.transaction, failed ? 'error' : 'ok', JSON.stringify(body), new Date(Date.parse(row.sent_at) + 800 + i * 350).toISOString());
    }
    const unanswered = rows.filter((_, i) => i % 9 === 4).length;
    await waitFor(async () => (await page.locator('#push-rows tr[data-status="sent"]').count()) === unanswered, 20_000);
    await shot('push', 1400);

    // The notifications page, the operator's view with every table filled.
    await seedNotifyTables(store, ids);
    await page.goto(`${server.url}/notify`);
    await shot('notify', 1600);

    // The admin's pages: accounts and the audit log (with the sign-ins and the push above in it).
    await Promise.all([page.waitForURL('**/login'), page.click('header form.inline button')]);
    await page.fill('input[name=user]', 'zhaomin');
    await page.fill('input[name=password]', 'screenshot-admin-pass');
    await Promise.all([page.waitForURL('**/fleet'), page.click('button[type=submit].primary')]);
    await page.goto(`${server.url}/accounts`);
    await shot('accounts', 1200);
    await page.goto(`${server.url}/audit`);
    await shot('audit', 1000);
    return shots;
  } finally {
    for (const fn of done.reverse()) await fn();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = resolve(process.argv[2] ?? 'docs/screenshots');
  takeScreenshots(out)
    .then((files) => writeFileSync(1, files.map((f) => `wrote ${f}\n`).join('')))
    .catch((err: unknown) => {
      process.stderr.write(`screenshots: ${(err as Error).stack}\n`);
      process.exit(1);
    });
}
