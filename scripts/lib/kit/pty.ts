/**
 * A real PTY pair from socat, standing in for a USB-serial adapter with a device on the other end.
 * `a` is the agent's side, `b` the device's (simulator's). unplug() kills socat: both links vanish and
 * open ports see a hangup, like pulling the adapter; replug() starts socat again on the same link paths
 * (with new pts numbers behind them). A missing socat is a hard failure, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { terminate } from './process.js';
import { removeDir, tempDir } from './temp.js';
import { waitFor } from './wait.js';

/** The link itself, dangling or not (existsSync follows it to the pts). */
function linkExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export interface PtyPairOptions {
  /**
   * Folder for the two links (e.g. the bench's scenario folder, so several pairs sit side by side); it
   * is not removed by stop(). Default: a fresh temp folder of the pair's own, removed by stop().
   */
  dir?: string;
  /** Link names: `<name>` (agent side) and `<name>-device`. Default `agent` / `device`. */
  name?: string;
}

export class PtyPair {
  private proc: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly dir: string,
    private readonly ownsDir: boolean,
    /** The agent's end: configure this path as the device's `serial.path`. */
    readonly a: string,
    /** The device's end: the simulator opens this one. */
    readonly b: string,
  ) {}

  static async start(options: PtyPairOptions = {}): Promise<PtyPair> {
    const dir = options.dir ?? tempDir('pty-');
    const name = options.name ?? 'agent';
    const pair = new PtyPair(dir, options.dir === undefined, join(dir, name), join(dir, name === 'agent' ? 'device' : `${name}-device`));
    try {
      await pair.replug();
    } catch (err) {
      if (pair.ownsDir) removeDir(dir);
      throw err;
    }
    return pair;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts socat (again) and waits until both links exist; nothing when it runs. */
  async replug(): Promise<void> {
    if (this.running) return;
    this.stderr = '';
    const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += d.toString();
    });
    const failed = new Promise<never>((_, reject) => {
      proc.once('error', (err) => reject(new Error(`socat failed to start: ${err.message} (is socat installed?)`)));
    });
    await Promise.race([failed, waitFor('the socat PTY links', () => existsSync(this.a) && existsSync(this.b), 5000, 10)]).catch((err: Error) => {
      proc.kill('SIGKILL');
      throw new Error(`${err.message}; socat said: ${this.stderr}`);
    });
  }

  /** Kills socat (SIGTERM, SIGKILL after 2 s) and waits until both links are gone. */
  async unplug(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    await terminate(proc, 2000);
    // socat removes its links on SIGTERM; after a SIGKILL they stay, dangling: remove them ourselves.
    await waitFor('the socat PTY links to go', () => !linkExists(this.a) && !linkExists(this.b), 2000, 10).catch(() => {
      removeDir(this.a);
      removeDir(this.b);
    });
  }

  /** Unplugs, and removes the folder when the pair made it. */
  async stop(): Promise<void> {
    await this.unplug();
    if (this.ownsDir) removeDir(this.dir);
  }
}
