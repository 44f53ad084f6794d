/**
 * A real PostgreSQL 15 server (Debian's postgresql-15, /usr/lib/postgresql/15/bin) for the tests and the
 * bench: initdb in its own temp folder, listening on a free loopback port (TCP only, trust auth for
 * loopback), stopped and removed by dispose(). PostgreSQL refuses to run as root: as root the folder is
 * handed to the `postgres` system user (or `nobody` when there is none) and the server runs as that
 * user. A missing binary is a hard failure, never a skip (scripts/install-test-tools.sh installs it).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { freePort } from './net.js';
import { terminate } from './process.js';
import { removeDir, tempDir } from './temp.js';
import { waitFor } from './wait.js';

export const PG_BIN = process.env['PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

export interface PostgresOptions {
  /** fsync and synchronous commit as in production (the bench); off by default (tests: faster, same semantics). */
  durable?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

/** The uid/gid the server runs as when we are root. */
function serverUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n');
  for (const name of ['postgres', 'nobody']) {
    const f = passwd.find((l) => l.startsWith(`${name}:`))?.split(':');
    if (f) return { name, uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error('running as root, but there is neither a postgres nor a nobody user to run PostgreSQL as');
}

/** Lets `user` traverse the folders above `dir` up to the temp root (o+x only: nothing becomes listable). */
function letTraverse(dir: string): void {
  const root = dirname(tmpdir());
  for (let d = dirname(dir); d.length >= root.length && d !== '/'; d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o001);
  }
}

export class Postgres {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(options: PostgresOptions = {}): Promise<Postgres> {
    for (const b of ['initdb', 'postgres']) {
      if (!existsSync(join(PG_BIN, b))) throw new Error(`${join(PG_BIN, b)} not found: install postgresql-15 (scripts/install-test-tools.sh does)`);
    }
    const dir = tempDir('pg-');
    try {
      const user = serverUser();
      const data = join(dir, 'data');
      if (user) {
        chownSync(dir, user.uid, user.gid);
        letTraverse(dir);
      }
      const as = user ? { uid: user.uid, gid: user.gid } : {};
      execFileSync(join(PG_BIN, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
        stdio: 'pipe',
        cwd: dir,
        ...as,
      });
      const port = await freePort();
      const pgServer = new Postgres(dir, port);
      const settings: Record<string, string | number> = {
        listen_addresses: '127.0.0.1',
        port,
        unix_socket_directories: '',
        max_connections: 100,
        shared_buffers: '128MB',
        ...(options.durable ? {} : { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' }),
        ...options.settings,
      };
      const args = ['-D', data, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
      const child = spawn(join(PG_BIN, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...as });
      pgServer.child = child;
      const append = (d: Buffer): void => {
        pgServer.output = (pgServer.output + d.toString()).slice(-100_000);
      };
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
      await waitFor(
        'PostgreSQL to accept connections',
        async () => {
          if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${pgServer.output}`);
          const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
          try {
            await c.connect();
            await c.query('SELECT 1');
            return true;
          } finally {
            await c.end().catch(() => undefined);
          }
        },
        30_000,
        50,
      ).catch(async (err: unknown) => {
        await terminate(child, 3000);
        throw err;
      });
      return pgServer;
    } catch (err) {
      removeDir(dir);
      throw err;
    }
  }

  /** postgres://… for database `db` (default `postgres`). */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }

  /** What the server wrote (for diagnostics). */
  get log(): string {
    return this.output;
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null ? this.child.pid : undefined;
  }

  /** Creates an empty database and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name ${JSON.stringify(name)}: lower-case letters, digits and _ only`);
    const c = new pg.Client({ connectionString: this.url() });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return this.url(name);
  }

  /** Drops a database (closing its connections first). */
  async dropDatabase(name: string): Promise<void> {
    const c = new pg.Client({ connectionString: this.url() });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await c.end();
    }
  }

  /** Fast shutdown (SIGINT: active transactions rolled back), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.kill('SIGINT');
    });
  }

  /** Stops the server and removes its folder. */
  async dispose(): Promise<void> {
    await this.stop();
    removeDir(this.dir);
  }
}
