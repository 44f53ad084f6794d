/**
 * The station package's own files around the staged app: the /usr/bin wrappers, the unit with the bundled
 * Node, sysusers/tmpfiles, the conffile, docs, man pages and the lintian overrides.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AGENT_NODE_FLAGS, PACKAGE_ROOT } from '../../agent/version.js';
import type { ModuleEntry } from './closure.js';
import { install, write } from './files.js';
import { CONFIG_PATH, DOC_DIR, UNIT_PATH, changelog, copyrightFile, packagedUnit, wrapperScript } from './layout.js';

export function stageStationFiles(root: string, version: string, nodeVersion: string, modules: readonly ModuleEntry[], date: Date): void {
  for (const cmd of ['station-agent', 'stationctl'] as const) write(join(root, 'usr', 'bin', cmd), wrapperScript(cmd, AGENT_NODE_FLAGS), 0o755);
  const unitSource = readFileSync(join(PACKAGE_ROOT, 'systemd', 'station-agent.service'), 'utf8');
  write(join(root, UNIT_PATH.slice(1)), packagedUnit(unitSource, AGENT_NODE_FLAGS));
  install(join(PACKAGE_ROOT, 'systemd', 'station-agent.sysusers.conf'), join(root, 'usr/lib/sysusers.d/station-agent.conf'), 0o644);
  install(join(PACKAGE_ROOT, 'systemd', 'station-agent.tmpfiles.conf'), join(root, 'usr/lib/tmpfiles.d/station-agent.conf'), 0o644);
  // The conffile. Owner and mode (root:station-agent 0640) come from dpkg-statoverride in postinst:
  // the group does not exist before the package is configured.
  install(join(PACKAGE_ROOT, 'config', 'example.yaml'), join(root, CONFIG_PATH.slice(1)), 0o644);

  const doc = join(root, DOC_DIR.slice(1));
  write(join(doc, 'copyright'), copyrightFile(nodeVersion, modules, date.getUTCFullYear()));
  install(join(PACKAGE_ROOT, 'scripts', 'package', 'lintian-overrides'), join(root, 'usr/share/lintian/overrides/station-agent'), 0o644);
  write(join(doc, 'changelog.gz'), gzipSync(changelog(version, date), { level: 9 }));
  write(join(doc, 'README.md.gz'), gzipSync(readFileSync(join(PACKAGE_ROOT, 'README.md')), { level: 9 }));
  write(join(doc, 'operations.md.gz'), gzipSync(readFileSync(join(PACKAGE_ROOT, 'docs', 'operations.md')), { level: 9 }));
  install(join(PACKAGE_ROOT, 'systemd', '99-station-agent-serial.rules.example'), join(doc, 'examples', '99-station-agent-serial.rules.example'), 0o644);
  for (const page of ['station-agent.1', 'stationctl.1']) {
    write(join(root, 'usr/share/man/man1', `${page}.gz`), gzipSync(readFileSync(join(PACKAGE_ROOT, 'scripts', 'package', 'man', page)), { level: 9 }));
  }
}
