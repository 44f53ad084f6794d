/**
 * `npm run package:measure [-- --skip-build]`: the package figures of docs/operations.md, measured on this
 * machine and printed (never asserted in a test):
 *   - the size of each .deb (budget 45 MB) and how long each build took;
 *   - `dpkg -i` of the amd64 .deb into a fresh debootstrap root, and from its start to a running agent
 *     (started as its unit runs it, right after dpkg returns, as systemd would; budget 60 s);
 *   - the arm64 tree under qemu-aarch64-static: `station-agent --version`, and from the agent's start to a
 *     PJLink projector (the project's simulator, on 127.0.0.1) online.
 * --skip-build measures the packages already in out/ for package.json's version.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { buildPackage, DEFAULT_OUT } from './build.js';
import { background, backgroundInRoot, inRoot, pjlinkStation, sh, waitFor } from './chroot.js';
import { minbaseRootTarball, unpackRoot } from './debian-root.js';
import { debFileName, wrapperCommand, type Arch } from './layout.js';

const CACHE = join(DEFAULT_OUT, 'cache');
const CTL_JS = join(PACKAGE_ROOT, 'dist', 'agent', 'cli', 'stationctl.js');
const log = (s: string) => process.stderr.write(`  ${s}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB (${(n / 1e6).toFixed(1)} MB)`;

async function measureInstall(deb: string, rows: string[][]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sa-measure-root-'));
  try {
    const root = join(work, 'root');
    unpackRoot(minbaseRootTarball(CACHE, log), root);
    copyFileSync(deb, join(root, 'tmp', 'station-agent.deb'));
    const t0 = Date.now();
    const r = inRoot(root, ['dpkg', '-i', '/tmp/station-agent.deb']);
    const t1 = Date.now();
    if (r.code !== 0) throw new Error(`dpkg -i failed: ${r.stdout}${r.stderr}`);
    // A loopback-only configuration (no devices, no county), then the agent as its unit starts it.
    writeFileSync(join(root, 'etc/station-agent/config.yaml'), stringify({ station: { id: 'measure', name: 'measure' }, log: { level: 'warn' } }));
    sh(root, 'install -d -o station-agent -g station-agent -m 0750 /run/station-agent');
    const unit = readFileSync(join(root, 'lib/systemd/system/station-agent.service'), 'utf8');
    const agent = backgroundInRoot(root, /^ExecStart=(.*)$/m.exec(unit)![1]!.split(' '), 'station-agent');
    try {
      const pid = await waitFor('the agent to answer status', () => {
        if (agent.proc.exitCode !== null) throw new Error(`agent exited: ${agent.output()}`);
        const s = inRoot(root, ['stationctl', '--json', 'status']);
        const status = s.code === 0 ? (JSON.parse(s.stdout) as { agent: { running: boolean; pid: number } }) : null;
        return status?.agent.running ? status.agent.pid : null;
      }, 60_000, 50);
      const t2 = Date.now();
      rows.push(['amd64: dpkg -i into a fresh minbase root', seconds(t1 - t0)]);
      rows.push(['amd64: dpkg -i to a running agent (status answers)', `${seconds(t2 - t0)} (budget 60 s)`]);
      await agent.stop(pid);
    } finally {
      await agent.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measureArm64(tarball: string, rows: string[][]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'sa-measure-arm64-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' };
  try {
    const tree = join(work, 'tree');
    mkdirSync(tree);
    execFileSync('tar', ['-xzf', tarball, '-C', tree]);
    const agentCmd = ['qemu-aarch64-static', ...wrapperCommand(readFileSync(join(tree, 'usr/bin/station-agent'), 'utf8'), tree)];
    const t0 = Date.now();
    const v = spawnSync(agentCmd[0]!, [...agentCmd.slice(1), '--version'], { encoding: 'utf8', env });
    if (v.status !== 0) throw new Error(`arm64 --version failed: ${v.stderr}`);
    rows.push(['arm64 under qemu: station-agent --version', seconds(Date.now() - t0)]);
    const n0 = Date.now();
    spawnSync(process.execPath, [join(PACKAGE_ROOT, 'dist', 'agent', 'main.js'), '--version'], { env });
    rows.push(['  reference: the same natively on this machine (Node 20)', seconds(Date.now() - n0)]);

    const { sim, config } = await pjlinkStation(work, 'measure-arm64', env);
    try {
      const s0 = Date.now();
      const agent = background(agentCmd[0]!, [...agentCmd.slice(1), '--config', config], env);
      try {
        const status = () => {
          const r = spawnSync(process.execPath, [CTL_JS, '--json', '--config', config, 'status'], { encoding: 'utf8', env });
          return r.status === 0 ? (JSON.parse(r.stdout) as { agent: { running: boolean }; devices: Array<{ online: boolean }> }) : null;
        };
        await waitFor('the arm64 agent to answer status', () => {
          if (agent.proc.exitCode !== null) throw new Error(`arm64 agent exited: ${agent.output()}`);
          return status()?.agent.running;
        }, 180_000, 100);
        rows.push(['arm64 under qemu: agent start to running (status answers)', seconds(Date.now() - s0)]);
        await waitFor('the projector online', () => status()?.devices[0]?.online, 180_000, 100);
        rows.push(['arm64 under qemu: agent start to PJLink projector online', seconds(Date.now() - s0)]);
      } finally {
        await agent.stop();
      }
    } finally {
      await sim.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'skip-build': { type: 'boolean', default: false } }, strict: true });
  const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  execFileSync('bash', [join(PACKAGE_ROOT, 'scripts', 'package', 'install-build-tools.sh')], { stdio: 'inherit' });
  const rows: string[][] = [];
  const file = (arch: Arch, ext: 'deb' | 'tar.gz') => join(DEFAULT_OUT, debFileName(version, arch, ext));
  for (const arch of ['x64', 'arm64'] as const) {
    if (!values['skip-build'] || !existsSync(file(arch, 'deb'))) {
      log(`building the ${arch} package`);
      const r = await buildPackage({ product: 'station', arch, version, out: DEFAULT_OUT, cache: CACHE, lint: true, keepStage: false, log });
      rows.push([`${arch}: npm run package (${r.nativeCompiled ? 'native modules compiled' : 'native modules from the build cache'})`, `${r.seconds.toFixed(0)} s`]);
    }
    rows.push([`${arch}: ${debFileName(version, arch, 'deb')}`, `${mib(statSync(file(arch, 'deb')).size)} (budget 45 MB)`]);
    rows.push([`${arch}: ${debFileName(version, arch, 'tar.gz')}`, mib(statSync(file(arch, 'tar.gz')).size)]);
  }
  log('dpkg -i in a fresh root');
  await measureInstall(file('x64', 'deb'), rows);
  log('arm64 tree under qemu');
  await measureArm64(file('arm64', 'tar.gz'), rows);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  process.stdout.write(`\npackage figures (${new Date().toISOString()}):\n`);
  for (const [k, v] of rows) process.stdout.write(`  ${k!.padEnd(width)}  ${v}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`package:measure: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
