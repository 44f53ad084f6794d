/**
 * The amd64 .deb, built by the package script, installed with dpkg into a fresh Debian 12 root made with
 * `debootstrap --variant=minbase` (no Node, no compiler): postinst, the bundled Node, user, groups,
 * folders, modes and unit; an upgrade to a second build keeps config, secrets and database; rollback;
 * remove keeps the data; purge removes the config and keeps the ledger. Run by `npm run test:package`.
 *
 * No systemd runs in the root. The maintainer scripts' systemd branch is checked in one step with
 * recording stand-ins for systemctl and deb-systemd-invoke (a running systemd cannot be had here).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { AGENT_NODE_FLAGS } from '../../agent/version.js';
import { importedPackages, installedModules, moduleClosure } from '../../scripts/package/closure.js';
import { minbaseRootTarball, unpackRoot } from '../../scripts/package/debian-root.js';
import { APP_DIST_DIRS, debFileName, NODE_BIN, wrapperCommand } from '../../scripts/package/layout.js';
import { runtimePin } from '../../scripts/package/runtime.js';
import {
  APP_DIR,
  CACHE,
  CTL_JS,
  ROOT,
  VERSION,
  backgroundInRoot,
  buildPackage,
  inRoot,
  ledgerScript,
  sh,
  sha256,
  waitFor,
  type LedgerDump,
} from './helpers.js';

const V1 = VERSION;
const V2 = `${VERSION}+pkgtest2`;
const work = mkdtempSync(join(tmpdir(), 'sa-pkg-deb-'));
const out = join(work, 'out');
const root = join(work, 'root');
const DATA = '/var/lib/station-agent';
const CONF = '/etc/station-agent/config.yaml';
const SECRET = '/etc/station-agent/secrets/mqtt.pass';

let deb1 = '';
let deb2 = '';
let lintWarnings = '';

beforeAll(async () => {
  const first = await buildPackage('x64', V1, out);
  expect(first.code, first.stderr + first.stdout).toBe(0);
  lintWarnings = first.stdout;
  const second = await buildPackage('x64', V2, out, ['--no-lint']);
  expect(second.code, second.stderr + second.stdout).toBe(0);
  deb1 = join(out, debFileName(V1, 'x64', 'deb'));
  deb2 = join(out, debFileName(V2, 'x64', 'deb'));
  unpackRoot(minbaseRootTarball(CACHE, (s) => process.stdout.write(`${s}\n`)), root);
  for (const d of [deb1, deb2]) copyFileSync(d, join(root, 'tmp', d.slice(d.lastIndexOf('/') + 1)));
}, 30 * 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const inTmp = (deb: string) => `/tmp/${deb.slice(deb.lastIndexOf('/') + 1)}`;
const hostPath = (p: string) => join(root, p);
const stat = (p: string) => sh(root, `stat -c '%a %U:%G' ${p}`).stdout.trim();

function dpkg(...args: string[]) {
  return inRoot(root, ['dpkg', ...args]);
}

function readLedger(user = 'station-agent'): LedgerDump {
  const r = inRoot(root, [NODE_BIN, '--input-type=module', '-e', ledgerScript(APP_DIR, DATA, false)], { user });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LedgerDump;
}

/** The agent as its unit runs it: the station-agent user, the packaged ExecStart; until it answers status. */
async function runAgentOnce(): Promise<{ boot: number; version: string }> {
  sh(root, 'install -d -o station-agent -g station-agent -m 0750 /run/station-agent');
  const unit = readFileSync(hostPath('lib/systemd/system/station-agent.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
  const agent = backgroundInRoot(root, exec, 'station-agent');
  try {
    const status = await waitFor('the agent to answer status', () => {
      if (agent.proc.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
      const r = inRoot(root, ['stationctl', '--json', 'status']);
      const s = r.code === 0 ? (JSON.parse(r.stdout) as { agent: { running: boolean; boot: number; version: string; pid: number } }) : null;
      return s?.agent.running ? s.agent : null;
    }, 60_000);
    expect(await agent.stop(status.pid)).toBe(0);
    return status;
  } finally {
    await agent.stop();
  }
}

describe('amd64 .deb in a fresh Debian 12 minbase root', () => {
  it('builds a .deb lintian accepts, within the size budget, and a .tar.gz of the same tree', () => {
    expect(lintWarnings).toMatch(/lintian: no errors/);
    const size = readFileSync(deb1).length;
    expect(size).toBeLessThan(45 * 1024 * 1024);
    const debFiles = execFileSync('dpkg-deb', ['-c', deb1], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l && !l.startsWith('d'))
      .map((l) => l.slice(l.indexOf('./')).replace(/ -> .*$/, ''))
      .sort();
    const tarFiles = execFileSync('tar', ['-tzf', join(out, debFileName(V1, 'x64', 'tar.gz'))], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
      .split('\n')
      .filter((l) => l && !l.endsWith('/'))
      .sort();
    expect(tarFiles).toEqual(debFiles);
  });

  it('starts from a root without Node and without a compiler', () => {
    for (const tool of ['node', 'nodejs', 'cc', 'gcc', 'g++', 'make']) {
      expect(sh(root, `command -v ${tool}`).code, tool).not.toBe(0);
    }
  });

  it('installs with dpkg -i: postinst says whether the example configuration lets the agent start', () => {
    const r = dpkg('-i', inTmp(deb1));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`Setting up station-agent (${V1})`);
    // The verdict depends on config/example.yaml (a command key file it names may not exist yet);
    // postinst must follow `stationctl config check` either way.
    const check = inRoot(root, ['stationctl', 'config', 'check']);
    if (check.code === 0) {
      expect(r.stdout).toContain('configuration passes the check; systemd is not running here, so nothing was started');
    } else {
      expect(r.stdout).toContain(`not started: ${CONF} does not pass the check yet. Edit it, then run: sudo stationctl config check && sudo systemctl restart station-agent`);
    }
  });

  it('carries exactly the run-time closure of dist/{protocol,config,drivers,agent} in node_modules: nothing missing, nothing extra', () => {
    const app = hostPath(APP_DIR);
    const shipped = installedModules(app).map((m) => `${m.name}@${m.version}`).sort();
    // The closure as this checkout resolves it (its own npm install), from the code the package ships.
    const imported = importedPackages(APP_DIST_DIRS.map((d) => join(app, 'dist', d)));
    const expected = moduleClosure(ROOT, imported, new Set(['@station-agent/protocol'])).map((m) => `${m.name}@${m.version}`).sort();
    expect(shipped.filter((m) => !expected.includes(m)), 'extra').toEqual([]);
    expect(expected.filter((m) => !shipped.includes(m)), 'missing').toEqual([]);
    for (const never of ['echarts', 'zrender', 'pg', 'aedes', '@station-agent/protocol', '@station-agent/county']) {
      expect(shipped.filter((m) => m.startsWith(`${never}@`)), never).toEqual([]);
    }
    expect(existsSync(join(app, 'dist', 'county'))).toBe(false);
  });

  it('runs station-agent and stationctl on the bundled Node 22, not a system one', () => {
    expect(sh(root, 'command -v node').code).not.toBe(0);
    expect(inRoot(root, ['station-agent', '--version']).stdout.trim()).toBe(V1);
    expect(inRoot(root, ['stationctl', '--version']).stdout.trim()).toBe(V1);
    expect(inRoot(root, [NODE_BIN, '--version']).stdout.trim()).toBe(`v${runtimePin('x64').version}`);
    const wrapper = readFileSync(hostPath('usr/bin/station-agent'), 'utf8');
    expect(wrapperCommand(wrapper, '')).toEqual([NODE_BIN, ...AGENT_NODE_FLAGS, `${APP_DIR}/dist/agent/main.js`]);
  });

  it('checks the installed example configuration as stationctl on this machine checks config/example.yaml', () => {
    const inside = inRoot(root, ['stationctl', 'config', 'check'], { env: { LANG: 'C' } });
    const here = spawnSync(process.execPath, [CTL_JS, 'config', 'check', join(ROOT, 'config', 'example.yaml')], { encoding: 'utf8', env: { ...process.env, LANG: 'C' } });
    expect(inside.code).toBe(here.status);
    expect(readFileSync(hostPath(CONF), 'utf8')).toBe(readFileSync(join(ROOT, 'config', 'example.yaml'), 'utf8'));
  });

  it('creates the station-agent system user in dialout, the folders with their modes, and enables the unit', () => {
    const [name, , uid, gid, gecos, home, shell] = sh(root, 'getent passwd station-agent').stdout.trim().split(':');
    expect(name).toBe('station-agent');
    expect(Number(uid)).toBeLessThan(1000);
    expect(sh(root, 'getent group station-agent').stdout.split(':')[2]).toBe(gid);
    expect([gecos, home, shell]).toEqual(['station-agent daemon', DATA, '/usr/sbin/nologin']);
    expect(sh(root, 'id -nG station-agent').stdout.trim().split(' ').sort()).toEqual(['dialout', 'station-agent']);
    expect(stat('/etc/station-agent')).toBe('750 root:station-agent');
    expect(stat('/etc/station-agent/secrets')).toBe('750 root:station-agent');
    expect(stat(CONF)).toBe('640 root:station-agent');
    expect(stat(DATA)).toBe('750 station-agent:station-agent');
    expect(sh(root, 'dpkg-query -W -f=\'${Conffiles}\' station-agent').stdout).toContain(CONF);

    const unit = readFileSync(hostPath('lib/systemd/system/station-agent.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${NODE_BIN} ${AGENT_NODE_FLAGS.join(' ')} ${APP_DIR}/dist/agent/main.js --config ${CONF}\n`);
    expect(unit).toMatch(/^User=station-agent$/m);
    expect(unit).toMatch(/^SupplementaryGroups=dialout$/m);
    expect(unit).not.toContain('/opt/station-agent');
    const wants = hostPath('etc/systemd/system/multi-user.target.wants/station-agent.service');
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe('/lib/systemd/system/station-agent.service');
    expect(readFileSync(hostPath('usr/lib/sysusers.d/station-agent.conf'), 'utf8')).toBe(readFileSync(join(ROOT, 'systemd', 'station-agent.sysusers.conf'), 'utf8'));
    expect(readFileSync(hostPath('usr/lib/tmpfiles.d/station-agent.conf'), 'utf8')).toBe(readFileSync(join(ROOT, 'systemd', 'station-agent.tmpfiles.conf'), 'utf8'));
    expect(existsSync(hostPath('usr/share/doc/station-agent/examples/99-station-agent-serial.rules.example'))).toBe(true);
  });

  it('runs postinst again without harm, in Chinese for a Chinese locale', () => {
    const r = inRoot(root, ['/var/lib/dpkg/info/station-agent.postinst', 'configure', V1], { env: { LANG: 'zh_CN.UTF-8' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^station-agent：.*(配置检查通过|未启动)/m);
    expect(sh(root, 'getent passwd station-agent | wc -l').stdout.trim()).toBe('1');
    expect(stat(CONF)).toBe('640 root:station-agent');
  });

  const config = stringify({ station: { id: 'pkg-test', name: '打包测试站点', timezone: 'Asia/Shanghai' }, log: { level: 'warn' } });
  let dbHash = '';
  let ledger: LedgerDump;

  it('runs the agent as its unit does: it creates the database; the ledger takes a usage record', async () => {
    // A technician's configuration: nothing outside this machine (no devices, no county).
    writeFileSync(hostPath(CONF), config);
    writeFileSync(hostPath(SECRET), 'secret\n');
    sh(root, `chown root:station-agent ${SECRET} && chmod 0640 ${SECRET}`);
    const first = await runAgentOnce();
    expect(first).toMatchObject({ boot: 1, version: V1 });
    const r = inRoot(root, [NODE_BIN, '--input-type=module', '-e', ledgerScript(APP_DIR, DATA, true)], { user: 'station-agent' });
    expect(r.code, r.stderr).toBe(0);
    ledger = JSON.parse(r.stdout) as LedgerDump;
    expect(ledger.usage).toHaveLength(1);
    expect(ledger.usage[0]!.payload).toMatchObject({ station_id: 'pkg-test', minutes: 90 });
    expect(stat(`${DATA}/station.db`)).toMatch(/ station-agent:station-agent$/);
    dbHash = sha256(hostPath(`${DATA}/station.db`));
  });

  it('upgrades to a second build: configuration, secrets and database kept; the agent opens the same database', async () => {
    const r = dpkg('-i', inTmp(deb2));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain(`Unpacking station-agent (${V2}) over (${V1})`);
    expect(inRoot(root, ['station-agent', '--version']).stdout.trim()).toBe(V2);
    expect(readFileSync(hostPath(CONF), 'utf8')).toBe(config);
    expect(readFileSync(hostPath(SECRET), 'utf8')).toBe('secret\n');
    expect(stat(CONF)).toBe('640 root:station-agent');
    expect(stat(SECRET)).toBe('640 root:station-agent');
    expect(sha256(hostPath(`${DATA}/station.db`))).toBe(dbHash);
    expect(readLedger().usage).toEqual(ledger.usage);
    const second = await runAgentOnce();
    expect(second).toMatchObject({ boot: 2, version: V2 });
    expect(readLedger().usage).toEqual(ledger.usage);
    dbHash = sha256(hostPath(`${DATA}/station.db`));
  });

  it('with systemd running: restarts after an upgrade, starts nothing on a failing config (rollback), stops on remove', () => {
    // Recording stand-ins, first on PATH, for the two commands the maintainer scripts use.
    mkdirSync(hostPath('run/systemd/system'), { recursive: true });
    for (const cmd of ['systemctl', 'deb-systemd-invoke']) {
      writeFileSync(hostPath(`usr/local/sbin/${cmd}`), `#!/bin/sh\necho "${cmd} $*" >> /tmp/systemd-calls\n`);
      chmodSync(hostPath(`usr/local/sbin/${cmd}`), 0o755);
    }
    const calls = () => {
      const f = hostPath('tmp/systemd-calls');
      const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
      rmSync(f, { force: true });
      return text.trim().split('\n').filter(Boolean);
    };
    try {
      const again = dpkg('-i', inTmp(deb2));
      expect(again.code, again.stderr).toBe(0);
      expect(calls()).toEqual([
        'deb-systemd-invoke stop station-agent.service',
        'systemctl --system daemon-reload',
        'deb-systemd-invoke restart station-agent.service',
      ]);
      expect(again.stdout).toContain('station-agent: started (systemctl status station-agent)');

      // A secret only root can read: the check runs as the agent's user, so postinst does not start it.
      writeFileSync(hostPath('etc/station-agent/secrets/root-only.pass'), 'x\n');
      chmodSync(hostPath('etc/station-agent/secrets/root-only.pass'), 0o600);
      writeFileSync(hostPath(CONF), stringify({ ...parse(config), county: { url: 'mqtt://127.0.0.1:1883', username: 'pkg-test', password_file: '/etc/station-agent/secrets/root-only.pass' } }));
      expect(inRoot(root, ['stationctl', 'config', 'check']).code).toBe(0);
      const reconfigure = inRoot(root, ['/var/lib/dpkg/info/station-agent.postinst', 'configure', V2]);
      expect(reconfigure.code, reconfigure.stderr).toBe(0);
      expect(reconfigure.stdout).toContain(`station-agent: not started: ${CONF} does not pass the check yet.`);
      expect(calls()).toEqual(['systemctl --system daemon-reload']);
      rmSync(hostPath('etc/station-agent/secrets/root-only.pass'));

      // Rollback to the previous build while the configuration is broken: stopped, not started again.
      writeFileSync(hostPath(CONF), `${config}unknown_key: 1\n`);
      const back = dpkg('-i', inTmp(deb1));
      expect(back.code, back.stderr).toBe(0);
      expect(back.stdout).toContain(`Unpacking station-agent (${V1}) over (${V2})`);
      expect(back.stdout).toContain(`station-agent: not started: ${CONF} does not pass the check yet. Edit it, then run: sudo stationctl config check && sudo systemctl restart station-agent`);
      expect(calls()).toEqual(['deb-systemd-invoke stop station-agent.service', 'systemctl --system daemon-reload']);
      expect(inRoot(root, ['station-agent', '--version']).stdout.trim()).toBe(V1);
      writeFileSync(hostPath(CONF), config);

      const removed = dpkg('-r', 'station-agent');
      expect(removed.code, removed.stderr).toBe(0);
      // deb-systemd-helper (the real one) also reloads systemd when it masks the removed unit.
      const onRemove = calls();
      expect(onRemove[0]).toBe('deb-systemd-invoke stop station-agent.service');
      expect(onRemove.filter((c) => /\b(start|restart)\b/.test(c))).toEqual([]);
    } finally {
      for (const cmd of ['systemctl', 'deb-systemd-invoke']) rmSync(hostPath(`usr/local/sbin/${cmd}`), { force: true });
      rmSync(hostPath('run/systemd'), { recursive: true, force: true });
    }
  });

  it('remove took the code and kept configuration, secrets and database', () => {
    expect(existsSync(hostPath(APP_DIR))).toBe(false);
    expect(existsSync(hostPath('usr/bin/station-agent'))).toBe(false);
    expect(existsSync(hostPath('usr/bin/stationctl'))).toBe(false);
    expect(readFileSync(hostPath(CONF), 'utf8')).toBe(config);
    expect(readFileSync(hostPath(SECRET), 'utf8')).toBe('secret\n');
    expect(sha256(hostPath(`${DATA}/station.db`))).toBe(dbHash);
  });

  it('purge removes the configuration and keeps the ledger, saying where it is', () => {
    const r = dpkg('-P', 'station-agent');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`The usage ledger is kept in ${DATA} (station.db)`);
    expect(existsSync(hostPath('etc/station-agent'))).toBe(false);
    expect(sh(root, 'dpkg-statoverride --list').stdout).not.toContain('station-agent');
    expect(sha256(hostPath(`${DATA}/station.db`))).toBe(dbHash);
    // Read back with this machine's Node and build of the store: the file itself holds the ledger.
    const here = spawnSync(process.execPath, ['--input-type=module', '-e', ledgerScript(ROOT, hostPath(DATA), false)], { encoding: 'utf8' });
    expect(here.status, here.stderr).toBe(0);
    expect((JSON.parse(here.stdout) as LedgerDump).usage).toEqual(ledger.usage);
  });

  it('installs again over the kept ledger', async () => {
    const r = dpkg('-i', inTmp(deb2));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(stat(DATA)).toBe('750 station-agent:station-agent');
    expect(stat(CONF)).toBe('640 root:station-agent');
    writeFileSync(hostPath(CONF), config);
    expect(await runAgentOnce()).toMatchObject({ boot: 3, version: V2 });
    expect(readLedger().usage).toEqual(ledger.usage);
  });
});
