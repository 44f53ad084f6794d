/**
 * Turning a staged tree into the .deb (dpkg-deb) and the .tar.gz, with Debian's own tools:
 * dpkg-shlibdeps for Depends, md5sums, and lintian.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { DEB_ARCH, type Arch } from './layout.js';
import { walk } from './files.js';
import { compareDotted, highestVersions } from './symbol-versions.js';

/**
 * Depends for the ELF files, as dpkg-shlibdeps computes them from the target's libraries (multiarch for
 * arm64). `work` holds the staged tree as debian/<pkg>/, where dpkg-shlibdeps expects it.
 * Its warnings are off: the addons' V8 and N-API symbols are resolved against the bundled node, not a library.
 */
export function shlibDepends(work: string, binaries: readonly string[], arch: Arch, pkg = 'station-agent'): string {
  writeFileSync(join(work, 'debian', 'control'), `Source: ${pkg}\n\nPackage: ${pkg}\nArchitecture: any\n`);
  try {
    const out = execFileSync('dpkg-shlibdeps', ['-O', '--warnings=0', ...binaries.map((b) => `-e${relative(work, b)}`)], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, DEB_HOST_ARCH: DEB_ARCH[arch] },
    });
    const m = /^shlibs:Depends=(.*)$/m.exec(out);
    if (!m?.[1]) throw new Error(`dpkg-shlibdeps gave no Depends: ${out}`);
    const glibc = binaries.map((b) => highestVersions(b).GLIBC).reduce<string | undefined>((a, v) => (v && (!a || compareDotted(v, a) > 0) ? v : a), undefined);
    return floorDepends(m[1].trim(), glibc);
  } finally {
    rmSync(join(work, 'debian', 'control'));
  }
}

/**
 * Depends as the oldest supported systems can satisfy them. dpkg-shlibdeps reads this machine's (Debian 12)
 * symbols files, where libpthread.so.0 and libdl.so.2 list no functions since glibc 2.34 moved them into
 * libc.so.6: a binary that needs pthread_create@GLIBC_2.2.5 from libpthread then gets libc6 (>= 2.34). The
 * symbol versions the files need are the true requirement (glibc provides every version up to its own),
 * so libc6's bound is the highest GLIBC_ version any file needs. libgcc-s1 was libgcc1 before Debian 11
 * (Debian 10, UOS 20): either satisfies the dependency.
 */
export function floorDepends(depends: string, highestGlibc: string | undefined): string {
  return depends
    .split(/,\s*/)
    .map((d) => {
      if (highestGlibc && /^libc6 \(>= [^)]+\)$/.test(d)) return `libc6 (>= ${highestGlibc})`;
      if (/^libgcc-s1\b/.test(d)) return `${d} | libgcc1`;
      return d;
    })
    .join(', ');
}

/** DEBIAN/md5sums: every file of the data tree, paths relative to /. */
export function md5sums(root: string): string {
  return walk(root)
    .map((f) => relative(root, f))
    .filter((r) => !r.startsWith('DEBIAN/'))
    .sort()
    .map((r) => `${createHash('md5').update(readFileSync(join(root, r))).digest('hex')}  ${r}`)
    .join('\n')
    .concat('\n');
}

/** Installed-Size in KiB, as dpkg-gencontrol counts it: each file rounded up to a KiB, one per directory. */
export function installedSizeKb(root: string): number {
  let kb = 0;
  for (const f of walk(root)) if (!relative(root, f).startsWith('DEBIAN/')) kb += Math.ceil(statSync(f).size / 1024);
  return kb;
}

export function buildDeb(root: string, file: string, sourceDateEpoch: string): void {
  // xz at dpkg's default level: -9 saves under 2 % on the Node binary for twice the time.
  execFileSync('dpkg-deb', [`--threads-max=${Math.max(1, cpus().length)}`, '--root-owner-group', '-Zxz', '--build', root, file], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SOURCE_DATE_EPOCH: sourceDateEpoch },
  });
}

/** The same tree as a tarball (without DEBIAN/), for systems without dpkg and for checks on the tree. */
export function buildTarball(root: string, file: string, sourceDateEpoch: string): void {
  execFileSync(
    'tar',
    ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${sourceDateEpoch}`, '--clamp-mtime', '--exclude=./DEBIAN', '-C', root, '-czf', file, '.'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

export interface LintianResult {
  errors: string[];
  warnings: string[];
  output: string;
}

export function lintian(deb: string): LintianResult {
  const r = spawnSync('lintian', ['--allow-root', '--no-tag-display-limit', deb], { encoding: 'utf8' });
  if (r.error) throw r.error;
  const output = `${r.stdout}${r.stderr}`;
  const lines = output.split('\n');
  return { errors: lines.filter((l) => l.startsWith('E: ')), warnings: lines.filter((l) => l.startsWith('W: ')), output };
}
