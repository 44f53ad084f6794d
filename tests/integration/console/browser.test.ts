/**
 * The county console in real Chromium (Debian's, driven by playwright-core) against a collector fed by
 * real agents (the built daemon, each with a simulated PJLink projector) and the fleet simulator over a
 * real mosquitto. The console runs as its own process (`node dist/county/console.js`) on the
 * collector's SQLite file, with accounts made by its `user add` command.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { callDaemon } from '../../../agent/control/client.js';
import { AGENT_VERSION } from '../../../agent/version.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { launchChromium, type Chromium } from '../../../scripts/lib/kit/chromium.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { DEFAULT_SHAPE, durableRecord, hasFault } from '../../../scripts/fleet/generate.js';
import { startFleet, type Fleet } from '../../../scripts/fleet-sim.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Mosquitto, sleep, waitFor } from '../../../scripts/lib/kit/index.js';
import { ctl, ROOT, startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';
import { pageInternalWords } from '../../helpers/zh-words.js';

const CONSOLE_JS = join(ROOT, 'dist', 'county', 'console.js');
const KEY = 'county-command-key-e2e-0123456789abcdef';
const SEED = 'console-e2e';
const cleanups: Array<() => unknown> = [];
const cspErrors: string[] = [];

interface Station {
  id: string;
  sim: PjlinkSimulator;
  agent: RunningAgent;
  file: string;
  socket: string;
}

let collector: Collector;
/** The console's view of the same database (pushes), opened beside the collector and the console. */
let reader: ConsoleDb;
let fleet: Fleet;
let browser: Chromium;
let page: Page;
let base: string;
let a: Station, b: Station, c: Station;

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CONSOLE_JS, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

async function station(id: string, name: string, allowed: string[], brokerUrl: string, keyFile: string): Promise<Station> {
  const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir(`console-${id}-`);
  const file = writeConfig(dir, {
    station: { id, name, town: '城关镇', timezone: 'Asia/Shanghai' },
    county: { url: brokerUrl, heartbeat_s: 5, require_ack: true, allowed_commands: allowed, command_key_file: keyFile },
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.25 }],
    sessions: { min_s: 2, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
  });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  return { id, sim, agent, file, socket: join(dir, 'ctl.sock') };
}

/** One class: the projector on for `ms` once the agent has opened a session, then off until it is closed. */
async function classOf(s: Station, ms: number): Promise<void> {
  const count = async () => ((await callDaemon(s.socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' })).data as { sessions: unknown[] }).sessions.length;
  const before = await count();
  s.sim.setPower(1);
  await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { open_session: string | null }).open_session, 10_000);
  // The class itself: its length is what the totals count; only wall time on a real agent makes it.
  await sleep(ms);
  s.sim.setPower(0);
  await waitFor(async () => (await count()) > before, 10_000);
}

/** Reloads `path` until `check` holds (the pages are server-rendered: a reload shows the store's state). */
async function untilPage(path: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  await waitFor(async () => {
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

beforeAll(async () => {
  const broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  const dir = tempDir('console-e2e-');
  const db = join(dir, 'county.db');
  const keyFile = join(dir, 'county.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  collector = await startCollector({ url: broker.url, db, gapGraceMs: 500, ackIntervalMs: 50, commandKey: KEY });
  cleanups.push(() => collector.stop());
  reader = await openCollectorStore(db);
  cleanups.push(() => reader.close());
  fleet = await startFleet({ url: broker.url, stations: 6, seed: SEED, recordsPerStation: 5, intervals: { heartbeatMs: 2_000, recordMs: 200, stateMs: 5_000 } });
  cleanups.push(() => fleet.stop({ abrupt: true }));
  [a, b, c] = await Promise.all([
    station('village-a', '张家庄村', ['schedule.set', 'sessions.resend'], broker.url, keyFile),
    station('village-b', '李家湾村', ['sessions.resend'], broker.url, keyFile),
    station('village-c', '王家沟村', ['schedule.set', 'sessions.resend'], broker.url, keyFile),
  ]);

  const users = join(dir, 'users');
  for (const [name, role, pw] of [['alice', 'operator', 'alice-password'], ['bob', 'viewer', 'bob-password'], ['carol', 'viewer', 'carol-password']]) {
    const r = await run(['user', 'add', '--users', users, name!, '--role', role!], `${pw}\n`);
    expect(r.code, r.stderr).toBe(0);
  }
  const proc = spawn(process.execPath, [CONSOLE_JS, '--db', db, '--users', users, '--http', '127.0.0.1:0', '--url', broker.url, '--command-key-file', keyFile, '--max-failures', '3', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => proc.on('exit', r));
  cleanups.push(async () => {
    proc.kill('SIGTERM');
    await exited;
  });
  await waitFor(() => /console listening on (http:\S+)/.test(out) || proc.exitCode !== null, 15_000);
  base = /console listening on (http:\S+)/.exec(out)?.[1] ?? '';
  expect(base, out).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  browser = await launchChromium();
  cleanups.push(() => browser.close());
  page = await browser.context.newPage();
  page.on('console', (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && cspErrors.push(m.text()));
}, 120_000);

afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}, 60_000);

describe('county console in Chromium', () => {
  it('refuses a wrong password, and locks the account after 3 failures', async () => {
    for (let i = 0; i < 3; i++) {
      await signIn('carol', 'not-her-password');
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(await page.textContent('#login-problem')).toBe('用户名或密码错误。');
    }
    await signIn('carol', 'carol-password');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.textContent('#login-problem')).toMatch(/^失败次数过多，请 15 分钟后再试。$/);
  });

  it('shows the right counts on the fleet page', async () => {
    await fleet.allAllocated();
    await waitFor(() => fleet.stats().outbox === 0, 20_000);
    await collector.flush();
    await signIn('alice', 'alice-password');
    expect(new URL(page.url()).pathname).toBe('/fleet');
    const summary = page.locator('#fleet-summary');
    await untilPage('/fleet', async () => (await summary.getAttribute('data-stations')) === '9' && (await summary.getAttribute('data-online')) === '9');

    // Expected from the simulator's generator, not from the collector: faulty projectors, and stations
    // whose latest lamp event is a warning.
    const sims = fleet.identities;
    const faults = sims.filter((s) => hasFault(s)).length;
    const lamps = sims.filter((s) => {
      let last: string | undefined;
      for (let seq = 1; seq <= 5; seq++) {
        const r = durableRecord({ ...DEFAULT_SHAPE, seed: SEED }, s, seq, 1);
        if (r.stream === 'events' && (r.payload.type === 'lamp_warning' || r.payload.type === 'lamp_warning_cleared')) last = r.payload.type;
      }
      return last === 'lamp_warning';
    }).length;
    expect(faults).toBeGreaterThan(0);
    expect(await summary.getAttribute('data-faults')).toBe(String(faults));
    expect(await summary.getAttribute('data-lamps')).toBe(String(lamps));
    expect(await summary.getAttribute('data-offline')).toBe('0');
    expect(await page.locator('#stations tbody tr').count()).toBe(9);
    expect(await page.locator('#stations tr[data-state="online"], #stations tr[data-state="in_class"]').count()).toBe(9);
    const rowA = page.locator('#stations tr[data-station="village-a"]');
    expect(await rowA.textContent()).toContain('张家庄村');
    expect(await rowA.textContent()).toContain(AGENT_VERSION);
    for (const s of sims.filter((x) => hasFault(x))) expect(await page.locator(`#visit >> text=${s.id}`).count()).toBe(1);
  });

  it('shows a station whose agent stopped cleanly as shut down, not as a visit', async () => {
    await c.agent.stop('SIGTERM');
    await untilPage('/fleet', async () => (await page.locator('#stations tr[data-station="village-c"]').getAttribute('data-state')) === 'shutdown');
    expect(await page.locator('#fleet-summary').getAttribute('data-shutdown')).toBe('1');
    expect(await page.locator('#fleet-summary').getAttribute('data-offline')).toBe('0');
    expect(await page.locator('#visit >> text=王家沟村').count()).toBe(0);
    expect(await page.locator('#stations tr[data-station="village-c"] .badge').textContent()).toBe('已关机');
    expect(await page.locator('#stations tr[data-station="village-a"]').getAttribute('data-state')).toBe('online');
  });

  it('shows monthly totals equal to the agents’ own stationctl sessions --csv', async () => {
    await Promise.all([
      (async () => {
        await classOf(a, 3000);
        await classOf(a, 600); // a test power-on: short
      })(),
      classOf(b, 2500),
    ]);
    for (const s of [a, b]) {
      await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { county: { outbox_depth: number } }).county.outbox_depth === 0, 20_000);
    }
    await collector.flush();

    // The stations' evidence, by the month of each session's start in station time.
    const mine = new Map<string, { sessions: number; short: number; minutes: number; rows: number }>();
    for (const s of [a, b]) {
      const res = await ctl(['--config', s.file, 'sessions', '--csv', '--since', '2000-01-01']);
      expect(res.code, res.stderr).toBe(0);
      const [header, ...lines] = res.stdout.replace(/^\uFEFF/, '').trim().split(/\r?\n/).map((l) => l.split(','));
      const col = (row: string[], name: string) => row[header!.indexOf(name)]!;
      for (const line of lines) {
        const key = `${s.id} ${col(line, 'start').slice(0, 7)}`;
        const m = mine.get(key) ?? { sessions: 0, short: 0, minutes: 0, rows: 0 };
        if (col(line, 'short') === 'true') m.short++;
        else {
          m.sessions++;
          m.minutes += Number(col(line, 'duration_min'));
          m.rows++;
        }
        mine.set(key, m);
      }
    }
    const months = [...new Set([...mine.keys()].map((k) => k.split(' ')[1]!))];
    expect(months.length).toBeGreaterThan(0);
    let counted = 0;
    for (const month of months) {
      await page.goto(`${base}/monthly?month=${month}`);
      let totalSessions = 0;
      for (const s of [a, b]) {
        const m = mine.get(`${s.id} ${month}`) ?? { sessions: 0, short: 0, minutes: 0, rows: 0 };
        const row = page.locator(`#monthly-stations tr[data-station="${s.id}"]`);
        const cells = await row.locator('td').allTextContents();
        expect(Number(cells[2]), `${s.id} ${month} sessions`).toBe(m.sessions);
        expect(Number(cells[5]), `${s.id} ${month} short sessions`).toBe(m.short);
        // The CSV rounds each session to 0.1 min; the page sums seconds, then rounds to 0.01 h.
        expect(Math.abs(Number(cells[3]) * 60 - m.minutes)).toBeLessThanOrEqual(0.05 * m.rows + 0.3);
        totalSessions += m.sessions;
        counted += m.sessions + m.short;
      }
      // Only the agents have sessions in these months (the simulator's are in October 2026).
      expect(await page.locator('#total').getAttribute('data-sessions')).toBe(String(totalSessions));
      const csv = await (await page.request.get(`${base}/monthly.csv?month=${month}`)).text();
      const line = csv.split('\n').find((l) => l.includes(',village-a,'))!.split(',');
      expect(Number(line[5])).toBe(mine.get(`village-a ${month}`)?.sessions ?? 0);
    }
    expect(counted).toBe(3);
  });

  it('lets an operator push a schedule to a town: a real agent stores it, answers and runs it', async () => {
    await page.goto(`${base}/schedules`);
    await page.selectOption('#pick-town select[name=town]', '城关镇');
    await Promise.all([page.waitForURL('**/schedules?target=town*'), page.click('#pick-town button')]);
    await page.fill('input[name=id]', 'evening-class');
    await page.fill('input[name=name]', '晚间课堂');
    await page.check('input[name=days][value="2"]');
    await page.fill('input[name=time]', '20:00');
    await page.fill('input[name=duration]', '45');
    await page.selectOption('select[name=step_0]', 'projector|power|on');
    await Promise.all([page.waitForLoadState(), page.click('#compose button[value=review]')]);
    // Nothing is sent before the clerk has read it in words and confirmed.
    expect(await page.textContent('#confirm-to')).toBe('城关镇的 3 个站点');
    expect(await page.locator('#confirm-steps li').allTextContents()).toEqual(['投影机：开机']);
    expect(await reader.recentPushes(100)).toEqual([]);
    await Promise.all([page.waitForURL('**/push?id=*'), page.click('#confirm-send')]);

    // The page follows the answers as they arrive (its script polls); nothing is reloaded here.
    await page.locator('#push-rows tr[data-station="village-a"][data-status="ok"]').waitFor({ timeout: 15_000 });
    await page.locator('#push-rows tr[data-station="village-b"][data-status="error"]').waitFor({ timeout: 15_000 });
    // The station's refusal in the console's words, its own English on hover.
    const refusal = page.locator('#push-rows tr[data-station="village-b"] td').nth(3);
    expect(await refusal.textContent()).toBe('站点配置不允许县级下发此命令');
    expect(await refusal.locator('span[title]').getAttribute('title')).toMatch(/^action schedule\.set is not in county\.allowed_commands$/);
    expect(await page.locator('#push-rows tr[data-station="village-c"]').getAttribute('data-status')).toBe('sent');
    await waitFor(async () => (await page.textContent('#push-summary')) === '成功 1，失败 1，等待回复 1，未回复 0', 5_000);
    expect(await page.textContent('#push-pending')).toBe('等待回复的站点： 王家沟村');

    const list = (await callDaemon(a.socket, 'schedule.list')).data as Array<{ id: string; cron: string }>;
    expect(list.find((s) => s.id === 'evening-class')).toMatchObject({ cron: '0 20 * * 2' });
    // And it runs: a trial run now switches the real (simulated) projector on, and the run is reported.
    const trial = await ctl(['--config', a.file, 'schedule', 'run', 'evening-class', '--minutes', '0.05']);
    expect(trial.code, trial.stderr).toBe(0);
    await waitFor(() => a.sim.power === 1, 15_000);
    // Installed (the station's inventory lists it) and run (its last run, from the schedule_run event).
    const row = page.locator('#station-schedules tr[data-schedule="evening-class"][data-source="county"]');
    await untilPage('/station?id=village-a', async () => (await row.count()) === 1 && ((await row.locator('td').nth(4).textContent()) ?? '').includes('全部步骤成功'), 30_000);
    expect(await row.locator('td').nth(1).textContent()).toContain('每周二 20:00');
  }, 90_000); // waits on three real agents, the broker and the browser in turn: room for a loaded CI box

  it('gives a viewer no push form and refuses a forged push', async () => {
    await browser.context.clearCookies();
    await signIn('bob', 'bob-password');
    await page.goto(`${base}/schedules`);
    expect(await page.locator('#compose').count()).toBe(0);
    expect(await page.locator('#viewer-note').isVisible()).toBe(true);
    const before = (await reader.recentPushes(100)).length;
    const token = await page.locator('input[name=_csrf]').first().inputValue();
    const forged = await page.request.post(`${base}/schedules`, { form: { _csrf: token, target: 'town', town: '城关镇', mode: 'delete', id: 'evening-class', do: 'confirm' } });
    expect(forged.status()).toBe(403);
    expect((await reader.recentPushes(100)).length).toBe(before);
    const list = (await callDaemon(a.socket, 'schedule.list')).data as Array<{ id: string }>;
    expect(list.map((s) => s.id)).toContain('evening-class');
  });

  it('shows a real agent’s projector fault in Chinese, in the words stationctl uses', async () => {
    // The simulator reports a lamp error in ERST (position 2 = lamp, 2 = error; PJLink class 1 spec §4.6);
    // the agent sends its code `lamp` with the driver's English text, and raises a device_fault event.
    b.sim.setError('lamp', 2);
    const faults = page.locator('#devices tr[data-device="projector"] td').nth(5);
    await untilPage('/station?id=village-b', async () => (await faults.textContent()) === '灯泡故障' && ((await page.locator('#events').textContent()) ?? '').includes('灯泡故障'), 30_000);
    // The station's own text stays at hand, on hover.
    expect(await faults.locator('span[title]').getAttribute('title')).toBe('lamp error');
    const fault = page.locator('#events tr', { hasText: '灯泡故障' }).first();
    const cells = await fault.locator('td').allTextContents();
    expect(cells.slice(1)).toEqual(['设备故障', '错误', '投影机', '灯泡故障']);
    // No English sentence on the page: only names (drivers, the station id) are ASCII words; devices by
    // their names, the time zone as 北京时间.
    const text = (await page.locator('main').innerText()).replace(/\b(pjlink|village-b|CPU|MB)\b/g, '');
    expect(text.match(/[A-Za-z]{2,}/g)).toBeNull();
    // The same words as the station's own stationctl.
    const events = await ctl(['--config', b.file, '--lang', 'zh', 'events']);
    expect(events.code, events.stderr).toBe(0);
    expect(events.stdout).toMatch(/设备故障: 灯泡故障/);
    await page.goto(`${base}/fleet`);
    expect(await page.locator('#visit li', { hasText: '李家湾村' }).textContent()).toContain('投影机：灯泡故障');
    expect(await page.locator('#stations tr[data-station="village-b"] td').nth(7).textContent()).toBe('投影机：灯泡故障');
  });

  it('shows no internal code on a Chinese page about real agents (their events, faults, answers, schedules)', async () => {
    const pushes = await reader.recentPushes(10);
    expect(pushes.length).toBeGreaterThan(0);
    for (const path of ['/fleet', '/station?id=village-a', '/station?id=village-b', '/station?id=village-c', '/schedules', `/push?id=${pushes[0]!.push_id}`, '/monthly']) {
      await page.goto(base + path);
      expect(await pageInternalWords(page), path).toEqual([]);
    }
  });

  it('switches to English, and no page broke its content security policy', async () => {
    await page.goto(`${base}/fleet`);
    await Promise.all([page.waitForLoadState(), page.click('header a.lang')]);
    expect(await page.textContent('h1')).toBe('Fleet');
    expect(await page.textContent('#fleet-summary')).toContain('9 stations');
    await page.goto(`${base}/station?id=village-b`);
    expect(await page.locator('#devices tr[data-device="projector"] td').nth(5).textContent()).toBe('lamp failure');
    expect(cspErrors).toEqual([]);
  });
});
