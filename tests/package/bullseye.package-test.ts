/**
 * The station packages on the oldest userland the mirror serves: Debian 11 (bullseye: glibc 2.31,
 * systemd 247, dpkg 1.20), amd64 and arm64 (a foreign root, its second stage and everything in it run
 * under qemu-aarch64-static). In each root, made with debootstrap, the .deb installs with dpkg -i; the
 * agent, run from the unit's ExecStart as its user (no systemd runs in a chroot), passes config check,
 * brings a PJLink projector (the project's simulator, on this machine's loopback: a chroot shares the
 * network) online, records a usage session and delivers it to a mosquitto where a county collector
 * (SQLite) stores and acknowledges it; a reinstall and a purge keep the ledger. Every ELF file in both
 * .debs stays under the glibc floor; bullseye's systemd-analyze verifies the unit. Run by
 * `npm run test:package`.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startCollector, type Collector } from '../../county/collector.js';
import { PjlinkSimulator } from '../../scripts/sims/pjlink.js';
import { Mosquitto } from '../../scripts/lib/kit/mosquitto.js';
import { chrootArgs, ROOT_ENV } from '../../scripts/package/chroot.js';
import { unpackRoot } from '../../scripts/package/debian-root.js';
import { debFileName, type Arch } from '../../scripts/package/layout.js';
import { ensureArm64Binfmt, releaseRootTarball, type RootArch } from '../../scripts/package/release-root.js';
import { describeViolations, highestVersions, treeFloorViolations } from '../../scripts/package/symbol-versions.js';
import { walk, elfMachine } from '../../scripts/package/files.js';
import { CACHE, ROOT, VERSION, backgroundInRoot, buildPackage, inRoot, ledgerScript, sh, waitFor, type LedgerDump } from './helpers.js';

const DATA = '/var/lib/station-agent';
const CONF = '/etc/station-agent/config.yaml';
const execFileAsync = promisify(execFile);
const log = (s: string) => process.stdout.write(`${s}\n`);

// Removed here, not in each describe's afterAll: a describe filtered out by -t runs no hooks.
const works: string[] = [];
afterAll(() => {
  for (const w of works) rmSync(w, { recursive: true, force: true });
});

interface Status {
  agent: { running: boolean; pid: number };
  devices: Array<{ id: string; online: boolean }>;
  open_session: string | null;
  county: { connected: boolean; outbox_depth: number };
}

for (const [arch, rootArch] of [['x64', 'amd64'], ['arm64', 'arm64']] as Array<[Arch, RootArch]>) {
  describe(`${rootArch} .deb in a Debian 11 (bullseye) minbase root`, () => {
    const work = mkdtempSync(join(tmpdir(), `sa-pkg-bullseye-${rootArch}-`));
    works.push(work);
    const out = join(work, 'out');
    const root = join(work, 'root');
    const deb = join(out, debFileName(VERSION, arch, 'deb'));
    const inTmp = `/tmp/${debFileName(VERSION, arch, 'deb')}`;
    const hostPath = (p: string) => join(root, p);
    let broker: Mosquitto;
    let collector: Collector;
    let sim: PjlinkSimulator;
    const county = mkdtempSync(join(work, 'county-'));
    let started = 0;

    beforeAll(async () => {
      started = Date.now();
      const built = await buildPackage(arch, VERSION, out, ['--no-lint']);
      expect(built.code, built.stderr + built.stdout).toBe(0);
      unpackRoot(releaseRootTarball(CACHE, 'bullseye', rootArch, log), root);
      // The cached arm64 root's programs run through binfmt_misc, which a reboot forgets.
      if (rootArch === 'arm64') ensureArm64Binfmt();
      copyFileSync(deb, hostPath(inTmp));
      broker = await Mosquitto.start();
      collector = await startCollector({ url: `mqtt://127.0.0.1:${broker.port}`, db: join(county, 'county.db'), gapGraceMs: 500, ackIntervalMs: 50 });
      sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
      await sim.start();
    }, 40 * 60_000);

    afterAll(async () => {
      await sim?.stop();
      await collector?.stop();
      await broker?.dispose();
      log(`bullseye ${rootArch}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    });

    // Asynchronous: the simulator and the collector run in this process and must keep answering while
    // stationctl runs (seconds under qemu).
    const status = async (): Promise<Status | null> => {
      try {
        const { stdout } = await execFileAsync('unshare', chrootArgs(root, ['stationctl', '--json', 'status']), { env: ROOT_ENV });
        return JSON.parse(stdout) as Status;
      } catch {
        return null;
      }
    };

    it('is an xz .deb whose every ELF file needs nothing above GLIBC_2.28 / GLIBCXX_3.4.21', () => {
      const members = execFileSync('ar', ['t', deb], { encoding: 'utf8' }).trim().split('\n');
      expect(members).toEqual(['debian-binary', 'control.tar.xz', 'data.tar.xz']);
      const tree = join(work, 'tree');
      mkdirSync(tree);
      execFileSync('dpkg-deb', ['-x', deb, tree]);
      const elves = walk(tree).filter((f) => elfMachine(f) !== null);
      expect(elves.length).toBeGreaterThanOrEqual(4);
      const over = treeFloorViolations(tree);
      expect(over, describeViolations(over)).toEqual([]);
      // Satisfiable on Debian 10 / UOS 20 / Kylin V10: glibc 2.28, libgcc1 before libgcc-s1.
      expect(execFileSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' }).trim()).toMatch(/^libc6 \(>= 2\.(2[0-8]|1\d)\), libgcc-s1 \(>= [\d.]+\) \| libgcc1, libstdc\+\+6 \(>= [\d.]+\)$/);
      for (const f of elves) log(`${f.slice(tree.length)}: ${JSON.stringify(highestVersions(f))}`);
    });

    it('has glibc 2.31 in the root, and installs there with dpkg -i', () => {
      expect(sh(root, 'dpkg-query -W -f=\'${Version}\' libc6').stdout).toMatch(/^2\.31-/);
      expect(sh(root, 'dpkg --print-architecture').stdout.trim()).toBe(rootArch);
      const r = inRoot(root, ['dpkg', '-i', inTmp]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toContain(`Setting up station-agent (${VERSION})`);
    });

    it('passes config check with a projector on loopback and the county broker', () => {
      writeFileSync(
        hostPath(CONF),
        stringify({
          station: { id: `bullseye-${rootArch}`, name: 'Debian 11 测试站点', timezone: 'Asia/Shanghai' },
          log: { level: 'warn' },
          county: { url: `mqtt://127.0.0.1:${broker.port}`, heartbeat_s: 5, require_ack: true },
          devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 1 }],
          sessions: { min_s: 0, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
        }),
      );
      const r = inRoot(root, ['stationctl', 'config', 'check']);
      expect(r.code, r.stderr + r.stdout).toBe(0);
    });

    it('runs the agent from ExecStart: projector online, a usage session recorded, delivered and acknowledged', async () => {
      sh(root, 'install -d -o station-agent -g station-agent -m 0750 /run/station-agent');
      const unit = readFileSync(hostPath('lib/systemd/system/station-agent.service'), 'utf8');
      const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' ');
      const agent = backgroundInRoot(root, exec, 'station-agent');
      try {
        const live = async (): Promise<Status | null> => {
          if (agent.proc.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
          return status();
        };
        // qemu runs the arm64 agent several times slower than the host would.
        const online = await waitFor('the projector online', async () => (await live())?.devices[0]?.online, 180_000, 500);
        expect(online).toBe(true);
        sim.setPower(1);
        await waitFor('a session to open', async () => (await live())?.open_session, 60_000, 500);
        sim.setPower(0);
        await waitFor('the session to close', async () => (await live())?.open_session === null, 60_000, 500);
        await waitFor('the outbox to drain (acknowledged)', async () => {
          const s = await live();
          return s !== null && s.county.connected && s.county.outbox_depth === 0;
        }, 120_000, 500);
        await collector.flush();
        expect(collector.stats().stored).toBeGreaterThanOrEqual(1);
        const pid = (await live())!.agent.pid;
        expect(await agent.stop(pid)).toBe(0);
      } finally {
        await agent.stop();
      }
      const ledger = readLedger();
      expect(ledger.usage.filter((r) => r.type === 'usage')).toHaveLength(1);
    });

    let before: LedgerDump['usage'] = [];
    function readLedger(): LedgerDump {
      const r = inRoot(root, ['/usr/lib/station-agent/node/bin/node', '--input-type=module', '-e', ledgerScript('/usr/lib/station-agent', DATA, false)], { user: 'station-agent' });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as LedgerDump;
    }

    it('keeps the ledger over a reinstall (dpkg -i again) and over purge', () => {
      before = readLedger().usage;
      expect(before.length).toBeGreaterThanOrEqual(1);
      const again = inRoot(root, ['dpkg', '-i', inTmp]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(`Unpacking station-agent (${VERSION}) over (${VERSION})`);
      expect(readLedger().usage).toEqual(before);
      const purge = inRoot(root, ['dpkg', '-P', 'station-agent']);
      expect(purge.code, purge.stderr).toBe(0);
      expect(sh(root, 'test -e /usr/lib/station-agent').code).not.toBe(0);
      // Read back with this machine's Node and store code: the file itself holds the ledger.
      const here = spawnSync(process.execPath, ['--input-type=module', '-e', ledgerScript(ROOT, hostPath(DATA), false)], { encoding: 'utf8' });
      expect(here.status, here.stderr).toBe(0);
      expect((JSON.parse(here.stdout) as LedgerDump).usage).toEqual(before);
    });

    if (rootArch === 'amd64') {
      it("passes systemd-analyze verify with bullseye's systemd (247)", () => {
        expect(sh(root, 'systemctl --version').stdout).toMatch(/^systemd 247/);
        const r = inRoot(root, ['dpkg', '-i', inTmp]);
        expect(r.code, r.stderr).toBe(0);
        // systemd-analyze sets up a manager: it needs sysfs and the cgroup tree (mounted in the command's
        // own mount namespace, gone with it). An unknown directive is logged as "Unknown key name".
        // --man=no: a minbase root has no man(1) to look up the unit's Documentation= pages with (the
        // package ships them).
        const v = sh(root, 'mount -t sysfs sysfs /sys && mount -t cgroup2 cgroup2 /sys/fs/cgroup && systemd-analyze verify --man=no /lib/systemd/system/station-agent.service');
        expect(v.code, v.stderr + v.stdout).toBe(0);
        expect(v.stderr + v.stdout).not.toMatch(/Unknown|Failed|error/i);
      });
    }
  });
}
