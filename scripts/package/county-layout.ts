/**
 * Where the county package (station-county) puts things, and the small files it generates: the /usr/bin
 * wrappers and DEBIAN/control. Its units (systemd/county-*.service) are written for these paths and
 * shipped as they are. Pure functions, so the fast tests in `npm test` check what the package build runs.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { DEB_ARCH, MAINTAINER, type Arch } from './layout.js';

export const COUNTY_PACKAGE = 'station-county';
export const COUNTY_APP_DIR = '/usr/lib/station-county';
export const COUNTY_NODE_BIN = `${COUNTY_APP_DIR}/node/bin/node`;
export const COUNTY_CONFIG_PATH = '/etc/station-county/county.yaml';
export const COUNTY_DATA_DIR = '/var/lib/station-county';
export const COUNTY_DOC_DIR = '/usr/share/doc/station-county';
export const COUNTY_UNITS = ['county-collector.service', 'county-console.service'] as const;
/** The example configuration (the conffile), written by the county config-file work. */
export const COUNTY_EXAMPLE = 'county/county.example.yaml';
/** dist/ folders the county commands run from: nothing of the station. */
export const COUNTY_DIST_DIRS = ['protocol', 'county'] as const;

/** /usr/bin command → the script under dist/county it runs, and what it is (the wrapper's comment). */
export const COUNTY_COMMANDS = {
  'county-collector': { main: 'collector.js', what: 'the collector (MQTT to the county database) and its reports' },
  'county-console': { main: 'console.js', what: "the county office's web console and its accounts" },
  'county-pki': { main: 'pki.js', what: 'the county CA, the broker certificate and each station\u2019s credentials' },
} as const;
export type CountyCommand = keyof typeof COUNTY_COMMANDS;

export const countyMain = (command: CountyCommand): string => `${COUNTY_APP_DIR}/dist/county/${COUNTY_COMMANDS[command].main}`;

export function countyDebFileName(version: string, arch: Arch, ext: 'deb' | 'tar.gz'): string {
  return `${COUNTY_PACKAGE}_${version}_${DEB_ARCH[arch]}.${ext}`;
}

/** A /usr/bin wrapper: the bundled Node, never one found on PATH. */
export function countyWrapper(command: CountyCommand): string {
  return `#!/bin/sh
# ${command}: ${COUNTY_COMMANDS[command].what}, on the Node runtime bundled in ${COUNTY_APP_DIR}/node.
exec ${COUNTY_NODE_BIN} ${countyMain(command)} "$@"
`;
}

export interface CountyControlFields {
  version: string;
  arch: Arch;
  installedSizeKb: number;
  depends: string;
  nodeVersion: string;
}

export function countyControlFile(f: CountyControlFields): string {
  return `Package: ${COUNTY_PACKAGE}
Version: ${f.version}
Architecture: ${DEB_ARCH[f.arch]}
Maintainer: ${MAINTAINER}
Installed-Size: ${f.installedSizeKb}
Depends: ${f.depends}
Recommends: postgresql-15 | postgresql, mosquitto
Section: admin
Priority: optional
Description: county side of the village remote-education stations
 The county office's part of station-agent: county-collector takes every
 station's usage records and events from the MQTT broker into PostgreSQL
 (or SQLite for a small county) and acknowledges them; county-console is
 the bilingual (Chinese / English) web console of the county office;
 county-pki makes the county CA and each station's credentials.
 .
 The package carries its own Node.js ${f.nodeVersion} runtime and native
 modules, so it installs offline from this one file.
`;
}

export function countyChangelog(version: string, rfc2822Date: string): string {
  return `${COUNTY_PACKAGE} (${version}) stable; urgency=medium

  * station-county ${version}, with its own Node.js runtime.

 -- ${MAINTAINER}  ${rfc2822Date}
`;
}

/**
 * Copies what the county commands read at run time into `appDir`: dist/{protocol,county} without source
 * maps and without stale output of removed sources (the console's static echarts.min.js included), and a
 * package.json carrying the version. Dependencies are installed and pruned afterwards.
 */
export function stageCountyApp(repoRoot: string, appDir: string, version: string): void {
  mkdirSync(appDir, { recursive: true });
  const distRoot = join(repoRoot, 'dist');
  const current = (src: string) => {
    if (src.endsWith('.map')) return false;
    if (!src.endsWith('.js') || src.endsWith('.min.js')) return true;
    return existsSync(join(repoRoot, relative(distRoot, src)).replace(/\.js$/, '.ts'));
  };
  for (const dir of COUNTY_DIST_DIRS) cpSync(join(distRoot, dir), join(appDir, 'dist', dir), { recursive: true, filter: current });
  if (!existsSync(join(appDir, 'dist', 'county', 'console', 'static', 'echarts.min.js'))) {
    throw new Error('dist/county/console/static/echarts.min.js is missing: run npm run build first');
  }
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'county', 'package.json'), 'utf8')) as Record<string, unknown>;
  const staged = { name: COUNTY_PACKAGE, version, description: pkg.description, type: pkg.type, license: pkg.license, private: true };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
}
