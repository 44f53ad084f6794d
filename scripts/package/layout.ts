/**
 * Where the packaged station-agent lives and the small files the package generates: the unit with the
 * bundled Node in ExecStart, the /usr/bin wrappers, DEBIAN/control, the changelog and copyright.
 * Pure functions (plus stageApp, which copies the built agent), so the fast tests in `npm test` check
 * the same code the package build runs.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export type Arch = 'x64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x64', 'arm64'];
export const DEB_ARCH: Record<Arch, string> = { x64: 'amd64', arm64: 'arm64' };
/** ELF e_machine of each target: every binary in a package must carry its target's. */
export const ELF_MACHINE: Record<Arch, number> = { x64: 62, arm64: 183 };
/** The GNU triplet of the cross toolchain (crossbuild-essential-arm64); null: the host's own compilers. */
export const CROSS_PREFIX: Record<Arch, string | null> = { x64: null, arm64: 'aarch64-linux-gnu-' };

export const PACKAGE_NAME = 'station-agent';
/** Not /opt: Debian policy keeps packages out of /opt (lintian: dir-or-file-in-opt). */
export const APP_DIR = '/usr/lib/station-agent';
export const NODE_BIN = `${APP_DIR}/node/bin/node`;
export const AGENT_MAIN = `${APP_DIR}/dist/agent/main.js`;
export const CTL_MAIN = `${APP_DIR}/dist/agent/cli/stationctl.js`;
export const UNIT_PATH = '/lib/systemd/system/station-agent.service';
export const CONFIG_PATH = '/etc/station-agent/config.yaml';
export const DOC_DIR = '/usr/share/doc/station-agent';
export const MAINTAINER = 'station-agent developers <dev@station-agent.invalid>';

/** dist/ folders the agent and stationctl run from; dist/county and dist/scripts (sims, bench) stay out. */
export const APP_DIST_DIRS = ['protocol', 'config', 'drivers', 'agent'] as const;
/** Native modules compiled for the target against the bundled Node's headers, and the addon each loads. */
export const NATIVE_MODULES = [
  { name: 'better-sqlite3', addon: 'better_sqlite3.node' },
  { name: 'unix-dgram', addon: 'unix_dgram.node' },
] as const;

/** A package version: digits first, no '-' (a native Debian package has no revision). */
export function checkVersion(version: string): string {
  if (!/^[0-9][0-9A-Za-z.+~]*$/.test(version)) {
    throw new Error(`version "${version}" is not usable: digits first, then letters, digits, . + ~ (no '-')`);
  }
  return version;
}

export function debFileName(version: string, arch: Arch, ext: 'deb' | 'tar.gz'): string {
  return `${PACKAGE_NAME}_${version}_${DEB_ARCH[arch]}.${ext}`;
}

/**
 * systemd/station-agent.service as the package installs it: the bundled Node in ExecStart with the
 * agent's own flags. Refuses a source unit whose ExecStart it does not recognise or whose flags differ
 * from AGENT_NODE_FLAGS, so the two can never drift apart silently.
 */
export function packagedUnit(source: string, flags: readonly string[]): string {
  const exec = /^ExecStart=(\S+)((?: --\S+)*) \/opt\/station-agent\/dist\/agent\/main\.js( .*)?$/m.exec(source);
  if (!exec) throw new Error('systemd/station-agent.service: ExecStart=<node> <flags> /opt/station-agent/dist/agent/main.js … not found');
  const sourceFlags = exec[2]!.trim().split(/\s+/).filter(Boolean);
  if (sourceFlags.join(' ') !== flags.join(' ')) {
    throw new Error(`systemd/station-agent.service runs node with "${sourceFlags.join(' ')}" but AGENT_NODE_FLAGS is "${flags.join(' ')}"`);
  }
  let unit = source.replace(exec[0], `ExecStart=${NODE_BIN} ${flags.join(' ')} ${AGENT_MAIN}${exec[3] ?? ''}`);
  unit = unit.replace(/^# Installed by scripts\/install\.sh.*$/m, `# Installed by the station-agent package to ${UNIT_PATH}.`);
  unit = unit.replace(/^Documentation=.*$/m, 'Documentation=man:station-agent(1) man:stationctl(1)');
  if (unit.includes('/opt/station-agent')) throw new Error('systemd/station-agent.service: a path under /opt/station-agent is left in the packaged unit');
  return unit;
}

/** /usr/bin/station-agent and /usr/bin/stationctl: the bundled Node, never one found on PATH. */
export function wrapperScript(command: 'station-agent' | 'stationctl', flags: readonly string[]): string {
  const [main, args, why] =
    command === 'station-agent'
      ? [AGENT_MAIN, `${flags.join(' ')} `, 'the daemon, with the node flags its unit uses']
      : [CTL_MAIN, '', 'the technician tool'];
  return `#!/bin/sh
# ${command}: ${why}, on the Node runtime bundled in ${APP_DIR}/node (never the system's node).
exec ${NODE_BIN} ${args}${main} "$@"
`;
}

/** The command line a wrapper runs, with the package root moved to `root` (to run an unpacked tree). */
export function wrapperCommand(script: string, root: string): string[] {
  const line = script.split('\n').find((l) => l.startsWith('exec '));
  if (!line) throw new Error('wrapper has no exec line');
  return line
    .slice('exec '.length)
    .split(' ')
    .filter((w) => w !== '"$@"')
    .map((w) => (w.startsWith(APP_DIR) ? root + w : w));
}

export interface ControlFields {
  version: string;
  arch: Arch;
  installedSizeKb: number;
  depends: string;
  nodeVersion: string;
}

export function controlFile(f: ControlFields): string {
  return `Package: ${PACKAGE_NAME}
Version: ${f.version}
Architecture: ${DEB_ARCH[f.arch]}
Maintainer: ${MAINTAINER}
Installed-Size: ${f.installedSizeKb}
Depends: ${f.depends}
Section: admin
Priority: optional
Description: village remote-education station agent
 station-agent runs unattended on the PC of a remote-education village
 station: it watches and controls the set-top box, projector, LED display
 and amplifier over serial and the network, keeps the local usage ledger
 in SQLite, and reports to the county over MQTT. stationctl is the
 bilingual (Chinese / English) tool a technician uses on site.
 .
 The package carries its own Node.js ${f.nodeVersion} runtime and native
 modules, so it installs offline from this one file.
`;
}

/** A native package's changelog (Debian policy 12.7): one entry for the version being built. */
export function changelog(version: string, date: Date): string {
  return `${PACKAGE_NAME} (${version}) stable; urgency=medium

  * station-agent ${version}, with its own Node.js runtime.

 -- ${MAINTAINER}  ${rfc2822(date)}
`;
}

export function rfc2822(d: Date): string {
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]!;
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]!;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${day}, ${p(d.getUTCDate())} ${mon} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const MIT = `Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:
.
The above copyright notice and this permission notice shall be included in
all copies or substantial portions of the Software.
.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.`;

export interface BundledModule {
  name: string;
  version: string;
  license: string;
}

/** debian/copyright (machine-readable format 1.0): the agent, the bundled Node and every bundled module. */
export function copyrightFile(nodeVersion: string, modules: readonly BundledModule[], year: number, appDir: string = APP_DIR, upstream: string = PACKAGE_NAME): string {
  const indent = (s: string) =>
    s
      .split('\n')
      .map((l) => ` ${l}`)
      .join('\n');
  const list = modules.map((m) => `${m.name} ${m.version} (${m.license})`).join('\n');
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: ${upstream}
Comment: This package bundles the official Node.js ${nodeVersion} build (from the npm
 registry package node-linux-<arch>; its licence, covering Node.js and the
 libraries built into it, is ${appDir}/node/LICENSE) and the run-time npm
 dependencies of its code in ${appDir}/node_modules, each with
 its own licence file in its folder:
${indent(list)}

Files: *
Copyright: ${year} station-agent developers
License: MIT

Files: ${appDir.slice(1)}/node/*
Copyright: Node.js contributors and the authors listed in ${appDir}/node/LICENSE
License: Node.js
 See ${appDir}/node/LICENSE (MIT for Node.js itself; the bundled
 libraries' licences follow it in that file).

License: MIT
${indent(MIT)}
`;
}

/**
 * Copies what the agent and stationctl read at run time into `appDir`: dist/{agent,drivers,config}
 * without source maps (the .ts sources are not shipped) and without stale output of removed sources, the frame profiles and the example config
 * (config/), and package.json (PACKAGE_ROOT and the version come from it). Dependencies are installed
 * afterwards from `lockfile`. Returns the package.json written.
 */
export function stageApp(repoRoot: string, appDir: string, version: string): Record<string, unknown> {
  mkdirSync(appDir, { recursive: true });
  const distRoot = join(repoRoot, 'dist');
  // Only output of a source that still exists: tsc never deletes the .js of a removed .ts from dist/.
  const current = (src: string) => {
    if (src.endsWith('.map')) return false;
    if (!src.endsWith('.js')) return true;
    return existsSync(join(repoRoot, relative(distRoot, src)).replace(/\.js$/, '.ts'));
  };
  for (const dir of APP_DIST_DIRS) {
    cpSync(join(distRoot, dir), join(appDir, 'dist', dir), { recursive: true, filter: current });
  }
  mkdirSync(join(appDir, 'config'), { recursive: true });
  cpSync(join(repoRoot, 'config', 'profiles'), join(appDir, 'config', 'profiles'), { recursive: true });
  cpSync(join(repoRoot, 'config', 'example.yaml'), join(appDir, 'config', 'example.yaml'));
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, unknown>;
  const staged = {
    name: pkg.name,
    version,
    description: pkg.description,
    type: pkg.type,
    license: pkg.license,
    private: true,
    dependencies: pkg.dependencies,
  };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
  return staged;
}
