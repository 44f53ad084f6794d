/**
 * Native modules for the target: better-sqlite3 and unix-dgram compiled with node-gyp against the
 * bundled Node's headers (its include/node). better-sqlite3 with Zig for glibc 2.28 (zig-toolchain.ts: this
 * machine's glibc 2.36 would make it need GLIBC_2.34), unix-dgram with gcc (Debian's cross compilers for
 * arm64: it needs only GLIBC_2.2.5/2.17). Each addon built is checked against the glibc floor
 * (symbol-versions.ts) before it enters the cache; serialport keeps
 * only the prebuild for the target that @serialport/bindings-cpp ships. Every ELF file in the tree is then
 * checked to be for the target machine, so a host binary can never slip into an arm64 package.
 */
import { elfMachine, walk } from './files.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { CROSS_PREFIX, ELF_MACHINE, NATIVE_MODULES, type Arch } from './layout.js';
import { describeViolations, floorViolations } from './symbol-versions.js';
import { GLIBC_TARGET, zigToolchain } from './zig-toolchain.js';

/** Addons built with Zig for the glibc floor; the others with gcc, which already stays under it for them. */
const ZIG_BUILT: ReadonlySet<string> = new Set(['better-sqlite3']);
/** In the cache key: an addon cached by an earlier route (built against this machine's glibc) is not reused. */
const CACHE_TAG = `glibc${GLIBC_TARGET}-stat`;

/** The cache folders of addons built for the floor (one per module, version, Node version and arch). */
export function addonCacheDirs(cacheDir: string): string[] {
  const native = join(cacheDir, 'native');
  if (!existsSync(native)) return [];
  return readdirSync(native)
    .filter((n) => n.endsWith(`-${CACHE_TAG}`))
    .map((n) => join(native, n));
}

/** node-gyp as npm itself runs it for `npm rebuild`: the copy bundled with the npm that runs this build. */
export function nodeGypScript(): string {
  const candidates: string[] = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    const root = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    candidates.push(join(root, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {
    /* npm not on PATH: only npm_execpath can tell */
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`node-gyp not found (looked in ${candidates.join(', ') || 'no npm installation'})`);
  return found;
}

/** ELF files under `dir` that are not for `arch`; empty when the tree is clean. */
export function foreignBinaries(dir: string, arch: Arch): string[] {
  return walk(dir).filter((f) => {
    const m = elfMachine(f);
    return m !== null && m !== ELF_MACHINE[arch];
  });
}

export function stripBinary(file: string, arch: Arch): void {
  execFileSync(`${CROSS_PREFIX[arch] ?? ''}strip`, ['--strip-unneeded', '--remove-section=.comment', file]);
}

export interface NativeBuild {
  name: string;
  version: string;
  cached: boolean;
}

/**
 * Compiles each of NATIVE_MODULES in `appDir/node_modules` for `arch` (or takes the addon from
 * `cacheDir/native/` when this module version was already built for this Node and arch), leaving only
 * build/Release/<addon> and the JavaScript behind.
 */
export function buildNativeModules(
  appDir: string,
  arch: Arch,
  runtimeDir: string,
  nodeVersion: string,
  cacheDir: string,
  log: (s: string) => void,
): NativeBuild[] {
  const results: NativeBuild[] = [];
  for (const mod of NATIVE_MODULES) {
    const dir = join(appDir, 'node_modules', mod.name);
    // A product whose code does not need this module (the county: unix-dgram) has none to build.
    if (!existsSync(dir)) continue;
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    const cached = join(cacheDir, 'native', `${mod.name}-${version}-node${nodeVersion}-linux-${arch}-${CACHE_TAG}`, mod.addon);
    const hit = existsSync(cached) && elfMachine(cached) === ELF_MACHINE[arch];
    if (!hit) {
      const zig = ZIG_BUILT.has(mod.name);
      log(`compiling ${mod.name} ${version} for linux-${arch} against Node ${nodeVersion}'s headers with ${zig ? `Zig for glibc ${GLIBC_TARGET}` : 'gcc'}`);
      const started = Date.now();
      const cross = CROSS_PREFIX[arch];
      const env: NodeJS.ProcessEnv = { ...process.env };
      // npm run passes npm_config_* on; none of them may point node-gyp at other headers or a download.
      for (const k of Object.keys(env)) if (k.toLowerCase().startsWith('npm_config_')) delete env[k];
      if (zig) Object.assign(env, zigToolchain(cacheDir, arch, log).env, cross ? { AR: `${cross}ar` } : {});
      else if (cross) Object.assign(env, { CC: `${cross}gcc`, CXX: `${cross}g++`, LINK: `${cross}g++`, AR: `${cross}ar` });
      // The compiler's warnings about third-party code are noise here; the whole log is shown on failure.
      const r = spawnSync(
        process.execPath,
        [nodeGypScript(), 'rebuild', '--release', `--nodedir=${runtimeDir}`, `--arch=${arch}`, '--jobs', String(Math.max(1, cpus().length))],
        { cwd: dir, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      if (r.status !== 0) throw new Error(`node-gyp rebuild of ${mod.name} for ${arch} failed:\n${(r.stdout + r.stderr).slice(-8000)}`);
      const built = join(dir, 'build', 'Release', mod.addon);
      if (elfMachine(built) !== ELF_MACHINE[arch]) throw new Error(`${mod.name}: ${built} was not built for ${arch}`);
      stripBinary(built, arch);
      const over = floorViolations(built);
      if (over.length > 0) throw new Error(`${mod.name} for ${arch} needs more than the glibc floor:\n${describeViolations(over)}`);
      log(`${mod.name} for linux-${arch} compiled in ${((Date.now() - started) / 1000).toFixed(0)} s`);
      mkdirSync(dirname(cached), { recursive: true });
      // Atomic: a build running beside this one never takes a half-written addon from the cache.
      copyFileSync(built, `${cached}.${process.pid}.tmp`);
      renameSync(`${cached}.${process.pid}.tmp`, cached);
    }
    rmSync(join(dir, 'build'), { recursive: true, force: true });
    mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
    copyFileSync(cached, join(dir, 'build', 'Release', mod.addon));
    chmodSync(join(dir, 'build', 'Release', mod.addon), 0o644);
    // Sources (better-sqlite3's deps/ is the whole SQLite amalgamation) are not needed at run time.
    for (const src of ['deps', 'src', 'binding.gyp']) rmSync(join(dir, src), { recursive: true, force: true });
    results.push({ name: mod.name, version, cached: hit });
  }
  return results;
}

/** @serialport/bindings-cpp: keep only the target's glibc prebuild (N-API, so any Node version loads it). */
export function keepSerialportPrebuild(appDir: string, arch: Arch): string {
  const pkg = join(appDir, 'node_modules', '@serialport', 'bindings-cpp');
  const prebuilds = join(pkg, 'prebuilds');
  const mine = `linux-${arch}`;
  for (const name of readdirSync(prebuilds)) if (name !== mine) rmSync(join(prebuilds, name), { recursive: true, force: true });
  const kept = readdirSync(join(prebuilds, mine)).filter((f) => f.endsWith('.node'));
  for (const f of kept) if (!f.includes('.glibc.')) rmSync(join(prebuilds, mine, f));
  const glibc = kept.find((f) => f.includes('.glibc.'));
  if (!glibc) throw new Error(`@serialport/bindings-cpp ships no glibc prebuild for ${mine}`);
  for (const src of ['src', 'binding.gyp', 'build']) rmSync(join(pkg, src), { recursive: true, force: true });
  return join(prebuilds, mine, glibc);
}
