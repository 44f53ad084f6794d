/**
 * A real PTY pair from socat, standing in for a USB-serial adapter with a device on the other end.
 * `a` is the agent's side, `b` the simulator's. unplug() kills socat (both links vanish and open ports see
 * a hangup, like pulling the adapter); replug() starts socat again on the same link paths.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './ports.js';

export class PtyPair {
  private proc: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly dir: string,
    readonly a: string,
    readonly b: string,
  ) {}

  /** Starts socat; fails (never skips) when socat is missing. */
  static async start(): Promise<PtyPair> {
    const dir = await mkdtemp(join(tmpdir(), 'pty-'));
    const pair = new PtyPair(dir, join(dir, 'agent'), join(dir, 'device'));
    await pair.replug();
    return pair;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

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
    await Promise.race([failed, waitFor(() => existsSync(this.a) && existsSync(this.b), 5000, 10)]).catch((err: Error) => {
      throw new Error(`${err.message}; socat said: ${this.stderr}`);
    });
  }

  /** Kills socat and waits until both links are gone. */
  async unplug(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    await exited;
    await waitFor(() => !existsSync(this.a) && !existsSync(this.b), 5000, 10);
  }

  async stop(): Promise<void> {
    await this.unplug();
    await rm(this.dir, { recursive: true, force: true });
  }
}
