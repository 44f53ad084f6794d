/**
 * Running commands inside a Debian root (chroot in a private mount namespace, /proc mounted), long-running
 * processes, and a PJLink station for an agent to poll: for the package tests and the package measurements.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { waitFor } from '../lib/kit/wait.js';
import { spawnCaptured, type Captured } from '../lib/kit/process.js';

export { waitFor };

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a root's commands see: no variables leak in from this machine (NODE_OPTIONS, CA bundles, …). */
export const ROOT_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };

/**
 * `chroot root cmd…` in a private mount namespace with /proc mounted in the root: the mount disappears
 * with the command, so nothing is left mounted inside a folder a test removes.
 */
export function chrootArgs(root: string, cmd: readonly string[], user?: string): string[] {
  const chroot = ['chroot', ...(user ? [`--userspec=${user}:${user}`] : []), root, ...cmd];
  return ['--mount', '--fork', '--kill-child=SIGTERM', '--', 'sh', '-c', 'mount -t proc proc "$0/proc" && exec "$@"', root, ...chroot];
}

export function inRoot(root: string, cmd: readonly string[], opts: { user?: string; env?: Record<string, string>; input?: string } = {}): Run {
  const r = spawnSync('unshare', chrootArgs(root, cmd, opts.user), {
    env: { ...ROOT_ENV, ...opts.env },
    encoding: 'utf8',
    input: opts.input ?? '',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A shell line inside the root. */
export function sh(root: string, line: string, opts: { user?: string; env?: Record<string, string> } = {}): Run {
  return inRoot(root, ['/bin/sh', '-c', line], opts);
}

/** A spawned command with its output kept; `stop(pid)` signals `pid` instead when it is not the spawned one (an
 * agent inside a root under another user: unshare's --kill-child does not reach across the change). */
export interface Background extends Omit<Captured, 'stop'> {
  /** SIGTERM and waits for the exit. */
  stop(pid?: number): Promise<number | string>;
}

export function background(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Background {
  const c = spawnCaptured(command, args, env);
  return { ...c, stop: (pid?: number) => c.stop('SIGTERM', pid) };
}

/** A long-running command inside the root (the agent, as its unit would run it). */
export function backgroundInRoot(root: string, cmd: readonly string[], user?: string): Background {
  return background('unshare', chrootArgs(root, cmd, user), { ...ROOT_ENV });
}

/**
 * The project's PJLink simulator on a free 127.0.0.1 port, and `dir`/config.yaml for an agent polling it
 * every 2 s (data and control socket in `dir`, no county).
 */
export async function pjlinkStation(dir: string, stationId: string, env: NodeJS.ProcessEnv): Promise<{ sim: Background; config: string }> {
  const sim = background(process.execPath, [join(PACKAGE_ROOT, 'dist', 'scripts', 'sim.js'), 'pjlink', '--port', '0', '--warmup-ms', '1000', '--cooldown-ms', '1000'], env);
  try {
    const port = await waitFor('the PJLink simulator', () => /127\.0\.0\.1:(\d+)/.exec(sim.output())?.[1], 15_000, 50);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      stringify({
        station: { id: stationId, name: `${stationId} 测试站点` },
        data_dir: join(dir, 'data'),
        control: { socket: join(dir, 'ctl.sock') },
        log: { level: 'warn' },
        devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: Number(port), poll_s: 2 }],
      }),
    );
    return { sim, config };
  } catch (err) {
    await sim.stop();
    throw err;
  }
}
