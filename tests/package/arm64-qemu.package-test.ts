/**
 * The arm64 package, verified rather than assumed: its tree (the .tar.gz the build writes next to the
 * .deb) runs here under qemu-aarch64-static with the arm64 C libraries from Debian multiarch. The bundled
 * arm64 Node runs station-agent --version and stationctl config check, the agent's own store code writes
 * and reads a usage record through the cross-compiled better-sqlite3, serialport's arm64 prebuild talks
 * over a real PTY, unix-dgram passes a datagram, and the agent brings a PJLink projector (the project's
 * simulator) online. Run by `npm run test:package`.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debFileName, wrapperCommand } from '../../scripts/package/layout.js';
import { foreignBinaries } from '../../scripts/package/native.js';
import { elfMachine, walk } from '../../scripts/package/files.js';
import { runtimePin } from '../../scripts/package/runtime.js';
import { APP_DIR, CTL_JS, VERSION, background, buildPackage, ledgerScript, pjlinkStation, waitFor, type LedgerDump } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'sa-pkg-arm64-'));
const out = join(work, 'out');
const tree = join(work, 'tree');
const app = tree + APP_DIR;
const QEMU = 'qemu-aarch64-static';
const cleanEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };

let buildOutput = '';

beforeAll(async () => {
  const r = await buildPackage('arm64', VERSION, out);
  buildOutput = r.stdout + r.stderr;
  expect(r.code, buildOutput).toBe(0);
  mkdirSync(tree);
  execFileSync('tar', ['-xzf', join(out, debFileName(VERSION, 'arm64', 'tar.gz')), '-C', tree]);
}, 30 * 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A /usr/bin wrapper of the tree, its paths moved into the tree, under qemu. */
function wrapper(name: 'station-agent' | 'stationctl'): string[] {
  return [QEMU, ...wrapperCommand(readFileSync(join(tree, 'usr', 'bin', name), 'utf8'), tree)];
}

function qemu(args: string[], env: Record<string, string> = {}) {
  const [cmd, ...rest] = args;
  return spawnSync(cmd!, rest, { encoding: 'utf8', env: { ...cleanEnv, ...env }, timeout: 120_000 });
}

/** Runs an ES module with the tree's arm64 Node under qemu and parses the JSON line it prints. */
function nodeModule<T>(source: string): T {
  const r = qemu([QEMU, join(app, 'node', 'bin', 'node'), '--input-type=module', '-e', source]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('arm64 package tree under qemu-aarch64-static', () => {
  it('is a lintian-clean .deb and a tree whose every binary is aarch64', () => {
    expect(buildOutput).toMatch(/lintian: no errors/);
    expect(readFileSync(join(out, debFileName(VERSION, 'arm64', 'deb'))).length).toBeLessThan(45 * 1024 * 1024);
    expect(foreignBinaries(tree, 'arm64')).toEqual([]);
    const addons = walk(app).filter((f) => f.endsWith('.node')).map((f) => f.slice(app.length + 1)).sort();
    expect(addons).toEqual([
      'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node',
      'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'node_modules/unix-dgram/build/Release/unix_dgram.node',
    ]);
    expect(elfMachine(join(app, 'node', 'bin', 'node'))).toBe(183);
  });

  it('runs station-agent --version and stationctl --version on the bundled arm64 Node 22', () => {
    expect(qemu([...wrapper('station-agent'), '--version']).stdout.trim()).toBe(VERSION);
    expect(qemu([...wrapper('stationctl'), '--version']).stdout.trim()).toBe(VERSION);
    const node = qemu([QEMU, join(app, 'node', 'bin', 'node'), '-p', 'process.arch + " " + process.version']);
    expect(node.stdout.trim()).toBe(`arm64 v${runtimePin('arm64').version}`);
  });

  it('checks the example configuration exactly as stationctl on this machine does', () => {
    const example = join(tree, 'etc', 'station-agent', 'config.yaml');
    const arm = qemu([...wrapper('stationctl'), 'config', 'check', example]);
    const here = spawnSync(process.execPath, [CTL_JS, 'config', 'check', example], { encoding: 'utf8', env: cleanEnv });
    expect(arm.status).toBe(here.status);
    expect(arm.stdout).toBe(here.stdout);
    expect(arm.stdout).toContain(example);
  });

  it('appends and reads back a usage record through the agent store and better-sqlite3 built for arm64', () => {
    const data = join(work, 'ledger');
    const first = nodeModule<LedgerDump>(ledgerScript(app, data, true));
    expect(first.arch).toBe('arm64');
    expect(first.journal).toBe('wal');
    expect(first.usage).toHaveLength(1);
    expect(first.usage[0]).toMatchObject({ seq: 1, stream: 'usage', type: 'usage', payload: { station_id: 'pkg-test', minutes: 90 } });
    // A second process reads the same file: the record is on disk, not in one process's memory.
    const again = nodeModule<LedgerDump>(ledgerScript(app, data, false));
    expect(again.usage).toEqual(first.usage);
  });

  it("loads serialport's arm64 binding and echoes bytes over a real PTY; unix-dgram passes a datagram", async () => {
    const tty = join(work, 'tty-arm64');
    // socat: a PTY whose other end echoes what it receives (cat), standing in for a serial device.
    const socat = background('socat', [`PTY,link=${tty},raw,echo=0`, 'EXEC:cat'], cleanEnv);
    try {
      await waitFor('the PTY', () => existsSync(tty), 10_000, 50);
      const dgram = join(work, 'dgram.sock');
      const result = nodeModule<{ echoed: string; datagram: string; loaded: string[] }>(`
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const require = createRequire(${JSON.stringify(`${app}/package.json`)});
const { autoDetect } = require('@serialport/bindings-cpp');
const port = await autoDetect().open({ path: ${JSON.stringify(tty)}, baudRate: 9600 });
await port.write(Buffer.from('%1POWR ?\\r'));
let echoed = '';
const buf = Buffer.alloc(64);
while (!echoed.includes('\\r')) {
  const { bytesRead } = await port.read(buf, 0, buf.length);
  echoed += buf.subarray(0, bytesRead).toString();
}
await port.close();
const unix = require('unix-dgram');
const server = unix.createSocket('unix_dgram');
const datagram = await new Promise((resolve) => {
  server.on('message', (msg) => resolve(msg.toString()));
  server.bind(${JSON.stringify(dgram)});
  const client = unix.createSocket('unix_dgram');
  const m = Buffer.from('WATCHDOG=1');
  client.send(m, 0, m.length, ${JSON.stringify(dgram)});
  client.close();
});
server.close();
// qemu-user shows the guest's own mappings: which native addons this arm64 process really loaded.
const loaded = [...new Set(readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith('.node')).map((l) => l.slice(l.indexOf('/'))))].sort();
process.stdout.write(JSON.stringify({ echoed, datagram, loaded }) + '\\n');
`);
      expect(result.echoed).toBe('%1POWR ?\r');
      expect(result.datagram).toBe('WATCHDOG=1');
      expect(result.loaded).toEqual([
        `${app}/node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node`,
        `${app}/node_modules/unix-dgram/build/Release/unix_dgram.node`,
      ]);
    } finally {
      await socat.stop();
    }
  });

  it('starts the agent and reports a PJLink projector (the simulator) online', async () => {
    const dir = join(work, 'station');
    mkdirSync(dir);
    const { sim, config } = await pjlinkStation(dir, 'arm64-test', cleanEnv);
    let agent: ReturnType<typeof background> | undefined;
    try {
      const started = Date.now();
      const [cmd, ...args] = wrapper('station-agent');
      agent = background(cmd!, [...args, '--config', config], cleanEnv);
      const devices = await waitFor(
        'the projector online',
        () => {
          if (agent!.proc.exitCode !== null) throw new Error(`agent exited: ${agent!.output()}`);
          const r = spawnSync(process.execPath, [CTL_JS, '--json', '--config', config, 'devices'], { encoding: 'utf8', env: cleanEnv });
          const list = r.status === 0 ? (JSON.parse(r.stdout) as Array<{ id: string; online: boolean; power: string }>) : [];
          return list.find((d) => d.id === 'projector' && d.online) ? list : null;
        },
        180_000,
        250,
      );
      // Reported, not asserted: numbers are measured, never thresholds in a test.
      process.stdout.write(`arm64 under qemu: agent start to projector online in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      expect(devices[0]).toMatchObject({ id: 'projector', online: true, power: 'off' });
      expect(await agent.stop()).toBe(0);
    } finally {
      await agent?.stop();
      await sim.stop();
    }
  });
});

