/**
 * Minbase roots of an older Debian release than this machine's, amd64 or arm64: the oldest userland the
 * mirror serves (bullseye: glibc 2.31, systemd 247, dpkg 1.20) is where the package tests install the
 * station .debs, so a binary that needs a newer glibc fails there as it would on a station PC. The arm64
 * root is a real arm64 userland: `debootstrap --foreign`, then the second stage run under
 * qemu-aarch64-static through binfmt_misc. Kept as tarballs in the build cache like debian-root.ts's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debianMirror, hostSources, hostSuite } from './debian-root.js';

export type RootArch = 'amd64' | 'arm64';

const BINFMT = '/proc/sys/fs/binfmt_misc';
const QEMU = '/usr/bin/qemu-aarch64-static';

/**
 * Lets the kernel run aarch64 programs through qemu-aarch64-static (what the qemu-user-static package's
 * binfmt.d file asks systemd-binfmt to do, which does not run on a machine without systemd as init). The
 * F flag opens the interpreter now, so it also works inside a chroot that has no qemu of its own.
 */
export function ensureArm64Binfmt(): void {
  if (!existsSync(join(BINFMT, 'register'))) execFileSync('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
  if (existsSync(join(BINFMT, 'qemu-aarch64'))) {
    if (readFileSync(join(BINFMT, 'qemu-aarch64'), 'utf8').startsWith('enabled')) return;
    writeFileSync(join(BINFMT, 'qemu-aarch64'), '1');
    return;
  }
  const magic = '\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00';
  const mask = '\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff';
  writeFileSync(join(BINFMT, 'register'), `:qemu-aarch64:M::${magic}:${mask}:${QEMU}:F`);
}

/**
 * The tarball of a `debootstrap --variant=minbase` root of `suite` for `arch`, made when missing; the amd64
 * one also holds systemd.
 */
export function releaseRootTarball(cacheDir: string, suite: string, arch: RootArch, log: (s: string) => void): string {
  const tarball = join(cacheDir, `debian-${suite}-minbase-${arch === 'amd64' ? 'systemd-' : ''}${arch}.tar`);
  if (existsSync(tarball)) return tarball;
  // The mirror this machine's apt uses for its own release serves the older ones under the same address.
  const mirror = debianMirror(hostSources(), hostSuite());
  const dir = join(cacheDir, `debian-${suite}-${arch}.${process.pid}.tmp`);
  const tmpTar = `${tarball}.${process.pid}.tmp`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(cacheDir, { recursive: true });
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'] as ['ignore', 'ignore', 'inherit'] };
  try {
    if (arch === 'amd64') {
      // With the release's systemd (not running: a chroot), so its systemd-analyze can verify the unit.
      log(`debootstrap --variant=minbase --include=systemd ${suite} (amd64) from ${mirror}`);
      execFileSync('debootstrap', ['--variant=minbase', '--include=systemd', suite, dir, mirror], quiet);
    } else {
      log(`debootstrap --foreign --arch=arm64 --variant=minbase ${suite} from ${mirror}, second stage under qemu`);
      ensureArm64Binfmt();
      execFileSync('debootstrap', ['--foreign', '--arch=arm64', '--variant=minbase', suite, dir, mirror], quiet);
      execFileSync('chroot', [dir, '/debootstrap/debootstrap', '--second-stage'], { ...quiet, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' } });
    }
    execFileSync('tar', ['--numeric-owner', '-C', dir, '-cf', tmpTar, '.']);
    renameSync(tmpTar, tarball);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmpTar, { force: true });
  }
  return tarball;
}
