/**
 * A step value its action cannot take (`开` typed for "on", an empty value, volume `loud`) is refused at
 * every door a schedule comes in by, with the reason, never accepted and found out at class time: the
 * config file (`stationctl config check`, and the agent at start), `schedule.set` at a running station,
 * and the county console's form in Chromium (a browser running no script: the essential path needs none)
 * before anything is signed or sent to the broker.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { callDaemon } from '../../../agent/control/client.js';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { Pusher } from '../../../county/console/pusher.js';
import { startConsole } from '../../../county/console/server.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { launchChromium } from '../../../scripts/lib/kit/chromium.js';
import { Mosquitto } from '../../../scripts/lib/kit/index.js';
import { ctl, startAgent, waitReady, writeConfig } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROJECTOR = { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: 4352, poll_s: 60 };
const schedule = (value: unknown) => ({ id: 'evening', cron: '0 20 * * 2', duration_min: 45, steps: [{ device: 'projector', action: 'power', value }] });

describe('a step value its action cannot take', () => {
  it('fails config check with the key path and the reason, and the agent exits 78', async () => {
    const dir = tempDir('schedule-values-');
    const file = writeConfig(dir, { devices: [PROJECTOR], schedules: [schedule('开')] });
    const check = await ctl(['--config', file, 'config', 'check']);
    expect(check.code).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/schedules\[0\]\.steps\[0\]\.value: power takes on, off or toggle, not "开"/);
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    expect(await agent.exited).toBe(78);
    expect(agent.output()).toMatch(/power takes on, off or toggle, not "开"/);

    const good = writeConfig(dir, { devices: [PROJECTOR], schedules: [schedule('on')] }, 'good.yaml');
    expect((await ctl(['--config', good, 'config', 'check'])).code).toBe(0);
  });

  it('is refused by schedule.set at a running station, which keeps what it had', async () => {
    const dir = tempDir('schedule-values-');
    const file = writeConfig(dir, { devices: [PROJECTOR] });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const socket = join(dir, 'ctl.sock');
    for (const value of ['开', '', 'loud']) {
      const res = await callDaemon(socket, 'schedule.set', { schedule: schedule(value) });
      expect(res.status, JSON.stringify(res)).toBe('error');
      expect(res.error).toMatchObject({ code: 'invalid_args', message: expect.stringContaining(`power takes on, off or toggle, not ${JSON.stringify(value)}`) });
    }
    const volume = await callDaemon(socket, 'schedule.set', { schedule: { ...schedule('on'), steps: [{ device: 'projector', action: 'volume', value: 'loud' }] } });
    expect(volume.error?.message).toContain('volume takes a whole number 0-100, not "loud"');
    expect(((await callDaemon(socket, 'schedule.list')).data as Array<{ id: string }>).map((s) => s.id)).toEqual([]);
    expect((await callDaemon(socket, 'schedule.set', { schedule: schedule('on') })).status).toBe('ok');
    expect(((await callDaemon(socket, 'schedule.list')).data as Array<{ id: string }>).map((s) => s.id)).toEqual(['evening']);
  });

  it('is refused by the console form in Chromium, with the reason in Chinese, before anything is signed or sent; without a script too', async () => {
    const dir = tempDir('schedule-values-console-');
    const store = await openCollectorStore(join(dir, 'county.db'));
    cleanups.push(() => store.close());
    const [first] = await seedConsoleDb(store, { stations: 3, days: 1, historyHours: 1 });
    const users = join(dir, 'users');
    await upsertAccount(users, 'oper', 'operator', 'operator-password');
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.dispose());
    // Whatever the console sends to any station arrives here.
    const watcher = await mqtt.connectAsync(broker.url, { clientId: 'watcher' });
    cleanups.push(() => watcher.endAsync());
    const sent: string[] = [];
    watcher.on('message', (topic) => sent.push(topic));
    const fleet = new FleetTopics('stations');
    await watcher.subscribeAsync(fleet.all);
    const pusher = await Pusher.start({ url: broker.url, store, commandKey: 'county-command-key-0123456789abcdef' });
    cleanups.push(() => pusher.stop());
    const server = await startConsole({ store, accounts: new AccountFile(users), port: 0, pusher });
    cleanups.push(() => server.close());
    // A browser that runs no script: the form is plain HTML, its every field visible.
    const browser = await launchChromium({ javaScript: false });
    cleanups.push(() => browser.close());
    const page = await browser.context.newPage();

    await page.goto(`${server.url}/login`);
    await page.fill('input[name=user]', 'oper');
    await page.fill('input[name=password]', 'operator-password');
    await Promise.all([page.waitForLoadState(), page.click('#login button[type=submit]')]);
    await page.goto(`${server.url}/schedules`);
    await page.fill('#pick-station input[name=station]', first!.name);
    await Promise.all([page.waitForLoadState(), page.click('#pick-station button')]);
    const fillClass = async () => {
      await page.fill('input[name=id]', 'evening');
      await page.check('input[name=days][value="2"]');
      await page.fill('input[name=time]', '20:00');
      await page.fill('input[name=duration]', '45');
    };
    await fillClass();
    // The form offers power as on, off and toggle only; a page edited by hand (or a forged post) says 开.
    await page.locator('select[name=step_0] option[value="projector-1|power|on"]').evaluate((o) => {
      (o as unknown as { value: string }).value = 'projector-1|power|开';
    });
    await page.selectOption('select[name=step_0]', 'projector-1|power|开');
    await page.selectOption('select[name=step_1]', 'led-1|brightness|');
    await page.fill('input[name=step_value_1]', 'loud');
    await page.selectOption('select[name=step_2]', 'led-1|brightness|');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);

    expect(page.url()).toBe(`${server.url}/schedules`);
    expect(await page.locator('.problems li').allTextContents()).toEqual([
      '第 1 步：电源只能填 on（开机）、off（关机）或 toggle（切换），不能填“开”',
      '第 2 步：亮度只能填 0 到 100 的整数，不能填“loud”',
      '第 3 步：亮度只能填 0 到 100 的整数，不能填“”',
    ]);
    // The clerk's input is kept for correcting.
    expect(await page.inputValue('input[name=step_value_1]')).toBe('loud');
    expect(await store.recentPushes(10)).toEqual([]);
    // A round trip through the broker after the refusal: had the console published, it would be here first.
    const probe = fleet.station('probe').status;
    await watcher.publishAsync(probe, 'x');
    await expect.poll(() => sent).toContain(probe);
    expect(sent).toEqual([probe]);

    // Corrected, still without a script: checked in words, confirmed, sent.
    await page.selectOption('select[name=step_0]', 'projector-1|power|on');
    await page.fill('input[name=step_value_1]', '80');
    await page.selectOption('select[name=step_2]', '');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    expect(await page.locator('#confirm-steps li').allTextContents()).toEqual(['活动室投影机：开机', '门口LED屏：亮度调到 80']);
    expect(sent).toEqual([probe]);
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#confirm-send')]);
    await expect.poll(() => sent.length).toBe(2);
    expect(sent[1]).toBe(fleet.station(first!.id).request('schedule.set'));
  }, 60_000);
});
