/**
 * `npm run package -- --arch x64|arm64 [--version V] [--out DIR] [--cache DIR] [--no-lint] [--keep-stage]`
 * writes out/station-agent_<version>_<amd64|arm64>.deb and .tar.gz of the same tree: the bundled Node 22,
 * the built agent, production dependencies with native modules built for the target, the systemd files,
 * and station-agent / stationctl on PATH. Runs on Debian 12 amd64 as root (docs/operations.md).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { AGENT_NODE_FLAGS, PACKAGE_ROOT } from '../../agent/version.js';
import { buildDeb, buildTarball, installedSizeKb, lintian, md5sums, shlibDepends } from './deb.js';
import {
  APP_DIR,
  ARCHES,
  CONFIG_PATH,
  DOC_DIR,
  UNIT_PATH,
  changelog,
  checkVersion,
  controlFile,
  copyrightFile,
  debFileName,
  packagedUnit,
  stageApp,
  wrapperScript,
  type Arch,
  type BundledModule,
} from './layout.js';
import { describeViolations, treeFloorViolations } from './symbol-versions.js';
import { buildNativeModules, foreignBinaries, keepSerialportPrebuild, stripBinary, walk, elfMachine } from './native.js';
import { fetchRuntime } from './runtime.js';

export const DEFAULT_OUT = join(PACKAGE_ROOT, 'out');

export interface BuildOptions {
  arch: Arch;
  version: string;
  out: string;
  cache: string;
  lint: boolean;
  keepStage: boolean;
  log: (s: string) => void;
}

export interface BuildResult {
  deb: string;
  tarball: string;
  debBytes: number;
  tarballBytes: number;
  depends: string;
  lintianWarnings: string[];
  seconds: number;
  /** Whether a native module was compiled in this build (not taken from the build cache). */
  nativeCompiled: boolean;
  /** The staged tree, when keepStage. */
  stage?: string;
}

function sourceDateEpoch(): string {
  if (process.env.SOURCE_DATE_EPOCH) return process.env.SOURCE_DATE_EPOCH;
  try {
    return execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return String(Math.floor(Date.now() / 1000));
  }
}

function install(src: string, dest: string, mode: number): void {
  mkdirSync(resolve(dest, '..'), { recursive: true });
  copyFileSync(src, dest);
  chmodSync(dest, mode);
}

function write(dest: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(resolve(dest, '..'), { recursive: true });
  writeFileSync(dest, text);
  chmodSync(dest, mode);
}

/** Production dependencies exactly as package-lock.json pins them, without running any install script. */
function installDependencies(work: string, appDir: string, log: (s: string) => void): void {
  const deps = join(work, 'deps');
  mkdirSync(deps);
  copyFileSync(join(PACKAGE_ROOT, 'package.json'), join(deps, 'package.json'));
  copyFileSync(join(PACKAGE_ROOT, 'package-lock.json'), join(deps, 'package-lock.json'));
  log('production dependencies (npm ci --omit=dev --ignore-scripts)');
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: deps,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const modules = join(appDir, 'node_modules');
  renameSync(join(deps, 'node_modules'), modules);
  // Nothing in node_modules is run directly: the bundled Node loads it. No command links, no executable
  // bits (lintian: a `#!/usr/bin/env node` script would need the system's nodejs), and no files that only
  // matter in a git checkout or a browser (pino's docs page loads scripts from CDNs).
  rmSync(join(modules, '.bin'), { recursive: true, force: true });
  for (const f of walk(modules)) {
    const base = f.slice(f.lastIndexOf('/') + 1);
    if (JUNK.has(base) || DEV_ONLY.test(base)) rmSync(f);
    else chmodSync(f, 0o644);
  }
}

/**
 * Type declarations, TypeScript sources, source maps, docs and docs pages are never loaded at run time
 * and are half the files: fewer files is a faster `dpkg -i` (dpkg syncs each one). Licences stay.
 */
const DEV_ONLY = /^(?!(licen[cs]e|copying|notice|authors)\b).*\.(d\.[cm]?ts|ts|map|md|markdown|html)$/i;
const JUNK = new Set(['.gitignore', '.npmignore', '.gitattributes', '.travis.yml', '.editorconfig', '.eslintrc', '.eslintrc.json', '.prettierrc']);

function bundledModules(appDir: string): BundledModule[] {
  const lock = JSON.parse(readFileSync(join(appDir, 'node_modules', '.package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string; license?: string }>;
  };
  return Object.entries(lock.packages)
    .filter(([p]) => p.startsWith('node_modules/'))
    .map(([p, v]) => ({ name: p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length), version: v.version ?? '?', license: v.license ?? 'see its folder' }))
    .sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
}

export async function buildPackage(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { arch, version, log } = o;
  for (const f of ['agent/main.js', 'agent/cli/stationctl.js']) {
    if (!existsSync(join(PACKAGE_ROOT, 'dist', f))) throw new Error(`dist/${f} is missing: run npm run build first`);
  }
  mkdirSync(o.out, { recursive: true });
  const runtime = await fetchRuntime(arch, o.cache, log);
  const epoch = sourceDateEpoch();
  const work = mkdtempSync(join(o.out, `.stage-${arch}-`));
  try {
    const root = join(work, 'debian', 'station-agent');
    const app = join(root, APP_DIR.slice(1));
    log(`staging ${debFileName(version, arch, 'deb')} in ${root}`);
    stageApp(PACKAGE_ROOT, app, version);
    installDependencies(work, app, log);
    const native = buildNativeModules(app, arch, runtime.dir, runtime.pin.version, o.cache, log);
    for (const n of native) log(`${n.name} ${n.version}: ${n.cached ? 'from the build cache' : 'compiled'}`);
    const serialport = keepSerialportPrebuild(app, arch);
    log(`serialport binding: ${serialport.slice(app.length + 1)}`);

    const node = join(app, 'node', 'bin', 'node');
    install(join(runtime.dir, 'bin', 'node'), node, 0o755);
    stripBinary(node, arch);
    install(join(runtime.dir, 'LICENSE'), join(app, 'node', 'LICENSE'), 0o644);

    for (const cmd of ['station-agent', 'stationctl'] as const) write(join(root, 'usr', 'bin', cmd), wrapperScript(cmd, AGENT_NODE_FLAGS), 0o755);
    const unitSource = readFileSync(join(PACKAGE_ROOT, 'systemd', 'station-agent.service'), 'utf8');
    write(join(root, UNIT_PATH.slice(1)), packagedUnit(unitSource, AGENT_NODE_FLAGS));
    install(join(PACKAGE_ROOT, 'systemd', 'station-agent.sysusers.conf'), join(root, 'usr/lib/sysusers.d/station-agent.conf'), 0o644);
    install(join(PACKAGE_ROOT, 'systemd', 'station-agent.tmpfiles.conf'), join(root, 'usr/lib/tmpfiles.d/station-agent.conf'), 0o644);
    // The conffile. Owner and mode (root:station-agent 0640) come from dpkg-statoverride in postinst:
    // the group does not exist before the package is configured.
    install(join(PACKAGE_ROOT, 'config', 'example.yaml'), join(root, CONFIG_PATH.slice(1)), 0o644);

    const doc = join(root, DOC_DIR.slice(1));
    write(join(doc, 'copyright'), copyrightFile(runtime.pin.version, bundledModules(app), new Date(Number(epoch) * 1000).getUTCFullYear()));
    install(join(PACKAGE_ROOT, 'scripts', 'package', 'lintian-overrides'), join(root, 'usr/share/lintian/overrides/station-agent'), 0o644);
    write(join(doc, 'changelog.gz'), gzipSync(changelog(version, new Date(Number(epoch) * 1000)), { level: 9 }));
    write(join(doc, 'README.md.gz'), gzipSync(readFileSync(join(PACKAGE_ROOT, 'README.md')), { level: 9 }));
    write(join(doc, 'operations.md.gz'), gzipSync(readFileSync(join(PACKAGE_ROOT, 'docs', 'operations.md')), { level: 9 }));
    install(join(PACKAGE_ROOT, 'systemd', '99-station-agent-serial.rules.example'), join(doc, 'examples', '99-station-agent-serial.rules.example'), 0o644);
    for (const page of ['station-agent.1', 'stationctl.1']) {
      write(join(root, 'usr/share/man/man1', `${page}.gz`), gzipSync(readFileSync(join(PACKAGE_ROOT, 'scripts', 'package', 'man', page)), { level: 9 }));
    }

    const foreign = foreignBinaries(root, arch);
    if (foreign.length > 0) throw new Error(`binaries not built for ${arch}:\n  ${foreign.join('\n  ')}`);
    const overFloor = treeFloorViolations(root);
    if (overFloor.length > 0) throw new Error(`binaries above the glibc floor (docs/operations.md):\n${describeViolations(overFloor, (f) => f.slice(root.length))}`);
    const elves = walk(root).filter((f) => elfMachine(f) !== null);
    const depends = shlibDepends(work, elves, arch);

    const debian = join(root, 'DEBIAN');
    mkdirSync(debian);
    for (const script of ['postinst', 'prerm', 'postrm']) install(join(PACKAGE_ROOT, 'scripts', 'package', 'debian', script), join(debian, script), 0o755);
    write(join(debian, 'conffiles'), `${CONFIG_PATH}\n`);
    write(join(debian, 'md5sums'), md5sums(root));
    write(join(debian, 'control'), controlFile({ version, arch, installedSizeKb: installedSizeKb(root), depends, nodeVersion: runtime.pin.version }));
    // Directories as dpkg expects them whatever the umask of the build.
    execFileSync('find', [root, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);

    const deb = join(o.out, debFileName(version, arch, 'deb'));
    const tarball = join(o.out, debFileName(version, arch, 'tar.gz'));
    log(`dpkg-deb --build → ${deb}`);
    buildDeb(root, deb, epoch);
    buildTarball(root, tarball, epoch);

    let lintianWarnings: string[] = [];
    if (o.lint) {
      log('lintian');
      const l = lintian(deb);
      if (l.errors.length > 0) throw new Error(`lintian reports errors:\n${l.output}`);
      lintianWarnings = l.warnings;
      for (const w of l.warnings) log(`lintian: ${w}`);
    }
    const result: BuildResult = {
      deb,
      tarball,
      debBytes: statSync(deb).size,
      tarballBytes: statSync(tarball).size,
      depends,
      lintianWarnings,
      seconds: (Date.now() - started) / 1000,
      nativeCompiled: native.some((n) => !n.cached),
    };
    if (o.keepStage) {
      const stage = join(o.out, `stage-${version}-${arch}`);
      rmSync(stage, { recursive: true, force: true });
      cpSync(root, stage, { recursive: true, verbatimSymlinks: true });
      result.stage = stage;
    }
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function parseBuildArgs(argv: string[]): Omit<BuildOptions, 'log'> {
  const { values } = parseArgs({
    args: argv,
    options: {
      arch: { type: 'string' },
      version: { type: 'string' },
      out: { type: 'string' },
      cache: { type: 'string' },
      'no-lint': { type: 'boolean', default: false },
      'keep-stage': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const arch = values.arch as Arch | undefined;
  if (!arch || !ARCHES.includes(arch)) throw new Error(`--arch must be one of ${ARCHES.join(', ')}`);
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const out = resolve(values.out ?? DEFAULT_OUT);
  return {
    arch,
    version: checkVersion(values.version ?? process.env.STATION_AGENT_VERSION ?? pkg.version),
    out,
    cache: resolve(values.cache ?? join(DEFAULT_OUT, 'cache')),
    lint: !values['no-lint'],
    keepStage: values['keep-stage'],
  };
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseBuildArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`package: ${(err as Error).message}\nusage: npm run package -- --arch x64|arm64 [--version V] [--out DIR] [--cache DIR] [--no-lint] [--keep-stage]\n`);
    process.exit(2);
  }
  execFileSync('bash', [join(PACKAGE_ROOT, 'scripts', 'package', 'install-build-tools.sh')], { stdio: 'inherit' });
  const t0 = Date.now();
  const r = await buildPackage({ ...opts, log: (s) => process.stdout.write(`==> [${((Date.now() - t0) / 1000).toFixed(0)} s] ${s}\n`) });
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB (${n} bytes)`;
  process.stdout.write(
    `${r.deb}  ${mb(r.debBytes)}\n${r.tarball}  ${mb(r.tarballBytes)}\nDepends: ${r.depends}\n` +
      `lintian: no errors, ${r.lintianWarnings.length} warnings${opts.lint ? '' : ' (not run)'}\nbuilt in ${r.seconds.toFixed(0)} s\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  main().catch((err: unknown) => {
    process.stderr.write(`package: ${(err as Error).message ?? String(err)}\n`);
    process.exit(1);
  });
}
