/**
 * The .deb format stays readable by the oldest dpkg on a supported station PC (Debian 10, Kylin V10,
 * UOS 20: dpkg 1.19), part of npm test: members compressed with xz (dpkg ≥ 1.15.6; not zstd, which only
 * dpkg 1.21.18 reads), and control fields dpkg 1.19 knows, as the package build writes them.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDeb, floorDepends } from '../../scripts/package/deb.js';
import { controlFile } from '../../scripts/package/layout.js';

const work = mkdtempSync(join(tmpdir(), 'sa-deb-compat-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Binary package control fields dpkg 1.19 knows (deb-control(5) of 1.19.7). */
const DPKG_119_FIELDS = new Set([
  'Package', 'Package-Type', 'Version', 'Maintainer', 'Description', 'Section', 'Priority', 'Installed-Size',
  'Essential', 'Build-Essential', 'Architecture', 'Origin', 'Bugs', 'Homepage', 'Tag', 'Multi-Arch', 'Source',
  'Subarch', 'Kernel-Version', 'Installer-Menu-Item', 'Depends', 'Pre-Depends', 'Recommends', 'Suggests',
  'Breaks', 'Conflicts', 'Replaces', 'Enhances', 'Provides', 'Built-Using',
]);

const control = controlFile({ version: '1.2.3', arch: 'x64', installedSizeKb: 100, depends: 'libc6 (>= 2.28)', nodeVersion: '22.0.0' });

describe('the .deb for dpkg 1.19', () => {
  it('uses only control fields dpkg 1.19 knows', () => {
    const fields = control.split('\n').filter((l) => /^[A-Za-z]/.test(l)).map((l) => l.slice(0, l.indexOf(':')));
    expect(fields).toContain('Depends');
    expect(fields.filter((f) => !DPKG_119_FIELDS.has(f))).toEqual([]);
  });

  it('depends on the glibc the files need, not on the build machine\'s libpthread stub, and on libgcc1 where libgcc-s1 is not yet', () => {
    // What dpkg-shlibdeps says on Debian 12 for files that need at most GLIBC_2.28.
    expect(floorDepends('libc6 (>= 2.34), libgcc-s1 (>= 3.4), libstdc++6 (>= 5.2)', '2.28')).toBe('libc6 (>= 2.28), libgcc-s1 (>= 3.4) | libgcc1, libstdc++6 (>= 5.2)');
    expect(floorDepends('libc6 (>= 2.34)', undefined)).toBe('libc6 (>= 2.34)');
  });

  it('is built with xz-compressed control and data members', () => {
    const root = join(work, 'root');
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr', 'share', 'doc', 'x'), { recursive: true });
    writeFileSync(join(root, 'usr', 'share', 'doc', 'x', 'f'), 'x\n');
    writeFileSync(join(root, 'DEBIAN', 'control'), control.replace(/^Depends:.*\n/m, ''));
    const deb = join(work, 'x.deb');
    buildDeb(root, deb, '1700000000');
    expect(execFileSync('ar', ['t', deb], { encoding: 'utf8' }).trim().split('\n')).toEqual(['debian-binary', 'control.tar.xz', 'data.tar.xz']);
    expect(execFileSync('ar', ['p', deb, 'debian-binary'], { encoding: 'utf8' })).toBe('2.0\n');
  });
});
