/**
 * The schedule push as a clerk uses it, in real Chromium against the real console, a real collector on
 * a real SQLite store (a seeded county, each station's inventory with its device names and what they
 * take) and two real agents (the built daemon, each with a simulated PJLink projector) on a real
 * mosquitto: the form offers one station's devices by their names with only what each takes, and for a
 * town what its stations have in common; a confirmation says the schedule in words and nothing is
 * signed or sent before 确认下发; the agents store it and say so in their inventory, which the station
 * page lists; the history says what went to whom; a station that never answers reads 未回复 after the
 * (shortened) wait; and no Chinese page shows an internal code.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { callDaemon } from '../../../agent/control/client.js';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { Pusher } from '../../../county/console/pusher.js';
import { startConsole } from '../../../county/console/server.js';
import { startCollector } from '../../../county/collector.js';
import { openCollectorStore, type CountyStore } from '../../../county/open-store.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { seedConsoleDb, seedIdentity } from '../../../scripts/console/seed.js';
import { launchChromium } from '../../../scripts/lib/kit/chromium.js';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { startAgent, waitReady, writeConfig } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';
import { internalWords, pageInternalWords } from '../../helpers/zh-words.js';

const KEY = 'county-command-key-push-form-0123456789';
const SEEDED = 80;
/** The console calls a station silent after this (10 minutes in production). */
const ANSWER_WAIT_MS = 8_000;
const cleanups: Array<() => unknown> = [];
let store: CountyStore;
let base: string;
let page: Page;
/** Every request the console published, as the broker delivered it. */
const requests: string[] = [];
/** Internal codes seen on the Chinese pages, by page. */
const leaks: Array<{ url: string; words: string[] }> = [];
const scanned = new Set<string>();
/** Script errors and refusals by the Content-Security-Policy in the pages. */
const pageErrors: string[] = [];

async function scan(): Promise<void> {
  const words = await pageInternalWords(page);
  scanned.add(new URL(page.url()).pathname);
  if (words.length) leaks.push({ url: page.url(), words });
}

async function go(path: string): Promise<void> {
  await page.goto(base + path);
  await scan();
}

/** Reloads `path` until `check` holds (the pages are server-rendered: a reload shows the store's state). */
async function untilPage(path: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => {
    await page.goto(base + path);
    return check();
  }, timeoutMs, 300);
}

async function agentStation(id: string, name: string, projector: string, inputs: string[], extra: { schedules?: unknown[]; settopbox?: string }, brokerUrl: string, keyFile: string) {
  const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50, inputs });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir(`push-form-${id}-`);
  const file = writeConfig(dir, {
    station: { id, name, town: '试点镇', timezone: 'Asia/Shanghai' },
    county: { url: brokerUrl, heartbeat_s: 5, allowed_commands: ['schedule.set'], command_key_file: keyFile },
    devices: [
      { id: 'projector', name: projector, kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.5 },
      // A set-top box is only seen (network presence): it takes no step, so the form never offers it.
      ...(extra.settopbox ? [{ id: 'stb', name: extra.settopbox, kind: 'settopbox', driver: 'net_presence', host: '127.0.0.1', port: sim.port, poll_s: 1 }] : []),
    ],
    ...(extra.schedules ? { schedules: extra.schedules } : {}),
  });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  return { id, socket: join(dir, 'ctl.sock') };
}

let a: { id: string; socket: string };
let b: { id: string; socket: string };

const options = (i: number) => page.locator(`select[name=step_${i}] option:not([value=""])`);
const optionValues = async (i = 0) => (await options(i).evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value))).sort();

beforeAll(async () => {
  const broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  const dir = tempDir('push-form-');
  const keyFile = join(dir, 'county.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  await seedConsoleDb(store, { stations: SEEDED, days: 2, historyHours: 1 });
  const collector = await startCollector({ url: broker.url, store, ackIntervalMs: 50, commandKey: KEY });
  cleanups.push(() => collector.stop());

  const watcher = await mqtt.connectAsync(broker.url, { clientId: 'push-form-watcher' });
  cleanups.push(() => watcher.endAsync());
  watcher.on('message', (topic) => requests.push(topic));
  await watcher.subscribeAsync(new FleetTopics('stations').filter('request'));

  const morning = { id: 'morning-news', name: '早间新闻', cron: '30 7 * * 1,2,3,4,5', duration_min: 30, steps: [{ device: 'projector', action: 'power', value: 'on' }] };
  [a, b] = await Promise.all([
    agentStation('pilot-a', '张家庄村教学点', '活动室投影机', ['11', '21', '31', '32', '51'], { schedules: [morning], settopbox: '机顶盒' }, broker.url, keyFile),
    agentStation('pilot-b', '李家湾村教学点', '投影机', ['11', '31'], {}, broker.url, keyFile),
  ]);

  const users = join(dir, 'users');
  await upsertAccount(users, 'oper', 'operator', 'operator-password');
  const pusher = await Pusher.start({ url: broker.url, store, commandKey: KEY, answerTimeoutMs: ANSWER_WAIT_MS });
  cleanups.push(() => pusher.stop());
  const server = await startConsole({ store, accounts: new AccountFile(users), port: 0, pusher });
  cleanups.push(() => server.close());
  base = server.url;
  const browser = await launchChromium();
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', 'oper');
  await page.fill('input[name=password]', 'operator-password');
  await Promise.all([page.waitForURL('**/fleet'), page.click('#login button[type=submit]')]);
  await scan();
}, 120_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 60_000);

describe('the schedule push form', () => {
  it('opens with nothing chosen, finds a station by its name and offers its devices by name, with only what each takes', async () => {
    await go('/schedules');
    expect(await page.inputValue('#pick-town select[name=town]')).toBe('');
    expect(await page.locator('#compose').count()).toBe(0);
    await page.fill('#pick-station input[name=station]', '张家庄村教学');
    await Promise.all([page.waitForURL('**/schedules?target=station*'), page.click('#pick-station button')]);
    expect(await page.textContent('#compose-to')).toContain('张家庄村教学点（pilot-a），试点镇');
    // The agent's inventory (with what its projector takes, from the projector's own INST answer) arrives soon after it connects.
    const path = new URL(page.url()).pathname + new URL(page.url()).search;
    await untilPage(path, async () => (await optionValues()).length === 10);
    await scan();
    expect(await page.locator('select[name=step_0] optgroup').evaluateAll((els) => els.map((e) => e.getAttribute('label')))).toEqual(['活动室投影机']);
    expect(await optionValues()).toEqual(
      ['projector|input|11', 'projector|input|21', 'projector|input|31', 'projector|input|32', 'projector|input|51', 'projector|mute|off', 'projector|mute|on', 'projector|power|off', 'projector|power|on', 'projector|power|toggle'],
    );
    const texts = await options(0).allTextContents();
    expect(texts).toEqual(expect.arrayContaining(['活动室投影机：开机', '活动室投影机：切换到电脑 1', '活动室投影机：切换到视频 1', '活动室投影机：切换到数字（HDMI/DVI） 2', '活动室投影机：切换到网络 1', '活动室投影机：静音']));
    expect(texts.join()).not.toMatch(/projector|音量|亮度/);
  });

  it('lists every station that fits what was typed, and offers a level 0–100 only where a device takes one', async () => {
    await go('/schedules');
    await page.fill('#pick-station input[name=station]', '李家湾');
    await Promise.all([page.waitForURL('**/schedules?target=station*'), page.click('#pick-station button')]);
    const matches = page.locator('#station-matches li a');
    const listed = await matches.allTextContents();
    expect(listed).toContain('李家湾村教学点（pilot-b）');
    expect(listed.length).toBeGreaterThan(2);
    const seeded = listed.find((x) => x.includes('st-'))!;
    await Promise.all([page.waitForLoadState(), matches.filter({ hasText: seeded }).click()]);
    await scan();
    expect(await page.locator('select[name=step_0] optgroup').evaluateAll((els) => els.map((e) => e.getAttribute('label')))).toEqual(['活动室投影机', '门口LED屏', '功放']);
    const brightness = page.locator('select[name=step_0] option', { hasText: '门口LED屏：调亮度（填 0–100）' });
    expect(await brightness.getAttribute('data-needs')).toBe('level');
    // The script shows the value field only when the step needs one, as a number from 0 to 100.
    const box = page.locator('li.step[data-step="0"] .step-value');
    expect(await box.isVisible()).toBe(false);
    await page.selectOption('select[name=step_0]', 'led-1|brightness|');
    expect(await box.isVisible()).toBe(true);
    const field = page.locator('input[name=step_value_0]');
    expect(await field.evaluate((e) => [e.getAttribute('type'), e.getAttribute('min'), e.getAttribute('max')])).toEqual(['number', '0', '100']);
    expect(await page.locator('li.step[data-step="0"] .step-wait').isVisible()).toBe(false);
    await page.selectOption('select[name=step_0]', 'projector-1|power|on');
    expect(await box.isVisible()).toBe(false);
    expect(await page.locator('li.step[data-step="0"] .step-wait').isVisible()).toBe(true);
  });

  it('offers for a town what all its stations have in common', async () => {
    await go('/schedules');
    await page.selectOption('#pick-town select[name=town]', '东山乡');
    await Promise.all([page.waitForURL('**/schedules?target=town*'), page.click('#pick-town button')]);
    await scan();
    const town = Array.from({ length: SEEDED }, (_, i) => seedIdentity(i, SEEDED)).filter((s) => s.town === '东山乡');
    // One in five seeded projectors has no second HDMI input: the town has only what all of them have.
    expect(town.some((s) => s.index % 5 === 4)).toBe(true);
    expect(await page.textContent('#common-note')).toBe(`这里只列出所选 ${town.length} 个站点都有的设备和功能。`);
    expect(await optionValues()).toEqual([
      'amp-1|power|off', 'amp-1|power|on', 'amp-1|power|toggle',
      'led-1|blank|off', 'led-1|blank|on', 'led-1|brightness|',
      'projector-1|input|11', 'projector-1|input|31', 'projector-1|mute|off', 'projector-1|mute|on', 'projector-1|power|off', 'projector-1|power|on', 'projector-1|power|toggle',
    ]);
  });

  it('shows the schedule in words before anything is signed or sent, and sends it only on 确认下发', async () => {
    await go('/schedules');
    await page.selectOption('#pick-town select[name=town]', '试点镇');
    await Promise.all([page.waitForURL('**/schedules?target=town*'), page.click('#pick-town button')]);
    const path = new URL(page.url()).pathname + new URL(page.url()).search;
    // Both agents' inventories are in; what they have in common: pilot-b's projector has inputs 11 and 31 only.
    await untilPage(path, async () => (await optionValues()).includes('projector|input|31') && !(await optionValues()).includes('projector|input|21'));
    await page.fill('input[name=id]', 'evening-class');
    await page.fill('input[name=name]', '晚间课堂');
    await page.check('input[name=days][value="2"]');
    await page.check('input[name=days][value="4"]');
    await page.fill('input[name=time]', '20:00');
    await page.fill('input[name=duration]', '45');
    await page.selectOption('select[name=step_0]', 'projector|power|on');
    await page.selectOption('select[name=step_wait_0]', 'on');
    await page.selectOption('select[name=step_1]', 'projector|input|31');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    await scan();

    expect(await page.textContent('h1')).toBe('核对后下发');
    expect(await page.textContent('#confirm-to')).toBe('试点镇的 2 个站点');
    expect(await page.getAttribute('#confirm-count', 'data-n')).toBe('2');
    expect(await page.textContent('#confirm-title')).toBe('“晚间课堂”（编号 evening-class）');
    expect(await page.textContent('#confirm-when')).toBe('时间：每周二、周四 20:00（北京时间）');
    expect(await page.locator('#confirm-steps li').allTextContents()).toEqual(['活动室投影机：开机，等开机完成', '活动室投影机：切换到数字（HDMI/DVI） 1']);
    expect(await page.textContent('#confirm-end')).toBe('结束时：按相反顺序关闭活动室投影机');
    // Nothing signed, stored or published yet: a round trip through the broker shows none arrived.
    expect(await store.recentPushes(10)).toEqual([]);
    expect(requests).toEqual([]);

    // Back to the form keeps what was typed; checked again, then confirmed.
    await Promise.all([page.waitForLoadState(), page.click('#confirm-edit')]);
    expect(await page.inputValue('input[name=id]')).toBe('evening-class');
    expect(await page.inputValue('select[name=step_1]')).toBe('projector|input|31');
    expect(await page.inputValue('select[name=step_wait_0]')).toBe('on');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#confirm-send')]);
    await page.locator('#push-rows tr[data-station="pilot-a"][data-status="ok"]').waitFor({ timeout: 20_000 });
    await page.locator('#push-rows tr[data-station="pilot-b"][data-status="ok"]').waitFor({ timeout: 20_000 });
    await waitFor(async () => (await page.textContent('#push-summary')) === '成功 2，失败 0，等待回复 0，未回复 0', 5_000);
    await scan();
    expect(await page.textContent('#push-what h2')).toBe('新增或替换“晚间课堂”（编号 evening-class）：每周二、周四 20:00，45 分钟');
    expect(await page.textContent('#push-to')).toBe('下发到：试点镇的 2 个站点');
    expect(requests.sort()).toEqual(['stations/pilot-a/request/schedule.set', 'stations/pilot-b/request/schedule.set']);
    for (const s of [a, b]) {
      const list = (await callDaemon(s.socket, 'schedule.list')).data as Array<{ id: string; cron: string; source: string }>;
      expect(list.find((x) => x.id === 'evening-class')).toMatchObject({ cron: '0 20 * * 2,4', source: 'county' });
    }
  }, 90_000);

  it('says in the history what went to whom, and the station page lists what is installed there, in words', async () => {
    await go('/schedules');
    const row = page.locator('#recent-pushes tbody tr').first();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['新增或替换“晚间课堂”（编号 evening-class）：每周二、周四 20:00，45 分钟', '试点镇的 2 个站点', '成功 2，失败 0，等待 0，未回复 0']);

    // The agent republished its inventory with the new schedule; the station page lists both of its schedules.
    const pushed = page.locator('#station-schedules tr[data-schedule="evening-class"][data-source="county"]');
    await untilPage('/station?id=pilot-a', async () => (await pushed.count()) === 1);
    await scan();
    const text = await pushed.innerText();
    for (const part of ['晚间课堂', '每周二、周四 20:00', '北京时间', '45 分钟', '活动室投影机：开机，等开机完成', '活动室投影机：切换到数字（HDMI/DVI） 1', '县级下发']) expect(text).toContain(part);
    const own = await page.locator('#station-schedules tr[data-schedule="morning-news"][data-source="config"]').innerText();
    for (const part of ['早间新闻', '每周一、周二、周三、周四、周五 07:30', '本站配置', '活动室投影机：开机']) expect(own).toContain(part);
    // Devices by their configured names.
    expect(await page.locator('#devices tr[data-device="projector"] td').first().textContent()).toBe('活动室投影机');
    expect(await page.locator('#devices tr[data-device="stb"] td').first().textContent()).toBe('机顶盒');
    expect(await page.textContent('#station-facts')).toContain('北京时间');
  });

  it('marks a station that never answers 未回复 once the wait is over, without a reload', async () => {
    const silent = seedIdentity(1, SEEDED);
    await go(`/schedules?target=station&station=${silent.id}`);
    await page.check('input[name=mode][value=delete]');
    await page.fill('input[name=id]', 'old-class');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    expect(await page.textContent('#confirm-title')).toBe('删除计划 old-class');
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#confirm-send')]);
    const tr = page.locator(`#push-rows tr[data-station="${silent.id}"]`);
    expect(await tr.getAttribute('data-status')).toBe('sent');
    expect(await tr.locator('.badge').textContent()).toBe('等待回复');
    await page.locator(`#push-rows tr[data-station="${silent.id}"][data-status="no_answer"]`).waitFor({ timeout: ANSWER_WAIT_MS + 15_000 });
    expect(await tr.locator('.badge').textContent()).toBe('未回复');
    expect(await page.textContent('#push-summary')).toBe('成功 0，失败 0，等待回复 0，未回复 1');
    expect(await page.textContent('#push-silent')).toBe(`未回复的站点： ${silent.name}`);
    await page.reload();
    await scan();
    expect(await tr.getAttribute('data-status')).toBe('no_answer');
    await go('/schedules');
    const cells = await page.locator('#recent-pushes tbody tr').first().locator('td').allTextContents();
    expect(cells.slice(1, 4)).toEqual(['删除计划 old-class', `${silent.name}（${silent.id}）`, '成功 0，失败 0，等待 0，未回复 1']);
  }, 60_000);

  it('shows no internal code on any Chinese page it visited', async () => {
    // The scan itself finds what it looks for.
    expect(internalWords('已下发 schedule.set：cron 0 20 * * 2（Asia/Shanghai），第 {n} 步，undefined')).toEqual(['schedule.set', 'cron', 'Asia/Shanghai', '{n}', 'undefined']);
    await go('/fleet');
    await go(`/station?id=${seedIdentity(3, SEEDED).id}`);
    await go('/monthly');
    expect([...scanned].sort()).toEqual(['/fleet', '/monthly', '/push', '/schedules', '/station']);
    expect(leaks).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
