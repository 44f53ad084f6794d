/**
 * Issue 24's "done when", with real parts: real agents (the built daemon), a real mosquitto, the county
 * service as its own process (`node dist/county/collector.js run --notify FILE` on a SQLite file), and
 * loopback stand-ins of a WeCom group robot (城关镇's group) and a DingTalk robot with 加签 (the county's
 * group, every town) that check what the vendors' docs define (scripts/lib/kit/robots.ts). Killing an
 * agent (SIGKILL: the broker publishes its Will) must make a message naming the station and its town
 * reach both robots within station_offline_after_s + 30 s; also when the first WeCom answer is 45009,
 * and when the county service is restarted, or killed, between the fault and the send. A schedule the
 * console pushes to a town reaches that town's group.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { Pusher } from '../../../county/console/pusher.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { openCollectorStore, type CountyStore } from '../../../county/open-store.js';
import { Mosquitto, sleep, waitFor } from '../../../scripts/lib/kit/index.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { spawnCaptured, type Captured } from '../../../scripts/lib/kit/process.js';
import { RobotStandIns } from '../../../scripts/lib/kit/robots.js';
import { ConsoleClient } from '../../helpers/console-client.js';
import { ROOT, startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const COLLECTOR_JS = join(ROOT, 'dist', 'county', 'collector.js');
const THRESHOLD_S = 10;
const DEADLINE_MS = (THRESHOLD_S + 30) * 1000;
const DING_SECRET = 'SEC-county-dingtalk-secret-0123456789';
const KEY = 'county-command-key-notify-0123456789ab';

const cleanups: Array<() => unknown> = [];
let broker: Mosquitto;
let robots: RobotStandIns;
let dir: string;
let db: string;
let notifyFile: string;
let county: Captured | undefined;
let reader: CountyStore;

/** Starts the county service and waits until it is connected and subscribed. */
async function startCounty(): Promise<Captured> {
  const c = spawnCaptured(process.execPath, [COLLECTOR_JS, 'run', '--url', broker.url, '--db', db, '--create', '--no-share', '--notify', notifyFile, '--print-s', '0'], process.env);
  await waitFor('the county service to connect', () => {
    if (c.proc.exitCode !== null) throw new Error(`county service exited: ${c.output()}`);
    return c.output().includes('collector connected');
  }, 20_000);
  county = c;
  return c;
}

async function stopCounty(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const c = county;
  county = undefined;
  await c?.stop(signal);
}

/** An agent of `id` in `town`, reporting to the broker, and seen online by the county. */
async function station(id: string, name: string, town: string, devices: unknown[] = []): Promise<RunningAgent> {
  const sdir = tempDir(`notify-${id}-`);
  const file = writeConfig(sdir, { station: { id, name, town, timezone: 'Asia/Shanghai' }, county: { url: broker.url, heartbeat_s: 5 }, ...(devices.length ? { devices } : {}) });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  await waitFor(`${id} online at the county`, async () => {
    const s = await reader.station(id);
    return s?.online === true && s.town === town;
  }, 20_000);
  return agent;
}

const received = (kind: 'wecom' | 'dingtalk', robot: string, words: string) => robots.received.filter((r) => r.kind === kind && r.robot === robot && r.text.includes(words));

/** Both robots' messages naming `name` and `town`, each within the deadline of `killedAt`. */
async function bothTold(name: string, town: string, killedAt: number): Promise<void> {
  await waitFor(`the offline message of ${name} at both robots`, () => received('wecom', 'cg', name).length > 0 && received('dingtalk', 'county', name).length > 0, DEADLINE_MS + 5_000, 200);
  for (const r of [received('wecom', 'cg', name)[0]!, received('dingtalk', 'county', name)[0]!]) {
    expect(r.text).toContain(town);
    expect(r.text).toMatch(/^【需上门】/);
    expect(r.atMs - killedAt, `${r.kind} after ${r.atMs - killedAt} ms`).toBeLessThanOrEqual(DEADLINE_MS);
  }
}

beforeAll(async () => {
  broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  robots = new RobotStandIns();
  await robots.start();
  cleanups.push(() => robots.stop());
  dir = tempDir('notify-county-');
  db = join(dir, 'county.db');
  writeFileSync(join(dir, 'cg.url'), `${robots.add('wecom', 'cg')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'county.url'), `${robots.add('dingtalk', 'county', DING_SECRET)}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'county.secret'), `${DING_SECRET}\n`, { mode: 0o600 });
  notifyFile = join(dir, 'notify.yaml');
  const beijing = new Date(Date.now() + 8 * 3_600_000);
  writeFileSync(
    notifyFile,
    stringify({
      targets: [
        { id: 'chengguan', kind: 'wecom', url_file: 'cg.url', towns: ['城关镇'] },
        { id: 'county', kind: 'dingtalk', url_file: 'county.url', secret_file: 'county.secret', towns: 'all' },
      ],
      // The digest and the monthly progress (which name stations too) well away from this run.
      rules: { station_offline_after_s: THRESHOLD_S, daily_digest: `${String((beijing.getUTCHours() + 12) % 24).padStart(2, '0')}:00`, monthly: { day: ((beijing.getUTCDate() + 13) % 28) + 1, time: '09:00' } },
    }),
  );
  await startCounty();
  cleanups.push(() => stopCounty());
  reader = await openCollectorStore(db);
  cleanups.push(() => reader.close());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('group notifications from the county service', () => {
  it('tells both groups of a station killed in 城关镇, only the county\'s of one in 河口镇, once, signed, in time', async () => {
    const a = await station('village-a', '张家庄村', '城关镇');
    const b = await station('village-b', '李家湾村', '河口镇');
    const killedAt = Date.now();
    await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
    await bothTold('张家庄村', '城关镇', killedAt);
    await waitFor('李家湾村 at the county group', () => received('dingtalk', 'county', '李家湾村').length > 0, DEADLINE_MS, 200);
    expect(received('dingtalk', 'county', '李家湾村')[0]!.atMs - killedAt).toBeLessThanOrEqual(DEADLINE_MS);
    // Every DingTalk request was signed right: the stand-in refuses a wrong one with 310000.
    expect(robots.answers.filter((x) => x.startsWith('dingtalk') && !x.endsWith(' 0'))).toEqual([]);
    // The state holds: several scans later, still one message each, and none of 河口镇 in 城关镇's group.
    await sleep(3 * 2_500); // an observation window of three scans, not a wait for something to happen
    expect(received('wecom', 'cg', '张家庄村')).toHaveLength(1);
    expect(received('dingtalk', 'county', '张家庄村')).toHaveLength(1);
    expect(received('wecom', 'cg', '李家湾村')).toEqual([]);
  }, 90_000);

  it('still tells in time when the first WeCom answer is 45009 (rate limited)', async () => {
    const c = await station('village-c', '王家沟村', '城关镇');
    robots.answerNext('wecom', 'cg', { errcode: 45009, errmsg: 'api freq out of limit' });
    const killedAt = Date.now();
    await c.stop('SIGKILL');
    await bothTold('王家沟村', '城关镇', killedAt);
    const wecom = robots.answers.filter((x) => x.startsWith('wecom cg'));
    expect(wecom.slice(wecom.indexOf('wecom cg 45009'))).toEqual(['wecom cg 45009', 'wecom cg 0']);
  }, 90_000);

  it('still tells in time when the county service restarts between the fault and the message', async () => {
    const d = await station('village-d', '赵家坪村', '城关镇');
    const killedAt = Date.now();
    await d.stop('SIGKILL');
    await waitFor('the Will stored', async () => (await reader.station('village-d'))?.online === false, 10_000);
    await stopCounty('SIGTERM');
    await startCounty();
    await bothTold('赵家坪村', '城关镇', killedAt);
  }, 90_000);

  it('sends a queued message after the county service is killed before it could send it', async () => {
    const e = await station('village-e', '孙家岭村', '城关镇');
    robots.answerNext('wecom', 'cg', { errcode: 45009, errmsg: 'api freq out of limit' });
    const answered = robots.answers.length;
    const killedAt = Date.now();
    await e.stop('SIGKILL');
    // The WeCom message was queued and refused once: it waits in the database for its retry. Kill the
    // county service then (no goodbye), and start it again.
    await waitFor('the 45009 answer', () => robots.answers.slice(answered).includes('wecom cg 45009'), DEADLINE_MS, 100);
    await stopCounty('SIGKILL');
    expect(received('wecom', 'cg', '孙家岭村')).toEqual([]);
    await startCounty();
    await bothTold('孙家岭村', '城关镇', killedAt);
  }, 90_000);

  it('tells a device fault a station reports, once, and its clearing', async () => {
    const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const g = await station('village-g', '吴家店村', '城关镇', [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.25 }]);
    cleanups.push(() => g.stop('SIGKILL'));
    sim.setError('lamp', 2);
    await waitFor('the fault at 城关镇\'s group', () => received('wecom', 'cg', '吴家店村').length > 0, 30_000, 200);
    expect(received('wecom', 'cg', '吴家店村')[0]!.text).toBe('【设备故障】城关镇吴家店村的projector：灯泡故障。请安排技术员上门检查。');
    sim.setError('lamp', 0);
    await waitFor('the clearing at 城关镇\'s group', () => received('wecom', 'cg', '吴家店村').length > 1, 30_000, 200);
    expect(received('wecom', 'cg', '吴家店村')[1]!.text).toBe('【故障已排除】城关镇吴家店村的projector已恢复正常（灯泡故障）。');
    await waitFor('both at the county\'s group', () => received('dingtalk', 'county', '吴家店村').length > 1, 10_000, 200);
    expect(received('dingtalk', 'county', '吴家店村').map((r) => r.text)).toEqual(received('wecom', 'cg', '吴家店村').map((r) => r.text));
  }, 90_000);

  it('tells 城关镇\'s group of a schedule the console pushed to 城关镇', async () => {
    // A projector the form can offer (its driver's actions; the device need not answer for that).
    const f = await station('village-f', '周家湾村', '城关镇', [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: 9, poll_s: 5 }]);
    cleanups.push(() => f.stop('SIGKILL'));
    const users = join(dir, 'users');
    await upsertAccount(users, 'oper', 'operator', 'operator-password');
    const pusher = await Pusher.start({ url: broker.url, store: reader, commandKey: KEY });
    cleanups.push(() => pusher.stop());
    const server: ConsoleServer = await startConsole({ store: reader, accounts: new AccountFile(users), port: 0, pusher });
    cleanups.push(() => server.close());
    const client = new ConsoleClient(server.url);
    expect((await client.login('oper', 'operator-password')).status).toBe(303);
    const csrf = await client.csrf('/schedules');
    // The form as a browser posts it (each step one choice of device, action and value), then the
    // confirmation that signs and sends.
    const fields = {
      _csrf: csrf,
      target: 'town',
      town: '城关镇',
      station: '',
      mode: 'set',
      id: 'winter-class',
      name: '冬季培训',
      days: ['2', '4'],
      time: '19:30',
      duration: '90',
      enabled: 'on',
      step_0: 'projector|power|on',
    };
    const res = await client.post('/schedules', await client.confirmed(fields));
    expect(res.status, await res.clone().text()).toBe(303);
    await waitFor('the schedule at 城关镇\'s group', () => received('wecom', 'cg', '播放计划').length > 0, 30_000, 200);
    const text = received('wecom', 'cg', '播放计划')[0]!.text;
    expect(text).toMatch(/^【播放计划】县里向城关镇的 \d+ 个站点下发了播放计划：新增或替换“冬季培训”（编号 winter-class）：每周二、周四 19:30，90 分钟；步骤：projector：开机。/);
    await waitFor('the schedule at the county\'s group', () => received('dingtalk', 'county', '播放计划').length > 0, 30_000, 200);
  }, 90_000);
});
