/**
 * The bundled Node runtime: the official build the npm registry carries as node-linux-<arch>, fetched
 * with `npm pack` (the registry, through npm's own client and cache, and nowhere else) and refused unless
 * its sha512 is the one checked in (scripts/package/node-runtime.json).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { PACKAGE_ROOT } from '../../agent/version.js';
import type { Arch } from './layout.js';

export interface RuntimePin {
  version: string;
  name: string;
  integrity: string;
}

export const PINS_FILE = join(PACKAGE_ROOT, 'scripts', 'package', 'node-runtime.json');

export function runtimePin(arch: Arch, file = PINS_FILE): RuntimePin {
  const pins = JSON.parse(readFileSync(file, 'utf8')) as { version: string; packages: Record<string, { name: string; integrity: string }> };
  const p = pins.packages[arch];
  if (!p) throw new Error(`${file}: no Node runtime pinned for ${arch}`);
  if (!/^22\.\d+\.\d+$/.test(pins.version)) throw new Error(`${file}: version ${pins.version} is not a Node 22 release`);
  if (!/^sha512-[A-Za-z0-9+/]{86}==$/.test(p.integrity)) throw new Error(`${file}: ${p.name} has no sha512 integrity`);
  return { version: pins.version, name: p.name, integrity: p.integrity };
}

/** The file's Subresource Integrity string (sha512-<base64>), as npm's lockfile and `npm view` give it. */
export async function integrityOf(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

/**
 * Returns the folder of the unpacked runtime (bin/node, include/node, LICENSE), fetching the tarball
 * into `cacheDir` when it is not there yet. Any tarball, cached or fresh, is checked against the pin.
 */
export async function fetchRuntime(arch: Arch, cacheDir: string, log: (s: string) => void): Promise<{ dir: string; pin: RuntimePin }> {
  const pin = runtimePin(arch);
  const base = `${pin.name}-${pin.version}`;
  const dir = join(cacheDir, base);
  const tgz = join(cacheDir, `${base}.tgz`);
  const stamp = join(dir, '.integrity');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === pin.integrity) return { dir, pin };

  mkdirSync(cacheDir, { recursive: true });
  if (!existsSync(tgz)) {
    log(`fetching ${pin.name}@${pin.version} from the npm registry (npm pack)`);
    execFileSync('npm', ['pack', `${pin.name}@${pin.version}`, '--pack-destination', cacheDir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const got = await integrityOf(tgz);
  if (got !== pin.integrity) {
    rmSync(tgz, { force: true });
    throw new Error(`${pin.name}@${pin.version}: tarball integrity ${got} is not the pinned ${pin.integrity}; refusing it`);
  }
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['-xzf', tgz, '-C', tmp, '--strip-components=1', 'package/bin/node', 'package/include/node', 'package/LICENSE']);
  writeFileSync(join(tmp, '.integrity'), pin.integrity);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, pin };
}
