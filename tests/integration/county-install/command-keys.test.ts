/**
 * Per-station command keys on real parts (docs/county.md "Per-station command keys"): `county-pki
 * master-key` and `command-key` as installed (dist/county/pki.js), two real agents (dist/agent/main.js,
 * each with a simulated PJLink projector) holding the key files it exported, a real mosquitto, the real
 * collector and console processes on one county.yaml. The county moves from one shared key to
 * per-station keys the way docs/county.md says: both stations on the old key; station A migrated while
 * B stays on the old key (both keep getting acks, a console push reaches both); B migrated and the old
 * key retired. Then, with the collector stopped, each agent is handed acks and requests signed with the
 * other station's key (refused) and with its own (believed).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../../../agent/control/client.js';
import { deriveStationKey } from '../../../protocol/command-keys.js';
import { signAck, signRequest } from '../../../protocol/signing.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Mosquitto, spawnCaptured, waitFor, type Captured } from '../../../scripts/lib/kit/index.js';
import { startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { ConsoleClient } from '../../helpers/console-client.js';
import { tempDir } from '../../helpers/temp.js';
import { ROOT } from './reference-broker.js';

const PKI = join(ROOT, 'dist/county/pki.js');
const COLLECTOR = join(ROOT, 'dist/county/collector.js');
const CONSOLE = join(ROOT, 'dist/county/console.js');
const fleetTopics = new FleetTopics('stations');
const OLD_KEY = 'the-old-shared-county-key-0123456789abcdef';

interface Station {
  id: string;
  dir: string;
  keyFile: string;
  sim: PjlinkSimulator;
  agent?: RunningAgent;
}

const cleanups: Array<() => unknown> = [];
let broker: Mosquitto;
let county: string;
let a: Station;
let b: Station;
/** A client of the test's own on the broker: reads the stations' answers, forges acks and requests. */
let observer: MqttClient;
const answers: Array<{ station: string; action: string; body: Record<string, unknown> }> = [];

async function cli(js: string, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [js, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

async function station(id: string): Promise<Station> {
  const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir(`keys-${id}-`);
  return { id, dir, keyFile: join(dir, 'command.key'), sim };
}

/** "Installs" a key file on the station as docs/county.md says (0640), and (re)starts its agent with it. */
async function install(s: Station, keyFile: string): Promise<void> {
  await s.agent?.stop('SIGTERM');
  copyFileSync(keyFile, s.keyFile);
  chmodSync(s.keyFile, 0o640);
  const file = writeConfig(s.dir, {
    station: { id: s.id, name: `站点 ${s.id}`, town: '城关镇', timezone: 'Asia/Shanghai' },
    county: { url: broker.url, heartbeat_s: 5, require_ack: true, allowed_commands: ['schedule.set', 'sessions.resend', 'status'], command_key_file: s.keyFile },
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: s.sim.port, poll_s: 0.25 }],
  });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  s.agent = agent;
  await waitReady(agent, file);
}

async function restart(s: Station): Promise<void> {
  await install(s, s.keyFile);
}

async function depth(s: Station): Promise<number> {
  return ((await callDaemon(join(s.dir, 'ctl.sock'), 'status')).data as { county: { outbox_depth: number } }).county.outbox_depth;
}

/** Every durable record of both stations acknowledged: the county's acks reached both and were believed. */
async function bothAcked(): Promise<void> {
  await waitFor('both stations acked', async () => (await depth(a)) === 0 && (await depth(b)) === 0, 20_000);
}

/** The county's programs on `county.yaml` with these top-level key lines and sections' extra lines. */
function writeCounty(keys: string[], sectionKeys: string[] = []): void {
  writeFileSync(
    county,
    [
      'db: county.db',
      ...keys,
      'collector:',
      `  url: ${broker.url}`,
      '  create: true',
      '  print_s: 0',
      ...sectionKeys,
      'console:',
      '  users: users',
      '  http: 127.0.0.1:0',
      `  url: ${broker.url}`,
      ...sectionKeys,
      '',
    ].join('\n'),
    { mode: 0o640 },
  );
}

function collector(): Captured {
  const c = spawnCaptured(process.execPath, [COLLECTOR, '--config', county], { ...process.env });
  cleanups.push(() => c.stop('SIGKILL'));
  return c;
}

async function consoleProcess(): Promise<{ proc: Captured; url: string }> {
  const proc = spawnCaptured(process.execPath, [CONSOLE, '--config', county], { ...process.env });
  cleanups.push(() => proc.stop('SIGKILL'));
  await waitFor('the console listening', () => /console listening on (http:\S+)/.test(proc.output()) || proc.proc.exitCode !== null, 15_000);
  const url = /console listening on (http:\S+)/.exec(proc.output())?.[1];
  expect(url, proc.output()).toBeDefined();
  return { proc, url: url! };
}

/** A schedule pushed from the console's form to every station; resolves with each station's answer. */
async function pushToAll(url: string): Promise<Record<string, string>> {
  const c = new ConsoleClient(url);
  expect((await c.login('wangli', 'a-long-enough-passw0rd!')).status).toBe(303);
  // The form, its confirmation in words, then the confirmed push (the step that signs).
  const fields = await c.confirmed({
    _csrf: await c.csrf('/schedules'), target: 'all', mode: 'set', id: 'evening', days: ['2'], time: '20:00', duration: '45', enabled: 'on',
    step_0: 'projector|power|on',
  });
  const res = await c.post('/schedules', fields);
  expect(res.status, await res.text()).toBe(303);
  const pushId = /^\/push\?id=([0-9A-Z]{26})$/.exec(res.headers.get('location')!)![1]!;
  type Progress = { pending: number; rows: Array<{ station: string; status: string }> };
  const progress = async () => (await (await c.req(`/push.json?id=${pushId}`)).json()) as Progress;
  await waitFor('both stations answered the push', async () => (await progress()).pending === 0, 15_000);
  return Object.fromEntries((await progress()).rows.map((r) => [r.station, r.status]));
}

/** The station's ledger and the highest seq it has published (its database, read-only). */
function published(s: Station): { ledger: string; seq: number; unpublished: number } {
  const db = new Database(join(s.dir, 'data', 'station.db'), { readonly: true });
  try {
    const meta = (k: string) => (db.prepare('SELECT value FROM meta WHERE key = ?').get(k) as { value: string }).value;
    const unpublished = (db.prepare('SELECT count(*) AS n FROM records WHERE published = 0').get() as { n: number }).n;
    return { ledger: meta('ledger'), seq: Number(meta('published_seq')), unpublished };
  } finally {
    db.close();
  }
}

/** A request to `target` signed with `key`, as someone holding that key would send it; resolves with the answer. */
async function request(target: Station, key: string, tx: string): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = { transaction: tx, ts: new Date().toISOString(), args: {} };
  body['sig'] = signRequest(key, target.id, 'status', body);
  await observer.publishAsync(fleetTopics.station(target.id).request('status'), JSON.stringify(body), { qos: 1 });
  return waitFor(`the answer to ${tx}`, () => answers.find((x) => x.station === target.id && x.body['transaction'] === tx)?.body, 10_000);
}

beforeAll(async () => {
  broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  observer = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clientId: 'test-observer' });
  cleanups.push(() => observer.endAsync(true));
  observer.on('message', (topic, payload) => {
    const t = fleetTopics.parse(topic);
    if (t?.kind === 'response') answers.push({ station: t.station, action: t.action, body: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
  await observer.subscribeAsync(fleetTopics.filter('response'), { qos: 1 });
  const dir = tempDir('county-keys-');
  county = join(dir, 'county.yaml');
  writeFileSync(join(dir, 'old.key'), `${OLD_KEY}\n`, { mode: 0o640 });
  writeCounty([], ['  command_key_file: old.key']);
  const add = await cli(CONSOLE, ['user', 'add', '--config', county, 'wangli', '--role', 'operator'], 'a-long-enough-passw0rd!\n');
  expect(add.code, add.out).toBe(0);
  [a, b] = await Promise.all([station('village-a'), station('village-b')]);
}, 60_000);

afterAll(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}, 60_000);

describe('county-pki master-key and command-key', () => {
  it('makes the master key 0600 once, and exports each station its derived key 0600, with zh/en instructions', async () => {
    const dir = join(county, '..');
    const made = await cli(PKI, ['master-key', '--out', join(dir, 'master.key')]);
    expect(made.code, made.out).toBe(0);
    expect(made.out).toContain('县级主密钥已生成 / master key made');
    expect(made.out).toContain(`chown station-county:station-county ${join(dir, 'master.key')}`);
    expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
    const hex = readFileSync(join(dir, 'master.key'), 'utf8');
    expect(hex).toMatch(/^[0-9a-f]{64}\n$/);
    expect(made.out).not.toContain(hex.trim());
    const again = await cli(PKI, ['master-key', '--out', join(dir, 'master.key')]);
    expect(again).toMatchObject({ code: 1, out: expect.stringContaining('已存在，不覆盖 / already exists; not overwritten') });
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).toBe(hex);

    const master = Buffer.from(hex.trim(), 'hex');
    for (const s of [a, b]) {
      const out = await cli(PKI, ['command-key', '--dir', join(dir, 'pki'), '--master-key-file', join(dir, 'master.key'), s.id]);
      expect(out.code, out.out).toBe(0);
      const file = join(dir, 'pki', 'stations', s.id, 'command.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toBe(`${deriveStationKey(master, s.id)}\n`);
      expect(out.out).toContain(`command key for station ${s.id} exported: ${file} (0600)`);
      expect(out.out).toContain('sudo install -o root -g station-agent -m 0640 command.key /etc/station-agent/secrets/command.key');
      expect(out.out).toContain('command_key_file: /etc/station-agent/secrets/command.key');
      expect(out.out).toContain('把该站点加进 county.yaml 的 migrated_stations');
      expect(out.out).not.toContain(deriveStationKey(master, s.id));
    }
    // The same export again is harmless; through --config the master key comes from the file.
    writeCounty(['master_key_file: master.key'], ['  command_key_file: old.key']);
    const viaConfig = await cli(PKI, ['command-key', '--dir', join(dir, 'pki'), '--config', county, a.id]);
    expect(viaConfig).toMatchObject({ code: 0, out: expect.stringContaining('的命令密钥早已导出（同一把） / command key for station village-a exported before (the same key)') });
    expect((await cli(PKI, ['command-key', '--dir', join(dir, 'pki'), '--master-key-file', join(dir, 'master.key'), 'Bad/Id'])).code).toBe(1);
    chmodSync(join(dir, 'master.key'), 0o640);
    const open = await cli(PKI, ['command-key', '--dir', join(dir, 'pki'), '--master-key-file', join(dir, 'master.key'), 'village-c']);
    expect(open).toMatchObject({ code: 78, out: expect.stringContaining('users other than its owner may read or write the master key') });
    chmodSync(join(dir, 'master.key'), 0o600);
  });
});

describe('from one shared key to per-station keys, with real agents', () => {
  const dir = () => join(county, '..');
  const exported = (s: Station) => join(dir(), 'pki', 'stations', s.id, 'command.key');
  let running: Captured | undefined;

  /** Everything the station has published is stored at the county (so no collector restart can lose it). */
  async function stored(s: Station): Promise<void> {
    await waitFor(`${s.id}'s records stored at the county`, () => {
      const p = published(s);
      if (p.unpublished > 0) return false;
      const db = new Database(join(dir(), 'county.db'), { readonly: true });
      try {
        const row = db.prepare('SELECT watermark FROM stations WHERE station_id = ?').get(s.id) as { watermark: number } | undefined;
        return (row?.watermark ?? -1) >= p.seq;
      } finally {
        db.close();
      }
    }, 15_000);
  }

  /** Stops the running collector (once what the stations published is stored) and starts it on the county.yaml written now. */
  async function restartCollector(): Promise<Captured> {
    if (running) {
      for (const s of [a, b]) if (s.agent) await stored(s);
      expect(await running.stop()).toBe(0);
    }
    running = collector();
    await waitFor('collector connected', () => running!.output().includes('collector connected') || running!.proc.exitCode !== null, 15_000);
    expect(running.proc.exitCode, running.output()).toBeNull();
    return running;
  }

  const ackRefusals = (s: Station) => (s.agent!.output().match(/ignoring a county ack: ack signature does not match/g) ?? []).length;

  it('a legacy county (--command-key-file alone) acks both stations, and warns at every start', async () => {
    writeCounty([], ['  command_key_file: old.key']);
    const c = await restartCollector();
    expect(c.output()).toContain('one command key for every station (--command-key-file)');
    await Promise.all([install(a, join(dir(), 'old.key')), install(b, join(dir(), 'old.key'))]);
    await bothAcked();
  }, 60_000);

  it('station A migrated, B still on the old key: both get acks, and a console push reaches both', async () => {
    // docs/county.md: install the exported key on the station, then mark it migrated and restart the county's programs.
    await install(a, exported(a));
    // Until then the collector signs A's acks with the old key: A ignores them and keeps its records.
    await waitFor('A refuses acks signed with the old key', () => ackRefusals(a) > 0, 15_000);
    expect(await depth(a)).toBeGreaterThan(0);
    writeCounty(['master_key_file: master.key', 'migrated_stations: [village-a]'], ['  command_key_file: old.key']);
    const c = await restartCollector();
    expect(c.output()).toContain('"command_keys":"migrating","migrated_stations":1');
    await restart(b);
    await bothAcked();
    const con = await consoleProcess();
    expect(await pushToAll(con.url)).toEqual({ 'village-a': 'ok', 'village-b': 'ok' });
    expect(await con.proc.stop()).toBe(0);
  }, 90_000);

  it('both migrated and the old key retired: the collector acks both, and a console push reaches both', async () => {
    await install(b, exported(b));
    await waitFor('B refuses acks signed with the old key', () => ackRefusals(b) > 0, 15_000);
    writeCounty(['master_key_file: master.key']);
    const c = await restartCollector();
    expect(c.output()).toContain('"command_keys":"per_station"');
    expect(c.output()).not.toContain('one command key for every station');
    // A record under a topic name no station can have (a lax ACL let it through): no key derives for
    // it, so it goes unacked and unpushed, and holds up neither station.
    const rogue = { v: 1, seq: 1, ledger: 'abcdef0123456789abcdef0123456789', id: '01JNH3Q8V6Z9X4K2M7P5R1T3W8', station_id: 'Rogue-Station', ts: new Date().toISOString(), clock: 'synced', type: 'agent_start', severity: 'info', message: 'x', boot: 1 };
    await observer.publishAsync('stations/Rogue-Station/events', JSON.stringify(rogue), { qos: 1 });
    await waitFor('the rogue record not acked', () => c.output().includes('no command key for this station id: not acked'), 10_000);
    await restart(a);
    await bothAcked();
    const con = await consoleProcess();
    expect(await pushToAll(con.url)).toEqual({ 'village-a': 'ok', 'village-b': 'ok' });
    expect(con.proc.output()).toContain('no command key for this station id: not sent');
    expect(await con.proc.stop()).toBe(0);
    for (const s of [a, b]) await stored(s);
    expect(await c.stop()).toBe(0);
    running = undefined;
  }, 90_000);

  it("an ack or a request signed with A's key is refused by B and believed by A (and the reverse)", async () => {
    // No collector: records made now stay unacknowledged until an ack this test sends is believed.
    expect(running).toBeUndefined();
    await Promise.all([restart(a), restart(b)]);
    const keyA = readFileSync(a.keyFile, 'utf8').trim();
    const keyB = readFileSync(b.keyFile, 'utf8').trim();
    expect(keyA).not.toBe(keyB);
    for (const s of [a, b]) await waitFor(`${s.id} published its records`, async () => (await depth(s)) > 0 && published(s).unpublished === 0, 10_000);

    const ack = async (target: Station, key: string): Promise<void> => {
      const p = published(target);
      const body = { seq: p.seq, ledger: p.ledger, ts: new Date().toISOString() };
      await observer.publishAsync(fleetTopics.station(target.id).ack, JSON.stringify({ ...body, sig: signAck(key, target.id, body) }), { qos: 1, retain: true });
    };
    for (const [target, wrong] of [[b, keyA], [a, keyB]] as const) {
      const before = ackRefusals(target);
      await ack(target, wrong);
      await waitFor(`${target.id} refused the other station's ack`, () => ackRefusals(target) > before, 10_000);
      expect(await depth(target)).toBeGreaterThan(0);
      expect(await request(target, wrong, `wrong-key-${target.id}`)).toMatchObject({ status: 'error', error: { code: 'bad_signature' } });
    }
    for (const [target, own] of [[a, keyA], [b, keyB]] as const) {
      await ack(target, own);
      await waitFor(`${target.id} believed its own ack`, async () => (await depth(target)) === 0, 10_000);
      expect(await request(target, own, `own-key-${target.id}`)).toMatchObject({ status: 'ok', data: { station_id: target.id } });
    }
  }, 90_000);

  it('refuses to start on a master key readable by others or too short, in zh and en (exit 78)', async () => {
    const master = join(dir(), 'master.key');
    writeCounty(['master_key_file: master.key']);
    chmodSync(master, 0o644);
    for (const js of [COLLECTOR, CONSOLE]) {
      const r = await cli(js, ['--config', county]);
      expect(r.code, r.out).toBe(78);
      expect(r.out).toContain(`命令密钥不能使用 / command key problem: ${master}`);
      expect(r.out).toContain('权限 0644：除属主外的用户也能读写主密钥');
      expect(r.out).toContain(`mode 0644: users other than its owner may read or write the master key, and whoever has it can sign for every station; run chmod 0600 ${master}`);
    }
    const short = join(dir(), 'short.key');
    writeFileSync(short, `${'ab'.repeat(16)}\n`, { mode: 0o600 });
    const r = await cli(COLLECTOR, ['--config', county, '--master-key-file', short]);
    expect(r.code, r.out).toBe(78);
    expect(r.out).toContain('太短：16 字节，至少 32 字节');
    expect(r.out).toContain('too short: 16 bytes, at least 32 (64 hex digits)');
    expect(r.out).not.toContain('ab'.repeat(16));
    const check = await cli(COLLECTOR, ['config-check', '--config', county]);
    expect(check.code).toBe(78);
    expect(check.out).toContain(`master_key_file: ${master}: 权限 0644`);
    chmodSync(master, 0o600);
  }, 60_000);
});
