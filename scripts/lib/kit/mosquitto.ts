/**
 * A real mosquitto for the integration tests and the bench: generated config in its own temp folder, a
 * free loopback port, optional TLS (see pki.ts), password file (mosquitto_passwd -b), ACL and
 * persistence. stop()/restart(downMs)/startAgain() keep the port, so clients see the broker go away and
 * come back. A missing binary is a hard failure, never a skip.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync, chmodSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, tcpOpen } from './net.js';
import { terminate } from './process.js';
import { removeDir, tempDir } from './temp.js';
import { sleep, waitFor } from './wait.js';

export interface MosquittoTls {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Ask clients for a certificate signed by the CA. */
  requireCertificate?: boolean;
}

export interface MosquittoOptions {
  port?: number;
  tls?: MosquittoTls;
  /** username → password; turns off anonymous access. */
  users?: Record<string, string>;
  /** ACL file contents (mosquitto acl_file syntax). */
  acl?: string;
  /** Keep sessions, subscriptions and retained messages across restart() (like a production broker). */
  persistence?: boolean;
  /** Extra config lines, e.g. ['max_queued_messages 100000']. */
  extra?: string | readonly string[];
  /**
   * A complete config of your own instead of the generated one (e.g. the reference config with paths
   * rewritten); receives the port and the temp folder. `tls` still selects the mqtts:// url.
   */
  configText?: (port: number, dir: string) => string;
}

/** The broker's stderr kept for assertions and diagnostics; a long soak must not grow it without end. */
const MAX_LOG_CHARS = 1_000_000;

/** Writes a mosquitto password file with `mosquitto_passwd -b`. */
export function writePasswordFile(file: string, users: Record<string, string>): void {
  writeFileSync(file, '', { mode: 0o600 });
  for (const [user, pass] of Object.entries(users)) {
    execFileSync('mosquitto_passwd', ['-b', file, user, pass], { stdio: 'pipe' });
  }
  chmodSync(file, 0o600);
}

export class Mosquitto {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    /** The broker's own temp folder (config, password file, ACL, persistence); removed by dispose(). */
    readonly dir: string,
    readonly port: number,
    readonly confFile: string,
    readonly tls: boolean,
  ) {}

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = tempDir('mosq-');
    try {
      const port = options.port ?? (await freePort());
      const lines = [
        `listener ${port} 127.0.0.1`,
        options.persistence ? `persistence true\npersistence_location ${dir}/` : 'persistence false',
        // As root mosquitto drops to user `mosquitto`, which cannot read our temp files.
        `user ${userInfo().username}`,
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        'log_type notice',
        'max_keepalive 65535',
      ];
      if (options.users) {
        const pw = join(dir, 'passwd');
        writePasswordFile(pw, options.users);
        lines.push('allow_anonymous false', `password_file ${pw}`);
      } else {
        lines.push('allow_anonymous true');
      }
      if (options.acl !== undefined) {
        const acl = join(dir, 'acl');
        writeFileSync(acl, options.acl, { mode: 0o600 });
        lines.push(`acl_file ${acl}`);
      }
      if (options.tls) {
        lines.push(`cafile ${options.tls.caFile}`, `certfile ${options.tls.certFile}`, `keyfile ${options.tls.keyFile}`);
        if (options.tls.requireCertificate) lines.push('require_certificate true');
      }
      if (options.extra !== undefined) lines.push(...(typeof options.extra === 'string' ? [options.extra] : options.extra));
      const confFile = join(dir, 'mosquitto.conf');
      writeFileSync(confFile, options.configText ? options.configText(port, dir) : lines.join('\n') + '\n');
      const m = new Mosquitto(dir, port, confFile, options.tls !== undefined);
      await m.startProcess();
      return m;
    } catch (err) {
      removeDir(dir);
      throw err;
    }
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The broker process id while it runs (the bench samples it). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** What mosquitto wrote to stderr so far (for assertions on ACL denials and diagnostics). */
  get log(): string {
    return this.output;
  }

  private append(d: Buffer): void {
    this.output += d.toString();
    if (this.output.length > MAX_LOG_CHARS) this.output = this.output.slice(-MAX_LOG_CHARS / 2);
  }

  private async startProcess(): Promise<void> {
    const child = spawn('mosquitto', ['-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.stdout?.on('data', (d: Buffer) => this.append(d));
    child.stderr?.on('data', (d: Buffer) => this.append(d));
    await waitFor(
      'mosquitto to listen',
      async () => {
        if (spawnError) throw new Error(`mosquitto could not start (is it installed?): ${spawnError.message}`);
        if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${this.output}`);
        return tcpOpen(this.port);
      },
      10_000,
      25,
    ).catch((err: unknown) => {
      child.kill('SIGKILL');
      throw err;
    });
  }

  /** Stops the broker (SIGTERM, SIGKILL after 3 s) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child) await terminate(child, 3000);
  }

  /** Stops, stays down `downMs` (the outage under test), and starts again on the same port. */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await sleep(downMs);
    await this.startProcess();
  }

  /** Starts again after stop(), on the same port; nothing when it runs. */
  async startAgain(): Promise<void> {
    if (!this.running) await this.startProcess();
  }

  /** Stops and removes the broker's folder. */
  async dispose(): Promise<void> {
    await this.stop();
    removeDir(this.dir);
  }
}
