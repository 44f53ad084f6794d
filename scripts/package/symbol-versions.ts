/**
 * The glibc floor of the station package, checked like auditwheel checks manylinux_2_28 (PEP 600): every
 * ELF file may need symbol versions no newer than what the oldest supported system has (Kylin V10, UOS 20,
 * Debian 10: glibc 2.28; libstdc++ from GCC 5 on: GLIBCXX_3.4.21 / CXXABI_1.3.9). The versions are read
 * from the file's own version-needed section (.gnu.version_r, SHT_GNU_verneed), parsed here so the check
 * needs no binutils for the target and reads x86-64 and aarch64 files alike.
 */
import { readFileSync } from 'node:fs';
import { elfMachine, walk } from './files.js';

/** The highest version of each family a file may need; a family not listed here is not checked. */
export const FLOOR: Readonly<Record<string, string>> = {
  GLIBC: '2.28',
  GLIBCXX: '3.4.21',
  CXXABI: '1.3.9',
  // libgcc_s of GCC 7 (Kylin V10's compiler): GCC_7.0.0 is its newest version node.
  GCC: '7.0.0',
};

export interface NeededVersion {
  /** The library the version is needed from (vn_file), e.g. libc.so.6. */
  library: string;
  /** e.g. GLIBC_2.28 */
  version: string;
}

const SHT_GNU_VERNEED = 0x6ffffffe;

/**
 * Every (library, version) the ELF file in `buf` needs, in file order; empty for a file without a
 * version-needed section (static or no versioned imports). Throws on a file that is not 64-bit
 * little-endian ELF: the only kind the packages hold, so anything else is a finding, not a pass.
 */
export function neededVersions(buf: Buffer): NeededVersion[] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error(`not 64-bit little-endian ELF (class ${buf[4]}, data ${buf[5]})`);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    if (at + 64 > buf.length) throw new Error(`section header ${i} lies outside the file`);
    return {
      type: buf.readUInt32LE(at + 4),
      offset: Number(buf.readBigUInt64LE(at + 0x18)),
      size: Number(buf.readBigUInt64LE(at + 0x20)),
      link: buf.readUInt32LE(at + 0x28),
      info: buf.readUInt32LE(at + 0x2c),
    };
  };
  const out: NeededVersion[] = [];
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (s.type !== SHT_GNU_VERNEED) continue;
    const strtab = section(s.link);
    const str = (off: number) => {
      const start = strtab.offset + off;
      const end = buf.indexOf(0, start);
      if (off >= strtab.size || end < 0) throw new Error('version name outside the string table');
      return buf.toString('latin1', start, end);
    };
    // Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32.
    // Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
    let at = s.offset;
    for (let n = 0; n < s.info; n++) {
      const cnt = buf.readUInt16LE(at + 2);
      const library = str(buf.readUInt32LE(at + 4));
      let aux = at + buf.readUInt32LE(at + 8);
      for (let k = 0; k < cnt; k++) {
        out.push({ library, version: str(buf.readUInt32LE(aux + 8)) });
        aux += buf.readUInt32LE(aux + 12);
      }
      const next = buf.readUInt32LE(at + 12);
      if (next === 0) break;
      at += next;
    }
  }
  return out;
}

/** Dotted versions compared number by number: 2.9 < 2.28, 3.4.21 < 3.4.29. */
export function compareDotted(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `version` (e.g. GLIBC_2.34) is above the floor; GLIBC_PRIVATE is never allowed. */
export function aboveFloor(version: string, floor: Readonly<Record<string, string>> = FLOOR): boolean {
  if (version === 'GLIBC_PRIVATE') return true;
  const m = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(version);
  if (!m) return false;
  const limit = floor[m[1]!];
  return limit !== undefined && compareDotted(m[2]!, limit) > 0;
}

export interface FloorViolation extends NeededVersion {
  file: string;
}

/** Every needed version of `file` above the floor, naming the file. */
export function floorViolations(file: string, floor: Readonly<Record<string, string>> = FLOOR): FloorViolation[] {
  return neededVersions(readFileSync(file))
    .filter((v) => aboveFloor(v.version, floor))
    .map((v) => ({ file, ...v }));
}

/** The highest needed version of each family in `file`, e.g. { GLIBC: '2.34', GLIBCXX: '3.4.29' }. */
export function highestVersions(file: string): Record<string, string> {
  const top: Record<string, string> = {};
  for (const { version } of neededVersions(readFileSync(file))) {
    const m = /^([A-Z]+)_(\d+(?:\.\d+)*)$/.exec(version);
    if (!m) continue;
    const [, family, v] = m as unknown as [string, string, string];
    if (top[family] === undefined || compareDotted(v, top[family]) > 0) top[family] = v;
  }
  return top;
}

/** The violations of every ELF file under `dir` (symlinks not followed). */
export function treeFloorViolations(dir: string, floor: Readonly<Record<string, string>> = FLOOR): FloorViolation[] {
  return walk(dir)
    .filter((f) => elfMachine(f) !== null)
    .flatMap((f) => floorViolations(f, floor));
}

export function describeViolations(vs: readonly FloorViolation[], rel: (f: string) => string = (f) => f): string {
  return vs.map((v) => `${rel(v.file)} needs ${v.version} (from ${v.library})`).join('\n');
}
