/** The files of a staged package tree: writing them with the mode dpkg will install them with, walking them, telling ELF files. */
import { chmodSync, closeSync, copyFileSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export function install(src: string, dest: string, mode: number): void {
  mkdirSync(resolve(dest, '..'), { recursive: true });
  copyFileSync(src, dest);
  chmodSync(dest, mode);
}

export function write(dest: string, text: string | Buffer, mode = 0o644): void {
  mkdirSync(resolve(dest, '..'), { recursive: true });
  writeFileSync(dest, text);
  chmodSync(dest, mode);
}

/** The ELF e_machine of `file`, or null when it is not an ELF file. */
export function elfMachine(file: string): number | null {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(20);
    if (readSync(fd, head, 0, 20, 0) < 20) return null;
    if (head.readUInt32BE(0) !== 0x7f454c46) return null;
    return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** Every regular file under `dir` (symlinks are not followed). */
export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...walk(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}
