/**
 * The county package's own files around the staged app: the /usr/bin wrappers, the two units (shipped as
 * written in systemd/: they name the package's paths already), sysusers/tmpfiles, the example
 * configuration as the conffile, docs and the lintian overrides.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PACKAGE_ROOT } from '../../agent/version.js';
import type { ModuleEntry } from './closure.js';
import {
  COUNTY_APP_DIR,
  COUNTY_COMMANDS,
  COUNTY_CONFIG_PATH,
  COUNTY_DOC_DIR,
  COUNTY_EXAMPLE,
  COUNTY_PACKAGE,
  COUNTY_UNITS,
  countyChangelog,
  countyWrapper,
  type CountyCommand,
} from './county-layout.js';
import { install, write } from './files.js';
import { copyrightFile, rfc2822 } from './layout.js';

export function stageCountyFiles(root: string, version: string, nodeVersion: string, modules: readonly ModuleEntry[], date: Date): void {
  for (const cmd of Object.keys(COUNTY_COMMANDS) as CountyCommand[]) write(join(root, 'usr', 'bin', cmd), countyWrapper(cmd), 0o755);
  for (const unit of COUNTY_UNITS) install(join(PACKAGE_ROOT, 'systemd', unit), join(root, 'lib/systemd/system', unit), 0o644);
  install(join(PACKAGE_ROOT, 'systemd', 'station-county.sysusers.conf'), join(root, 'usr/lib/sysusers.d/station-county.conf'), 0o644);
  install(join(PACKAGE_ROOT, 'systemd', 'station-county.tmpfiles.conf'), join(root, 'usr/lib/tmpfiles.d/station-county.conf'), 0o644);
  // The conffile; root:station-county 0640 by dpkg-statoverride in postinst (the group comes with it).
  install(join(PACKAGE_ROOT, COUNTY_EXAMPLE), join(root, COUNTY_CONFIG_PATH.slice(1)), 0o644);

  const doc = join(root, COUNTY_DOC_DIR.slice(1));
  write(join(doc, 'copyright'), copyrightFile(nodeVersion, modules, date.getUTCFullYear(), COUNTY_APP_DIR, COUNTY_PACKAGE));
  install(join(PACKAGE_ROOT, 'scripts', 'package', 'county-lintian-overrides'), join(root, 'usr/share/lintian/overrides', COUNTY_PACKAGE), 0o644);
  write(join(doc, 'changelog.gz'), gzipSync(countyChangelog(version, rfc2822(date)), { level: 9 }));
  write(join(doc, 'county.md.gz'), gzipSync(readFileSync(join(PACKAGE_ROOT, 'docs', 'county.md')), { level: 9 }));
  write(join(doc, 'examples', 'county.example.yaml'), readFileSync(join(PACKAGE_ROOT, COUNTY_EXAMPLE)));
  // The group notifications' file is the county's to write (its robots' secrets beside it): an example only.
  write(join(doc, 'examples', 'notify.example.yaml'), readFileSync(join(PACKAGE_ROOT, 'county', 'notify.example.yaml')));
}
