/**
 * Visits that close, end to end: three real agents (dist/agent/main.js, each with a simulated PJLink
 * projector) report over a real mosquitto to the county collector and console, both run as their own
 * processes from dist/ (the collector told `--offline-after-s 10`, the console the same through its
 * config file's `visits.offline_after_s`), and a clerk works the fleet in Chromium.
 *
 * - village-a declares no opening hours: a class in progress shows as 上课中; stopped with SIGTERM it
 *   reads 已关机 and is no visit.
 * - village-b is open every hour of the week: killed with SIGKILL it is a visit, but only once 10 s have
 *   passed; an operator acknowledges it with a note, the station's return clears it by itself, killed
 *   again it is cleared by hand and does not come back while the station stays away. A viewer sees the
 *   items and has no buttons, and a forged POST of theirs is refused.
 * - village-c is open one day that is not today: its failed scheduled class is a visit with the reason
 *   in words, and killed with SIGKILL its lost connection is none (outside opening hours).
 *
 * The collector also runs the group notifications (`--notify`, a WeCom stand-in for 城关镇's group) with
 * no threshold of their own: the group hears what the list shows, on the same rule and the same 10 s —
 * village-b lost, village-c's failed class, village-b back; never village-a shut down or village-c
 * lost outside its hours.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { stringify } from 'yaml';
import { WEEKDAYS } from '../../../protocol/opening-hours.js';
import { launchChromium, type Chromium } from '../../../scripts/lib/kit/chromium.js';
import { freePort, Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { spawnCaptured, type Captured } from '../../../scripts/lib/kit/process.js';
import { RobotStandIns } from '../../../scripts/lib/kit/robots.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { ctl, ROOT, startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const CONSOLE_JS = join(ROOT, 'dist', 'county', 'console.js');
const COLLECTOR_JS = join(ROOT, 'dist', 'county', 'collector.js');
const THRESHOLD_MS = 10_000;
const cleanups: Array<() => unknown> = [];

interface Station {
  id: string;
  name: string;
  sim: PjlinkSimulator;
  agent: RunningAgent;
  file: string;
}

let broker: Mosquitto;
let browser: Chromium;
let page: Page;
let base: string;
let a: Station, b: Station, c: Station;
let robots: RobotStandIns;
/** What 城关镇's group was told, in order. */
const told = (): string[] => robots.textsFor('wecom', 'chengguan');

function consoleCli(args: string[], input: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CONSOLE_JS, ...args], { timeout: 30_000 }, (err, _out, stderr) => resolve({ code: err ? 1 : 0, stderr }));
    child.stdin!.end(input);
  });
}

async function started(proc: Captured, pattern: RegExp): Promise<string> {
  const m = await waitFor(`${pattern}`, () => {
    if (proc.proc.exitCode !== null) throw new Error(`exited early: ${proc.output()}`);
    return pattern.exec(proc.output());
  }, 20_000);
  return m[1] ?? m[0];
}

async function station(id: string, name: string, extra: Record<string, unknown> = {}, devices: unknown[] = []): Promise<Station> {
  const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir(`visits-${id}-`);
  const { opening_hours, ...rest } = extra as { opening_hours?: unknown };
  const file = writeConfig(dir, {
    station: { id, name, town: '城关镇', timezone: 'Asia/Shanghai', ...(opening_hours ? { opening_hours } : {}) },
    county: { url: broker.url, heartbeat_s: 5, require_ack: true, allowed_commands: ['sessions.resend'] },
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.25 }, ...devices],
    ...rest,
  });
  const s: Station = { id, name, sim, file, agent: startAgent(file) };
  cleanups.push(() => s.agent.stop('SIGKILL'));
  await waitReady(s.agent, file);
  return s;
}

/** Reloads `path` until `check` holds (the pages are server-rendered: a reload shows the county's state). */
async function untilPage(path: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${path} to show what is expected`, async () => {
    await page.goto(base + path);
    return check();
  }, timeoutMs, 300);
}

async function signIn(user: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await Promise.all([page.waitForLoadState(), page.click('#login button[type=submit]')]);
}

const row = (s: Station) => page.locator(`#stations tr[data-station="${s.id}"]`);
const stateOf = (s: Station) => row(s).getAttribute('data-state');
const linkItem = (s: Station) => page.locator(`#visit li[data-station="${s.id}"] li[data-cause="link"]`);

beforeAll(async () => {
  broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  const dir = tempDir('visits-county-');
  const db = join(dir, 'county.db');
  robots = new RobotStandIns();
  await robots.start();
  cleanups.push(() => robots.stop());
  writeFileSync(join(dir, 'chengguan.url'), `${robots.add('wecom', 'chengguan')}\n`, { mode: 0o600 });
  const beijing = new Date(Date.now() + 8 * 3_600_000);
  writeFileSync(
    join(dir, 'notify.yaml'),
    stringify({
      targets: [{ id: 'chengguan', kind: 'wecom', url_file: 'chengguan.url', towns: ['城关镇'] }],
      // No station_offline_after_s: the collector's --offline-after-s. The digest and the progress well away from this run.
      rules: { daily_digest: `${String((beijing.getUTCHours() + 12) % 24).padStart(2, '0')}:00`, monthly: { day: ((beijing.getUTCDate() + 13) % 28) + 1, time: '09:00' } },
    }),
    { mode: 0o600 },
  );
  const collector = spawnCaptured(process.execPath, [COLLECTOR_JS, '--url', broker.url, '--db', db, '--create', '--print-s', '0', '--offline-after-s', '10', '--notify', join(dir, 'notify.yaml'), '--log-level', 'info'], process.env);
  cleanups.push(() => collector.stop('SIGTERM'));
  await started(collector, /collector connected/);

  const users = join(dir, 'users');
  for (const [user, role] of [['oper', 'operator'], ['viewer', 'viewer']] as const) {
    const r = await consoleCli(['user', 'add', '--users', users, user, '--role', role], `${user}-pass-2026\n`);
    expect(r.code, r.stderr).toBe(0);
  }
  const config = join(dir, 'county.yaml');
  writeFileSync(config, `db: county.db\nvisits:\n  offline_after_s: 10\nconsole:\n  users: users\n  http: 127.0.0.1:0\n  log_level: warn\n`, { mode: 0o600 });
  const consoleProc = spawnCaptured(process.execPath, [CONSOLE_JS, '--config', config], process.env);
  cleanups.push(() => consoleProc.stop('SIGTERM'));
  base = await started(consoleProc, /console listening on (http:\S+)/);

  // village-c opens on one day only, two days or more away from today (Beijing time): closed throughout.
  const today = (new Date(Date.now() + 8 * 3_600_000).getUTCDay() + 6) % 7;
  const closedDay = WEEKDAYS[(today + 3) % 7]!;
  const deadPort = await freePort();
  [a, b, c] = await Promise.all([
    station('village-a', '张家庄村'),
    station('village-b', '李家湾村', { opening_hours: [{ days: [...WEEKDAYS], from: '00:00', to: '24:00' }] }),
    station(
      'village-c',
      '王家沟村',
      {
        opening_hours: [{ days: [closedDay], from: '00:00', to: '24:00' }],
        schedules: [{ id: 'evening', cron: '0 20 * * 2', duration_min: 45, steps: [{ device: 'projector', action: 'power', value: 'on' }, { device: 'projector2', action: 'power', value: 'on' }] }],
      },
      // A second projector nobody answers for: the class's step on it fails.
      [{ id: 'projector2', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: deadPort, poll_s: 1, usage: false }],
    ),
  ]);

  browser = await launchChromium();
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
}, 120_000);

afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}, 60_000);

describe('visits in the county console', () => {
  it('shows the stations online, a class in progress as 上课中, and each station’s opening hours', async () => {
    await signIn('oper', 'oper-pass-2026');
    await untilPage('/fleet', async () => (await stateOf(a)) === 'online' && (await stateOf(b)) === 'online' && (await stateOf(c)) !== null);
    a.sim.setPower(1);
    await untilPage('/fleet', async () => (await stateOf(a)) === 'in_class');
    expect(await row(a).locator('.badge').textContent()).toBe('上课中');
    expect(await page.locator('#fleet-summary').getAttribute('data-in-class')).toBe('1');
    await page.goto(`${base}/station?id=village-b`);
    expect(await page.textContent('#opening-hours')).toBe('周一、周二、周三、周四、周五、周六、周日 00:00–24:00');
    await page.goto(`${base}/station?id=village-a`);
    expect(await page.textContent('#opening-hours')).toBe('全天（未声明开放时间）');
  }, 60_000);

  it('makes a failed scheduled class a visit, and the station page says why it failed', async () => {
    const trial = await ctl(['--config', c.file, 'schedule', 'run', 'evening', '--minutes', '0.05']);
    expect(trial.code, trial.stderr).toBe(0);
    const item = page.locator('#visit li[data-station="village-c"] li[data-cause="class:evening"]');
    await untilPage('/fleet', async () => (await item.count()) === 1);
    expect(await item.locator('.cause').textContent()).toMatch(/^计划“evening”\d{4}-\d\d-\d\d \d\d:\d\d 的课没有开起来（1\/2 步成功）$/);
    await page.goto(`${base}/station?id=village-c`);
    expect(await page.locator('#visit-items li[data-cause="class:evening"]').count()).toBe(1);
    // Once the run has ended (its end steps fail on the same projector): both phases, in order.
    // The schedule as installed (the station's config lists it), its last run with each failed step; the two
    // unnamed projectors by what they are, told apart by their ids.
    const why = page.locator('#station-schedules tr[data-schedule="evening"][data-source="config"] ul.why li');
    await untilPage('/station?id=village-c', async () => (await why.count()) === 2);
    expect(await why.allTextContents()).toEqual(['开始时，投影机（projector2） 电源 开：设备离线（电源、线路或网络）', '结束时，投影机（projector2） 电源 关：设备离线（电源、线路或网络）']);
    // 城关镇's group hears of it too.
    await waitFor('the failed class told to the group', () => told().some((t) => t.startsWith('【上课失败】城关镇王家沟村的播放计划“evening”没有完成')), 20_000, 200);
  }, 60_000);

  it('shows a station stopped with SIGTERM as 已关机 with no visit; one killed with SIGKILL is a visit only after 10 s, and not outside its opening hours', async () => {
    expect(await a.agent.stop('SIGTERM')).toBe(0);
    const killedAt = Date.now();
    await Promise.all([b.agent.stop('SIGKILL'), c.agent.stop('SIGKILL')]);
    await untilPage('/fleet', async () => (await stateOf(a)) === 'shutdown' && (await stateOf(b)) === 'offline' && (await stateOf(c)) === 'offline');
    // Seen lost well before the threshold (the broker publishes the Will at once): not a visit yet.
    const seen = Date.now() - killedAt;
    expect(seen).toBeLessThan(THRESHOLD_MS);
    expect(await linkItem(b).count()).toBe(0);
    await untilPage('/fleet', async () => (await linkItem(b).count()) === 1);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(THRESHOLD_MS);
    expect(await linkItem(b).locator('.cause').textContent()).toMatch(/^连接中断（不是正常关机），最后联系 \d+ 秒前$/);
    expect(await linkItem(b).getAttribute('data-visit-state')).toBe('active');
    // village-a: shut down, nothing to do; village-c: lost too, but outside its opening hours.
    expect(await row(a).locator('.badge').textContent()).toBe('已关机');
    expect(await page.locator('#visit li[data-station="village-a"]').count()).toBe(0);
    expect(await row(a).getAttribute('data-visits')).toBe('0');
    expect(await linkItem(c).count()).toBe(0);
    expect(await row(c).locator('.closed-hours').textContent()).toBe('现在不在开放时间');
    expect(await page.locator('#fleet-summary').getAttribute('data-shutdown')).toBe('1');
    // The group hears what the list shows, on the same threshold: village-b, once it is a visit. The three
    // went at the same moment, so had village-a (shut down) or village-c (closed) been news, it would be
    // there by now.
    await waitFor('village-b told to the group', () => told().some((t) => t.startsWith('【需上门】城关镇李家湾村已离线')), 20_000, 200);
    const offline = told().filter((t) => t.startsWith('【需上门】'));
    expect(offline).toHaveLength(1);
    expect(told().filter((t) => /^【(需上门|已恢复)】/.test(t) && /张家庄村|王家沟村/.test(t))).toEqual([]);
  }, 60_000);

  it('lets an operator acknowledge the visit with a note; a viewer sees it, has no buttons, and a forged POST is refused', async () => {
    await linkItem(b).locator('input[name=note]').fill('王师傅明天上午去');
    await Promise.all([page.waitForLoadState(), linkItem(b).locator('.visit-ack button').click()]);
    expect(new URL(page.url()).pathname).toBe('/fleet');
    expect(await linkItem(b).getAttribute('data-visit-state')).toBe('acknowledged');
    expect(await linkItem(b).locator('.vstate').textContent()).toMatch(/^已确认：oper，\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(await linkItem(b).locator('.visit-note').textContent()).toBe('王师傅明天上午去');

    await browser.context.clearCookies();
    await signIn('viewer', 'viewer-pass-2026');
    await page.goto(`${base}/station?id=village-b`);
    const item = page.locator('#visit-items li[data-cause="link"]');
    expect(await item.getAttribute('data-visit-state')).toBe('acknowledged');
    expect(await page.locator('#visits form').count()).toBe(0);
    const id = (await item.getAttribute('data-visit'))!;
    const token = await page.locator('input[name=_csrf]').first().inputValue();
    const forged = await page.request.post(`${base}/visit`, { form: { _csrf: token, station: 'village-b', id, do: 'clear' } });
    expect(forged.status()).toBe(403);
    await page.reload();
    expect(await item.getAttribute('data-visit-state')).toBe('acknowledged');
  }, 60_000);

  it('clears the item by itself when the station comes back; killed again, an operator clears it by hand and it stays cleared', async () => {
    await browser.context.clearCookies();
    await signIn('oper', 'oper-pass-2026');
    b.agent = startAgent(b.file);
    cleanups.push(() => b.agent.stop('SIGKILL'));
    await untilPage('/fleet', async () => (await stateOf(b)) === 'online' && (await linkItem(b).count()) === 0);
    await waitFor('village-b back, told to the group', () => told().includes('【已恢复】城关镇李家湾村已重新上线。'), 20_000, 200);
    await page.goto(`${base}/station?id=village-b`);
    const recovered = page.locator('#visit-history tr').nth(1);
    expect(await recovered.locator('td').nth(1).textContent()).toBe('连接中断');
    expect(await recovered.locator('td').nth(2).textContent()).toMatch(/^站点已自行恢复，[\d :-]+ 王师傅明天上午去已确认：oper，[\d :-]+$/);

    await b.agent.stop('SIGKILL');
    await untilPage('/fleet', async () => (await linkItem(b).count()) === 1);
    await Promise.all([page.waitForLoadState(), linkItem(b).locator('.visit-clear button').click()]);
    expect(new URL(page.url()).pathname).toBe('/fleet');
    expect(await stateOf(b)).toBe('offline');
    expect(await linkItem(b).count()).toBe(0);
    await page.reload();
    expect(await linkItem(b).count()).toBe(0);
    await page.goto(`${base}/station?id=village-b`);
    expect(await page.locator('#visit-history tr').nth(1).locator('td').nth(2).textContent()).toMatch(/^已清除：oper，/);
    expect(await page.locator('#visit-items').count()).toBe(0);
  }, 90_000);

  it('says the same in English', async () => {
    await page.goto(`${base}/lang?to=en&back=/fleet`);
    expect(await row(a).locator('.badge').textContent()).toBe('shut down');
    expect(await row(c).locator('.closed-hours').textContent()).toBe('outside opening hours now');
    await page.goto(`${base}/station?id=village-c`);
    expect(await page.locator('#station-schedules tr[data-schedule="evening"] ul.why li').first().textContent()).toBe('at the start, projector（projector2） power on: the device was offline (power, cable or network)');
  });
});
