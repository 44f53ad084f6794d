/** Writing files into a staged package tree with the mode dpkg will install them with. */
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

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
