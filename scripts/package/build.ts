/**
 * `npm run package -- --arch x64|arm64 [--product station|county] [--version V] [--out DIR] [--cache DIR] [--no-lint] [--keep-stage]`
 * writes out/station-agent_<version>_<amd64|arm64>.deb and .tar.gz of the same tree: the bundled Node 22,
 * the built agent, exactly the npm packages its code needs at run time (closure.ts) with native modules
 * built for the target, the systemd files, and station-agent / stationctl on PATH. With --product county,
 * out/station-county_<version>_<arch>.deb and .tar.gz: the collector, console and county-pki
 * (county-package.ts). Runs on Debian 12 amd64 as root (docs/operations.md).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { importedPackages, moduleClosure, pruneModules, type ModuleEntry } from './closure.js';
import { COUNTY_APP_DIR, COUNTY_CONFIG_PATH, COUNTY_DIST_DIRS, COUNTY_PACKAGE, countyControlFile, countyDebFileName, stageCountyApp } from './county-layout.js';
import { stageCountyFiles } from './county-package.js';
import { buildDeb, buildTarball, installedSizeKb, lintian, md5sums, shlibDepends } from './deb.js';
import { elfMachine, install, walk, write } from './files.js';
import { APP_DIR, APP_DIST_DIRS, ARCHES, CONFIG_PATH, PACKAGE_NAME, checkVersion, controlFile, debFileName, stageApp, type Arch } from './layout.js';
import { describeViolations, treeFloorViolations } from './symbol-versions.js';
import { buildNativeModules, foreignBinaries, keepSerialportPrebuild, stripBinary } from './native.js';
import { fetchRuntime } from './runtime.js';
import { stageStationFiles } from './station-package.js';

export const DEFAULT_OUT = join(PACKAGE_ROOT, 'out');

export type Product = 'station' | 'county';
export const PRODUCTS: readonly Product[] = ['station', 'county'];

export interface BuildOptions {
  product: Product;
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
  /** The npm packages in node_modules: the run-time closure of the product's code. */
  modules: ModuleEntry[];
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

/**
 * Production dependencies exactly as package-lock.json pins them, without running any install script: the
 * whole workspace's (both products'); keepClosure then keeps what this product's code needs.
 */
function installDependencies(work: string, appDir: string, log: (s: string) => void): void {
  const deps = join(work, 'deps');
  mkdirSync(deps);
  copyFileSync(join(PACKAGE_ROOT, 'package.json'), join(deps, 'package.json'));
  copyFileSync(join(PACKAGE_ROOT, 'package-lock.json'), join(deps, 'package-lock.json'));
  // The workspaces' package.json too: without them npm ci installs none of their dependencies (pg).
  const { workspaces = [] } = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { workspaces?: string[] };
  for (const ws of workspaces) {
    mkdirSync(join(deps, ws), { recursive: true });
    copyFileSync(join(PACKAGE_ROOT, ws, 'package.json'), join(deps, ws, 'package.json'));
  }
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
  for (const bundle of BROWSER_BUNDLES) rmSync(join(modules, bundle), { recursive: true, force: true });
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
/**
 * Browser builds inside packages Node loads by their `main`: ExcelJS's dist/ (21 MB of bundles and maps;
 * `main` is excel.js → lib/). The county package's closure test writes an .xlsx from the staged app.
 */
const BROWSER_BUNDLES = ['exceljs/dist'];
const DEV_ONLY = /^(?!(licen[cs]e|copying|notice|authors)\b).*\.(d\.[cm]?ts|ts|map|md|markdown|html)$/i;
const JUNK = new Set(['.gitignore', '.npmignore', '.gitattributes', '.travis.yml', '.editorconfig', '.eslintrc', '.eslintrc.json', '.eslintrc.js', '.eslintrc.cjs', '.eslintrc.yml', '.eslintrc.yaml', '.prettierrc']);

/**
 * Keeps in node_modules exactly the run-time closure of the code in `distDirs` and deletes the rest: the
 * other product's modules and the workspace links (the workspaces' code is staged as dist/<name>).
 */
function keepClosure(appDir: string, distDirs: readonly string[], log: (s: string) => void): ModuleEntry[] {
  const imported = importedPackages(distDirs.map((d) => join(appDir, 'dist', d)));
  const closure = moduleClosure(appDir, imported, new Set(['@station-agent/protocol', '@station-agent/county']));
  const deleted = pruneModules(appDir, closure);
  log(`node_modules: ${closure.length} packages (the run-time closure of dist/{${distDirs.join(',')}}); ${deleted.length} others removed`);
  return closure;
}

export async function buildPackage(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const { arch, version, log } = o;
  const station = o.product === 'station';
  const mains = station ? ['agent/main.js', 'agent/cli/stationctl.js'] : ['county/collector.js', 'county/console.js'];
  for (const f of mains) {
    if (!existsSync(join(PACKAGE_ROOT, 'dist', f))) throw new Error(`dist/${f} is missing: run npm run build first`);
  }
  mkdirSync(o.out, { recursive: true });
  const runtime = await fetchRuntime(arch, o.cache, log);
  const epoch = sourceDateEpoch();
  const work = mkdtempSync(join(o.out, `.stage-${o.product}-${arch}-`));
  const pkgName = station ? PACKAGE_NAME : COUNTY_PACKAGE;
  const fileName = (ext: 'deb' | 'tar.gz') => (station ? debFileName(version, arch, ext) : countyDebFileName(version, arch, ext));
  try {
    const root = join(work, 'debian', pkgName);
    const app = join(root, (station ? APP_DIR : COUNTY_APP_DIR).slice(1));
    log(`staging ${fileName('deb')} in ${root}`);
    if (station) stageApp(PACKAGE_ROOT, app, version);
    else stageCountyApp(PACKAGE_ROOT, app, version);
    installDependencies(work, app, log);
    const modules = keepClosure(app, station ? APP_DIST_DIRS : COUNTY_DIST_DIRS, log);
    const native = buildNativeModules(app, arch, runtime.dir, runtime.pin.version, o.cache, log);
    for (const n of native) log(`${n.name} ${n.version}: ${n.cached ? 'from the build cache' : 'compiled'}`);
    if (station) {
      const serialport = keepSerialportPrebuild(app, arch);
      log(`serialport binding: ${serialport.slice(app.length + 1)}`);
    }

    const node = join(app, 'node', 'bin', 'node');
    install(join(runtime.dir, 'bin', 'node'), node, 0o755);
    stripBinary(node, arch);
    install(join(runtime.dir, 'LICENSE'), join(app, 'node', 'LICENSE'), 0o644);
    const date = new Date(Number(epoch) * 1000);
    if (station) stageStationFiles(root, version, runtime.pin.version, modules, date);
    else stageCountyFiles(root, version, runtime.pin.version, modules, date);

    const foreign = foreignBinaries(root, arch);
    if (foreign.length > 0) throw new Error(`binaries not built for ${arch}:\n  ${foreign.join('\n  ')}`);
    const overFloor = treeFloorViolations(root);
    if (overFloor.length > 0) throw new Error(`binaries above the glibc floor (docs/operations.md):\n${describeViolations(overFloor, (f) => f.slice(root.length))}`);
    const elves = walk(root).filter((f) => elfMachine(f) !== null);
    const depends = shlibDepends(work, elves, arch, pkgName);

    const debian = join(root, 'DEBIAN');
    mkdirSync(debian);
    const scripts = join(PACKAGE_ROOT, 'scripts', 'package', station ? 'debian' : 'county-debian');
    for (const script of ['postinst', 'prerm', 'postrm']) install(join(scripts, script), join(debian, script), 0o755);
    write(join(debian, 'conffiles'), `${station ? CONFIG_PATH : COUNTY_CONFIG_PATH}\n`);
    write(join(debian, 'md5sums'), md5sums(root));
    const fields = { version, arch, installedSizeKb: installedSizeKb(root), depends, nodeVersion: runtime.pin.version };
    write(join(debian, 'control'), station ? controlFile(fields) : countyControlFile(fields));
    // Directories as dpkg expects them whatever the umask of the build.
    execFileSync('find', [root, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+']);

    const deb = join(o.out, fileName('deb'));
    const tarball = join(o.out, fileName('tar.gz'));
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
      modules,
    };
    if (o.keepStage) {
      const stage = join(o.out, `stage-${station ? '' : 'county-'}${version}-${arch}`);
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
      product: { type: 'string', default: 'station' },
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
  const product = values.product as Product;
  if (!PRODUCTS.includes(product)) throw new Error(`--product must be one of ${PRODUCTS.join(', ')}`);
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  const out = resolve(values.out ?? DEFAULT_OUT);
  return {
    product,
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
    process.stderr.write(`package: ${(err as Error).message}\nusage: npm run package -- --arch x64|arm64 [--product station|county] [--version V] [--out DIR] [--cache DIR] [--no-lint] [--keep-stage]\n`);
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
