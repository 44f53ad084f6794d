/**
 * A real mosquitto for integration tests: generated config in a temp dir, a free loopback port,
 * optional TLS (test CA made with openssl), password file (mosquitto_passwd -b) and ACL.
 * A missing binary is a hard failure, never a skip.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitFor } from './ports.js';

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
  /** Extra config lines. */
  extra?: string;
  /**
   * A complete config of your own instead of the generated one (e.g. the reference config with paths
   * rewritten); receives the port and the temp dir. `tls` still selects the mqtts:// url.
   */
  configText?: (port: number, dir: string) => string;
}

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
    readonly dir: string,
    readonly port: number,
    readonly confFile: string,
    readonly tls: boolean,
  ) {}

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'mosq-'));
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
    if (options.extra) lines.push(options.extra);
    const confFile = join(dir, 'mosquitto.conf');
    writeFileSync(confFile, options.configText ? options.configText(port, dir) : lines.join('\n') + '\n');
    const m = new Mosquitto(dir, port, confFile, options.tls !== undefined);
    await m.startProcess();
    return m;
  }

  get url(): string {
    return `${this.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything mosquitto wrote to stderr so far (for assertions on ACL denials and diagnostics). */
  get log(): string {
    return this.output;
  }

  private async startProcess(): Promise<void> {
    const child = spawn('mosquitto', ['-c', this.confFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let spawnError: Error | undefined;
    child.on('error', (err) => (spawnError = err));
    child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    await waitFor(
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

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Stops and starts again on the same port (clients see the broker go away and come back). */
  async restart(downMs = 0): Promise<void> {
    await this.stop();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.startProcess();
  }

  async startAgain(): Promise<void> {
    if (!this.running) await this.startProcess();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface TestPki {
  dir: string;
  caFile: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Issues a client certificate (CN = `cn`) signed by this CA. */
  issueClient(cn: string): { certFile: string; keyFile: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

/** A throw-away CA and a server certificate for 127.0.0.1/localhost, made with openssl. */
export function makeTestPki(name = 'test'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), `pki-${name}-`));
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name} test CA`], dir);
  const issue = (cn: string, base: string, ext: string): { certFile: string; keyFile: string } => {
    const keyFile = join(dir, `${base}.key`);
    const csr = join(dir, `${base}.csr`);
    const certFile = join(dir, `${base}.crt`);
    const extFile = join(dir, `${base}.ext`);
    writeFileSync(extFile, ext);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', extFile], dir);
    return { certFile, keyFile };
  };
  const server = issue('127.0.0.1', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  return {
    dir,
    caFile,
    caKey,
    serverCert: server.certFile,
    serverKey: server.keyFile,
    issueClient: (cn) => issue(cn, `client-${cn}`, 'extendedKeyUsage=clientAuth\n'),
  };
}
