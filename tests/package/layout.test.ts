/**
 * Fast checks of the package build's pure parts (part of npm test): the packaged unit and wrappers, the
 * version rule, the apt source parsing debootstrap's mirror comes from, and the runtime pin's refusal of
 * a tarball that is not the pinned one. The builds themselves run in `npm run test:package`.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../agent/version.js';
import { debianMirror } from '../../scripts/package/debian-root.js';
import { AGENT_MAIN, CTL_MAIN, NODE_BIN, checkVersion, packagedUnit, wrapperCommand, wrapperScript } from '../../scripts/package/layout.js';
import { elfMachine } from '../../scripts/package/files.js';
import { fetchRuntime, runtimePin } from '../../scripts/package/runtime.js';
import { ROOT } from './helpers.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('packaged systemd unit', () => {
  const source = readFileSync(join(ROOT, 'systemd', 'station-agent.service'), 'utf8');
  const unit = packagedUnit(source, AGENT_NODE_FLAGS);

  it('runs the bundled Node with the agent flags and changes nothing else but comments and docs', () => {
    expect(unit).toContain(`\nExecStart=${NODE_BIN} --max-semi-space-size=1 --v8-pool-size=1 --no-opt --no-maglev ${AGENT_MAIN} --config /etc/station-agent/config.yaml\n`);
    expect(unit).not.toContain('/opt/station-agent');
    expect(unit).not.toContain('/usr/bin/node');
    const rest = (text: string) => text.split('\n').filter((l) => !/^(ExecStart|Documentation)=|^# Installed by/.test(l));
    expect(rest(unit)).toEqual(rest(source));
  });

  it('refuses a source unit whose node flags drift from AGENT_NODE_FLAGS, or without the ExecStart it knows', () => {
    expect(() => packagedUnit(source, ['--max-semi-space-size=2'])).toThrow(/AGENT_NODE_FLAGS/);
    expect(() => packagedUnit(source.replace(/^ExecStart=.*$/m, 'ExecStart=/usr/bin/station-agent'), AGENT_NODE_FLAGS)).toThrow(/ExecStart/);
  });
});

describe('unit hardening', () => {
  const source = readFileSync(join(ROOT, 'systemd', 'station-agent.service'), 'utf8');
  const directives = new Map(
    source
      .split('\n')
      .filter((l) => /^[A-Z]\w+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );

  // The attack run's `systemd-analyze security` list (3.5 before): these cost the agent nothing.
  it.each([
    ['SystemCallFilter', '@system-service'],
    ['SystemCallErrorNumber', 'EPERM'],
    ['RemoveIPC', 'yes'],
    ['PrivateMounts', 'yes'],
    ['ProtectProc', 'invisible'],
  ])('sets %s=%s', (key, value) => expect(directives.get(key)).toBe(value));

  it('leaves out what would break the agent: ProcSubset=pid (host facts), MemoryDenyWriteExecute (V8), PrivateDevices (serial)', () => {
    for (const key of ['ProcSubset', 'MemoryDenyWriteExecute', 'PrivateDevices', 'PrivateUsers']) expect(directives.has(key), key).toBe(false);
  });

  it('the older-systemd table in docs/operations.md names every hardening directive the unit sets', () => {
    const ops = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const table = ops.slice(ops.indexOf("## The unit's hardening"), ops.indexOf('## Building the packages'));
    const hardening = [...directives.keys()].filter((k) => /^(Protect|Private|Restrict|SystemCall|Lock|NoNew|RemoveIPC|Capability|Device)/.test(k));
    expect(hardening.length).toBeGreaterThan(15);
    for (const key of hardening) expect(table, key).toContain(`\`${key}`);
  });
});

describe('/usr/bin wrappers', () => {
  it('exec the bundled Node: the agent with its flags, stationctl plain', () => {
    expect(wrapperCommand(wrapperScript('station-agent', AGENT_NODE_FLAGS), '')).toEqual([NODE_BIN, ...AGENT_NODE_FLAGS, AGENT_MAIN]);
    expect(wrapperCommand(wrapperScript('stationctl', AGENT_NODE_FLAGS), '/tmp/tree')).toEqual([`/tmp/tree${NODE_BIN}`, `/tmp/tree${CTL_MAIN}`]);
    expect(wrapperScript('stationctl', AGENT_NODE_FLAGS)).toMatch(/^#!\/bin\/sh\n/);
    expect(wrapperScript('stationctl', AGENT_NODE_FLAGS)).toContain(`exec ${NODE_BIN} ${CTL_MAIN} "$@"\n`);
  });
});

describe('package version', () => {
  it.each(['0.1.0', '0.1.0+pkgtest2', '1.2.3~rc1'])('accepts %s', (v) => expect(checkVersion(v)).toBe(v));
  it.each(['0.1.0-1', 'v0.1.0', '', '0.1 0', '0.1.0_x'])('refuses %j', (v) => expect(() => checkVersion(v)).toThrow(/not usable/));
});

describe('debootstrap mirror from the apt sources', () => {
  const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
`;

  it('takes the deb822 entry for the suite itself (this machine: /etc/apt/sources.list.d/debian.sources)', () => {
    expect(debianMirror([{ path: '/etc/apt/sources.list.d/debian.sources', text: deb822 }], 'bookworm')).toBe('http://deb.debian.org/debian');
  });

  it('reads one-line sources with options, skipping comments, deb-src, other suites and entries without main', () => {
    const list = [
      '# deb http://old.example/debian bookworm main',
      'deb-src http://src.example/debian bookworm main',
      'deb http://security.example/debian-security bookworm-security main',
      'deb http://contrib.example/debian bookworm contrib',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://mirror.example/debian bookworm main non-free-firmware',
    ].join('\n');
    expect(debianMirror([{ path: '/etc/apt/sources.list', text: list }], 'bookworm')).toBe('http://mirror.example/debian');
  });

  it('skips disabled deb822 stanzas and names the files when nothing fits', () => {
    const disabled = 'Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n';
    expect(() => debianMirror([{ path: '/etc/apt/sources.list.d/x.sources', text: disabled }], 'bookworm')).toThrow(/no apt source for bookworm main in \/etc\/apt\/sources.list.d\/x.sources/);
  });
});

describe('bundled Node runtime pin', () => {
  it('pins Node 22 for both targets with sha512 integrity', () => {
    for (const arch of ['x64', 'arm64'] as const) {
      const pin = runtimePin(arch);
      expect(pin.version).toMatch(/^22\.\d+\.\d+$/);
      expect(pin.name).toBe(`node-linux-${arch}`);
      expect(pin.integrity).toMatch(/^sha512-/);
    }
  });

  it('refuses (and deletes) a cached tarball that is not the pinned one', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'sa-runtime-'));
    dirs.push(cache);
    const pin = runtimePin('arm64');
    const tgz = join(cache, `${pin.name}-${pin.version}.tgz`);
    writeFileSync(tgz, 'not node');
    await expect(fetchRuntime('arm64', cache, () => {})).rejects.toThrow(/is not the pinned .*refusing it/);
    expect(() => readFileSync(tgz)).toThrow(/ENOENT/);
  });
});

describe('ELF check of package binaries', () => {
  it('reads the machine of an ELF file and null for anything else', () => {
    expect(elfMachine(process.execPath)).toBe(process.arch === 'arm64' ? 183 : 62);
    expect(elfMachine(join(ROOT, 'package.json'))).toBeNull();
  });
});
