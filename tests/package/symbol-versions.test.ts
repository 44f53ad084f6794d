/**
 * The glibc floor checker (scripts/package/symbol-versions.ts) on real ELF files (part of npm test):
 * tiny shared objects compiled here with gcc that need a known symbol version, checked against what
 * binutils' readelf reads from the same files and from this system's own libraries; and, when the
 * package build has compiled addons into its cache, those addons against the floor.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { aboveFloor, compareDotted, floorViolations, highestVersions, neededVersions, treeFloorViolations } from '../../scripts/package/symbol-versions.js';
import { CACHE } from './helpers.js';
import { addonCacheDirs } from '../../scripts/package/native.js';

const work = mkdtempSync(join(tmpdir(), 'sa-symver-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A shared object compiled from `source` with `compiler`; its path. */
function so(name: string, source: string, compiler = 'gcc', extra: string[] = []): string {
  const ext = compiler.endsWith('++') ? 'cc' : 'c';
  const src = join(work, `${name}.${ext}`);
  const out = join(work, `${name}.so`);
  writeFileSync(src, source);
  execFileSync(compiler, ['-shared', '-fPIC', '-O1', '-o', out, src, ...extra]);
  return out;
}

/** (library, version) pairs as binutils reads them: readelf -V's version-needed section. */
function readelfNeeded(file: string): string[] {
  const text = execFileSync('readelf', ['-V', '-W', file], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  const section = text.split(/Version needs section/)[1] ?? '';
  const out: string[] = [];
  let lib = '';
  for (const line of section.split('\n')) {
    const file = /File: (\S+)/.exec(line);
    if (file) lib = file[1]!;
    const name = /Name: (\S+)\s+Flags/.exec(line);
    if (name) out.push(`${lib} ${name[1]}`);
  }
  return out.sort();
}

const pairs = (file: string) => neededVersions(readFileSync(file)).map((v) => `${v.library} ${v.version}`).sort();

// pthread_create moved into libc in glibc 2.34; this machine's glibc (2.36) gives it that version.
const PTHREAD = '#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint start(pthread_t *t) { return pthread_create(t, 0, f, 0); }\n';
// The same call pinned to the version glibc has had since x86-64's first release.
const PINNED = `__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");\n${PTHREAD}`;
// log() got a new version (GLIBC_2.29) when glibc rewrote it.
const LOG = '#include <math.h>\ndouble lg(double x) { return log(x); }\n';
// std::string's C++11 ABI and its GCC 12 members: GLIBCXX_3.4.21 and newer.
const CXX = '#include <string>\n#include <stdexcept>\nstd::string cat(const std::string &a) { if (a.empty()) throw std::runtime_error("e"); return a + a; }\n';

describe('the glibc floor checker on ELF files compiled here', () => {
  it('finds GLIBC_2.34 in an object that calls pthread_create, and names the file and the library', () => {
    const f = so('pthread', PTHREAD);
    expect(neededVersions(readFileSync(f))).toContainEqual({ library: 'libc.so.6', version: 'GLIBC_2.34' });
    expect(floorViolations(f)).toContainEqual({ file: f, library: 'libc.so.6', version: 'GLIBC_2.34' });
    expect(highestVersions(f).GLIBC).toBe('2.34');
  });

  it('passes the same call pinned to GLIBC_2.2.5', () => {
    const f = so('pinned', PINNED);
    expect(pairs(f)).toContain('libc.so.6 GLIBC_2.2.5');
    expect(floorViolations(f)).toEqual([]);
  });

  it('finds GLIBC_2.29 from libm (log)', () => {
    const f = so('log', LOG, 'gcc', ['-lm']);
    expect(floorViolations(f).map((v) => `${v.library} ${v.version}`)).toContain('libm.so.6 GLIBC_2.29');
  });

  it('finds GLIBCXX above 3.4.21 in a C++ object linked to this GCC\'s libstdc++, and none with it linked in statically', () => {
    const dynamic = so('cxx', CXX, 'g++');
    expect(compareDotted(highestVersions(dynamic).GLIBCXX!, '3.4.21')).toBeGreaterThanOrEqual(0);
    expect(pairs(dynamic).some((p) => p.startsWith('libstdc++.so.6 GLIBCXX_'))).toBe(true);
    const statik = so('cxx-static', CXX, 'g++', ['-static-libstdc++', '-static-libgcc']);
    expect(pairs(statik).filter((p) => /GLIBCXX|CXXABI/.test(p))).toEqual([]);
  });

  it('reads an aarch64 object like an x86-64 one (cross-compiled here)', () => {
    const f = so('pthread-arm64', PTHREAD, 'aarch64-linux-gnu-gcc');
    expect(readFileSync(f).readUInt16LE(18)).toBe(183);
    expect(floorViolations(f).map((v) => v.version)).toContain('GLIBC_2.34');
    expect(pairs(f)).toEqual(readelfNeeded(f));
  });

  it('reads exactly what readelf reads, on these objects and on the system\'s own libraries', () => {
    const files = [so('pthread2', PTHREAD), so('cxx2', CXX, 'g++'), process.execPath];
    for (const lib of ['libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1']) {
      const p = join('/usr/lib/x86_64-linux-gnu', lib);
      if (existsSync(p)) files.push(p);
    }
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) {
      expect(pairs(f), f).toEqual(readelfNeeded(f));
      expect(pairs(f).length, f).toBeGreaterThan(0);
    }
  });

  it('compares versions by number, and allows no GLIBC_PRIVATE', () => {
    expect(aboveFloor('GLIBC_2.28')).toBe(false);
    expect(aboveFloor('GLIBC_2.3.4')).toBe(false);
    expect(aboveFloor('GLIBC_2.29')).toBe(true);
    expect(aboveFloor('GLIBCXX_3.4.21')).toBe(false);
    expect(aboveFloor('GLIBCXX_3.4.22')).toBe(true);
    expect(aboveFloor('CXXABI_1.3.9')).toBe(false);
    expect(aboveFloor('CXXABI_1.3.10')).toBe(true);
    expect(aboveFloor('GLIBC_PRIVATE')).toBe(true);
    expect(aboveFloor('V8_1.0')).toBe(false);
  });

  it('walks a tree and reports only its ELF files above the floor', () => {
    const tree = mkdtempSync(join(work, 'tree-'));
    writeFileSync(join(tree, 'readme.txt'), 'not ELF');
    execFileSync('cp', [so('pthread3', PTHREAD), so('pinned3', PINNED), tree]);
    expect(treeFloorViolations(tree).map((v) => v.file.slice(tree.length + 1))).toEqual(['pthread3.so']);
  });

  it('refuses a file that is not 64-bit little-endian ELF', () => {
    expect(() => neededVersions(Buffer.from('#!/bin/sh\n'.padEnd(80)))).toThrow(/not an ELF/);
    const big = Buffer.alloc(64);
    big.writeUInt32BE(0x7f454c46, 0);
    big[4] = 2;
    big[5] = 2;
    expect(() => neededVersions(big)).toThrow(/little-endian/);
  });
});

describe('addons the package build compiled (out/cache/native), when there are any', () => {
  it('need nothing newer than the floor', () => {
    const addons = addonCacheDirs(CACHE).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.node')).map((f) => join(d, f)));
    expect(addons.flatMap((a) => floorViolations(a))).toEqual([]);
  });
});
