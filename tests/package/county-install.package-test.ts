/**
 * The county .deb (station-county), built by the package script, installed with dpkg into a fresh
 * Debian 12 minbase root beside Debian's own postgresql-15 and mosquitto (from the mirror): user,
 * folders, modes, units and conffile; the database made as docs/county.md says (createuser/createdb,
 * peer authentication over the local socket); the collector and the console run as the units run them,
 * as the station-county user; a station's usage record published through that mosquitto is stored, and
 * a clerk signed in to the console sees it on the station page. A re-install keeps configuration and
 * data; purge keeps the database. Run by `npm run test:package`.
 *
 * No systemd runs in the root: the units' ExecStart lines run as they are, under setpriv as their User=,
 * on a county.yaml written as docs/county.md says.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { importedPackages, installedModules, moduleClosure } from '../../scripts/package/closure.js';
import { COUNTY_APP_DIR, COUNTY_CONFIG_PATH, COUNTY_DIST_DIRS, COUNTY_NODE_BIN, COUNTY_UNITS, countyDebFileName, countyMain } from '../../scripts/package/county-layout.js';
import { minbaseRootTarball, unpackRoot } from '../../scripts/package/debian-root.js';
import { runtimePin } from '../../scripts/package/runtime.js';
import { freePort } from '../../scripts/lib/kit/net.js';
import { Topics } from '../../protocol/topics.js';
import { UsageRecordSchema } from '../../protocol/usage-record.js';
import { CACHE, ROOT, VERSION, backgroundInRoot, buildPackage, inRoot, sh, waitFor, type Background } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'sa-pkg-county-'));
const out = join(work, 'out');
const root = join(work, 'root');
const DATA = '/var/lib/station-county';
const DB_URL = 'postgresql:///station_county?host=/var/run/postgresql';
const USERS = `${DATA}/console-users`;
const STATION = 'pkg-county-0001';
const running: Background[] = [];
let deb = '';
let lint = '';
let brokerPort = 0;
let httpPort = 0;
const figures: Record<string, string> = {};

const hostPath = (p: string) => join(root, p);
const stat = (p: string) => sh(root, `stat -c '%a %U:%G' ${p}`).stdout.trim();
/** As systemd runs a unit's command for User=station-county: that user, and its USER/HOME (node-postgres takes the role from USER). */
const asCounty = (cmd: readonly string[]) => [
  'setpriv', '--reuid=station-county', '--regid=station-county', '--init-groups',
  'env', 'USER=station-county', 'LOGNAME=station-county', `HOME=${DATA}`, ...cmd,
];
const psql = (sql: string) => inRoot(root, asCounty(['psql', '-At', '-d', 'station_county', '-h', '/var/run/postgresql', '-c', sql]));

function unitExec(unit: string): string[] {
  return /^ExecStart=(.*)$/m.exec(readFileSync(hostPath(`lib/systemd/system/${unit}`), 'utf8'))![1]!.split(' ');
}

beforeAll(async () => {
  const built = await buildPackage('x64', VERSION, out, ['--product', 'county']);
  expect(built.code, built.stderr + built.stdout).toBe(0);
  lint = built.stdout;
  deb = join(out, countyDebFileName(VERSION, 'x64', 'deb'));
  unpackRoot(minbaseRootTarball(CACHE, (s) => process.stdout.write(`${s}\n`)), root);
  // Services a package starts from its postinst must not start in this root (they would take ports of this machine).
  writeFileSync(hostPath('usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const apt = sh(root, 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 mosquitto');
  expect(apt.code, apt.stderr + apt.stdout.slice(-4000)).toBe(0);
  copyFileSync(deb, hostPath(`tmp/${countyDebFileName(VERSION, 'x64', 'deb')}`));
  brokerPort = await freePort();
  httpPort = await freePort();
}, 30 * 60_000);

afterAll(async () => {
  for (const b of running.splice(0).reverse()) await stopInner(b);
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`county package figures: ${JSON.stringify(figures)}\n`);
}, 120_000);

/** A command inside the root until stopped in afterAll (or by the test). */
function start(cmd: readonly string[]): Background {
  const b = backgroundInRoot(root, cmd);
  running.push(b);
  return b;
}

/**
 * SIGTERM to the command itself (unshare's child: sh, chroot, setpriv and env exec into it), not to
 * unshare: --kill-child does not reach a child that changed its user. Waits for it to exit.
 */
async function stopInner(b: Background): Promise<void> {
  if (b.proc.exitCode !== null || b.proc.signalCode !== null) return;
  const child = spawnSync('pgrep', ['-P', String(b.proc.pid)], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  await b.stop(child ? Number(child) : undefined);
}

async function stop(b: Background): Promise<void> {
  await stopInner(b);
  running.splice(running.indexOf(b), 1);
}

describe('the county .deb in a fresh Debian 12 root with Debian PostgreSQL 15 and mosquitto', () => {
  let installStarted = 0;

  it('is built within the size budget, lintian accepts it, and it carries the county only', () => {
    expect(lint).toMatch(/lintian: no errors/);
    const size = statSync(deb).size;
    figures.deb_mib = (size / 1024 / 1024).toFixed(1);
    figures.tar_gz_mib = (statSync(join(out, countyDebFileName(VERSION, 'x64', 'tar.gz'))).size / 1024 / 1024).toFixed(1);
    expect(size).toBeLessThan(45 * 1024 * 1024);
    const files = execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(files).toContain(`.${COUNTY_APP_DIR}/dist/county/console/static/echarts.min.js`);
    for (const never of ['/dist/agent/', '/dist/drivers/', '/dist/config/', '/node_modules/echarts/', '/node_modules/zrender/', '/node_modules/serialport/']) {
      expect(files).not.toContain(never);
    }
  });

  it('installs with dpkg -i; postinst starts nothing while the configuration is not complete', () => {
    installStarted = Date.now();
    const r = inRoot(root, ['dpkg', '-i', `/tmp/${countyDebFileName(VERSION, 'x64', 'deb')}`]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`station-county: not started: ${COUNTY_CONFIG_PATH} is not complete yet.`);
    const zh = inRoot(root, ['/var/lib/dpkg/info/station-county.postinst', 'configure', VERSION], { env: { LANG: 'zh_CN.UTF-8' } });
    expect(zh.code, zh.stderr).toBe(0);
    expect(zh.stdout).toContain(`station-county：未启动：${COUNTY_CONFIG_PATH} 尚未填完整。`);
  });

  it('carries exactly the run-time closure of dist/{protocol,county} in node_modules: pg yes, echarts no', () => {
    const app = hostPath(COUNTY_APP_DIR);
    const shipped = installedModules(app).map((m) => `${m.name}@${m.version}`).sort();
    const imported = importedPackages(COUNTY_DIST_DIRS.map((d) => join(app, 'dist', d)));
    const expected = moduleClosure(ROOT, imported, new Set(['@station-agent/protocol'])).map((m) => `${m.name}@${m.version}`).sort();
    expect(shipped.filter((m) => !expected.includes(m)), 'extra').toEqual([]);
    expect(expected.filter((m) => !shipped.includes(m)), 'missing').toEqual([]);
    expect(shipped.some((m) => m.startsWith('pg@'))).toBe(true);
    expect(shipped.filter((m) => /^(echarts|zrender|aedes|serialport|@station-agent\/)/.test(m))).toEqual([]);
  });

  it('creates the station-county user, the folders with their modes, the conffile and the units', () => {
    const [name, , uid, , gecos, home, shell] = sh(root, 'getent passwd station-county').stdout.trim().split(':');
    expect(name).toBe('station-county');
    expect(Number(uid)).toBeLessThan(1000);
    expect([gecos, home, shell]).toEqual(['station-county services', DATA, '/usr/sbin/nologin']);
    expect(stat('/etc/station-county')).toBe('750 root:station-county');
    expect(stat(COUNTY_CONFIG_PATH)).toBe('640 root:station-county');
    expect(stat(DATA)).toBe('750 station-county:station-county');
    expect(readFileSync(hostPath(COUNTY_CONFIG_PATH), 'utf8')).toBe(readFileSync(join(ROOT, 'county', 'county.example.yaml'), 'utf8'));
    expect(sh(root, "dpkg-query -W -f='${Conffiles}' station-county").stdout).toContain(COUNTY_CONFIG_PATH);
    expect(unitExec('county-collector.service')).toEqual([COUNTY_NODE_BIN, countyMain('county-collector'), '--config', COUNTY_CONFIG_PATH]);
    expect(unitExec('county-console.service')).toEqual([COUNTY_NODE_BIN, countyMain('county-console'), '--config', COUNTY_CONFIG_PATH]);
    for (const unit of COUNTY_UNITS) {
      const text = readFileSync(hostPath(`lib/systemd/system/${unit}`), 'utf8');
      for (const line of ['User=station-county', 'StateDirectory=station-county', 'ConfigurationDirectory=station-county', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes']) {
        expect(text, `${unit}: ${line}`).toMatch(new RegExp(`^${line}$`, 'm'));
      }
      expect(readlinkSync(hostPath(`etc/systemd/system/multi-user.target.wants/${unit}`)), unit).toBe(`/lib/systemd/system/${unit}`);
    }
    expect(inRoot(root, [COUNTY_NODE_BIN, '--version']).stdout.trim()).toBe(`v${runtimePin('x64').version}`);
    expect(sh(root, 'command -v node').code).not.toBe(0);
  });

  let collector: Background;
  let consoleProc: Background;

  it('runs the collector and the console as their units do, against PostgreSQL over peer authentication', async () => {
    sh(root, 'install -d -o postgres -g postgres -m 2775 /var/run/postgresql');
    // Socket only: this root shares the network of the machine running the test.
    start(['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '/usr/lib/postgresql/15/bin/postgres', '-D', '/var/lib/postgresql/15/main', '-c', 'config_file=/etc/postgresql/15/main/postgresql.conf', '-c', 'listen_addresses=', '-c', 'dynamic_shared_memory_type=mmap']);
    await waitFor('PostgreSQL', () => inRoot(root, ['pg_isready', '-h', '/var/run/postgresql']).code === 0, 60_000, 200);
    // As docs/county.md shows it.
    for (const cmd of [['runuser', '-u', 'postgres', '--', 'createuser', 'station-county'], ['runuser', '-u', 'postgres', '--', 'createdb', '-O', 'station-county', 'station_county']]) {
      const r = inRoot(root, cmd);
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(0);
    }
    writeFileSync(hostPath('etc/mosquitto/pkg-test.conf'), `user mosquitto\nlistener ${brokerPort} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n`);
    start(['mosquitto', '-c', '/etc/mosquitto/pkg-test.conf']);
    const url = `mqtt://127.0.0.1:${brokerPort}`;
    const passwd = inRoot(root, asCounty(['county-console', 'user', 'add', '--users', USERS, 'clerk', '--role', 'viewer']), { input: 'clerk-password-1234\n' });
    expect(passwd.code, passwd.stderr).toBe(0);

    // The conffile edited in place (its owner and mode kept), then both units' ExecStart exactly.
    writeFileSync(
      hostPath(COUNTY_CONFIG_PATH),
      [`db: ${DB_URL}`, 'collector:', `  url: ${url}`, '  print_s: 0', 'console:', `  users: ${USERS}`, `  http: 127.0.0.1:${httpPort}`, '  timezone: Asia/Shanghai', ''].join('\n'),
    );
    expect(stat(COUNTY_CONFIG_PATH)).toBe('640 root:station-county');
    collector = start(asCounty(unitExec('county-collector.service')));
    consoleProc = start(asCounty(unitExec('county-console.service')));
    await waitFor('the console', async () => {
      if (consoleProc.proc.exitCode !== null) throw new Error(`console exited: ${consoleProc.output()}`);
      return (await fetch(`http://127.0.0.1:${httpPort}/login`).catch(() => null))?.status === 200;
    }, 60_000, 200);
    figures.install_to_console_s = ((Date.now() - installStarted) / 1000).toFixed(1);
    await waitFor('the collector to migrate the database', () => {
      if (collector.proc.exitCode !== null) throw new Error(`collector exited: ${collector.output()}`);
      return psql("SELECT to_regclass('public.usage') IS NOT NULL").stdout.trim() === 't';
    }, 60_000, 200);
  });

  it('stores a station usage record published through that mosquitto, and acks it', async () => {
    const topics = new Topics('stations', STATION);
    const record = UsageRecordSchema.parse({
      v: 1,
      id: '01JPKGCOUNTY0000000000000A',
      seq: 1,
      station_id: STATION,
      start: '2026-11-03T00:00:00.000Z',
      end: '2026-11-03T01:30:00.000Z',
      duration_s: 5400,
      devices: [{ id: 'projector-1', kind: 'projector', on_s: 5400 }],
      inputs: [{ device: 'projector-1', input: '31', s: 5400 }],
      signal_s: 5000,
      trigger: 'manual',
      end_reason: 'devices_off',
      ledger: 'pkgcountyledger00001',
      annotation: null,
      short: false,
      rule_version: 1,
      boot: 1,
      clock: 'synced',
    });
    const station = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: `pkg-${STATION}`, clean: true });
    try {
      const acks: string[] = [];
      station.on('message', (_t, payload) => acks.push(payload.toString()));
      await station.subscribeAsync(topics.ack, { qos: 1 });
      await station.publishAsync(topics.usage, JSON.stringify(record), { qos: 1 });
      await waitFor('the county ack of seq 1', () => acks.some((a) => (JSON.parse(a) as { seq?: number }).seq === 1), 60_000, 100);
    } finally {
      await station.endAsync();
    }
    const fleet = inRoot(root, asCounty(['county-collector', 'fleet', '--db', DB_URL, '--json']));
    expect(fleet.code, fleet.stderr).toBe(0);
    expect(fleet.stdout).toContain(STATION);
  });

  it('a clerk signs in to the console over HTTP and sees the record on the station page', async () => {
    const base = `http://127.0.0.1:${httpPort}`;
    const jar = new Map<string, string>();
    const req = async (path: string, init: RequestInit = {}) => {
      const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
      const res = await fetch(base + path, { ...init, redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) } });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const i = pair!.indexOf('=');
        jar.set(pair!.slice(0, i), pair!.slice(i + 1));
      }
      return res;
    };
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await (await req('/login')).text())![1]!;
    const body = new URLSearchParams({ _csrf: csrf, user: 'clerk', password: 'clerk-password-1234', back: '/fleet' }).toString();
    const login = await req('/login', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base } });
    expect(login.status).toBe(303);
    const page = await req(`/station?id=${STATION}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(STATION);
    // 00:00 UTC is 08:00 in the county's time zone; the session is 90 minutes.
    const sessions = /<table id="sessions">[\s\S]*?<\/table>/.exec(html)?.[0] ?? '';
    expect(sessions).toContain('08:00');
    expect(sessions).toContain('90');
  });

  it('installing the same .deb again keeps the configuration and the data', async () => {
    await stop(consoleProc);
    await stop(collector);
    writeFileSync(hostPath(COUNTY_CONFIG_PATH), `${readFileSync(hostPath(COUNTY_CONFIG_PATH), 'utf8')}# edited by the administrator\n`);
    const config = readFileSync(hostPath(COUNTY_CONFIG_PATH), 'utf8');
    const users = readFileSync(hostPath(USERS), 'utf8');
    const r = inRoot(root, ['dpkg', '-i', `/tmp/${countyDebFileName(VERSION, 'x64', 'deb')}`]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(readFileSync(hostPath(COUNTY_CONFIG_PATH), 'utf8')).toBe(config);
    expect(readFileSync(hostPath(USERS), 'utf8')).toBe(users);
    expect(stat(COUNTY_CONFIG_PATH)).toBe('640 root:station-county');
    expect(psql('SELECT count(*) FROM usage').stdout.trim()).toBe('1');
  });

  it('purge removes the configuration and never the database nor /var/lib/station-county, and says so', () => {
    const r = inRoot(root, ['dpkg', '-P', 'station-county']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain("The county database (PostgreSQL's station_county, or the SQLite file in /var/lib/station-county) is NOT dropped");
    expect(existsSync(hostPath('etc/station-county'))).toBe(false);
    expect(existsSync(hostPath(COUNTY_APP_DIR))).toBe(false);
    expect(existsSync(hostPath(USERS))).toBe(true);
    expect(psql('SELECT count(*) FROM usage').stdout.trim()).toBe('1');
  });
});
