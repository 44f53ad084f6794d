/**
 * `--config FILE` on the county commands as installed (dist/county/collector.js and console.js, real
 * processes, a real mosquitto with passwords, SQLite files): the file's values are used (paths relative
 * to the file, not to the working folder), flags override it, a bad file exits 78 with a zh/en reason,
 * and `config-check` tells a complete file from an incomplete one.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mosquitto, spawnCaptured, waitFor, type Captured } from '../../../scripts/lib/kit/index.js';
import { tempDir } from '../../helpers/temp.js';
import { ROOT } from './reference-broker.js';

const COLLECTOR = join(ROOT, 'dist/county/collector.js');
const CONSOLE = join(ROOT, 'dist/county/console.js');
const run = promisify(execFile);
const USERS = { 'county-collector-1': 'pw-c1', 'county-console': 'pw-console' };

let broker: Mosquitto;
const children: Captured[] = [];

beforeAll(async () => {
  broker = await Mosquitto.start({ users: USERS });
});

afterAll(async () => {
  for (const c of children) await c.stop();
  await broker?.dispose();
});

/** A config folder with the secrets the config names (relative paths) and the config itself. */
function configDir(body: (dir: string) => string): { dir: string; file: string } {
  const dir = tempDir('county-conf-');
  writeFileSync(join(dir, 'collector.pass'), 'pw-c1\n', { mode: 0o600 });
  writeFileSync(join(dir, 'console.pass'), 'pw-console\n', { mode: 0o600 });
  writeFileSync(join(dir, 'command.key'), 'k'.repeat(44) + '\n', { mode: 0o600 });
  const file = join(dir, 'county.yaml');
  writeFileSync(file, body(dir), { mode: 0o640 });
  return { dir, file };
}

const collectorYaml = (extra = ''): string =>
  [
    'db: county.db',
    'collector:',
    `  url: ${broker.url}`,
    '  username: county-collector-1',
    '  password_file: collector.pass',
    '  command_key_file: command.key',
    '  group: from-file',
    '  print_s: 0',
    '  create: true',
    extra,
  ].join('\n') + '\n';

/** Started from the repository root, not the config's folder: relative paths must follow the file. */
function start(js: string, args: string[]): Captured {
  const c = spawnCaptured(process.execPath, [js, ...args], { ...process.env });
  children.push(c);
  return c;
}

async function exitOf(args: string[], cwd: string, js = COLLECTOR): Promise<{ code: number; out: string }> {
  return run(process.execPath, [js, ...args], { cwd, encoding: 'utf8', timeout: 20_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

describe('county commands with --config', () => {
  it('the collector runs on the file: broker, account, password and database (relative to the file)', async () => {
    const { dir, file } = configDir(() => collectorYaml());
    const c = start(COLLECTOR, ['--config', file]);
    await waitFor(() => /collector connected.*"group":"from-file"|"group":"from-file".*collector connected/.test(c.output()), 15_000);
    expect(existsSync(join(dir, 'county.db'))).toBe(true);
    expect(await c.stop()).toBe(0);
  });

  it('flags override the file, before or after --config', async () => {
    const { dir, file } = configDir(() => collectorYaml());
    const elsewhere = tempDir();
    const c = start(COLLECTOR, ['--db', join(elsewhere, 'cli.db'), '--config', file, '--group', 'from-cli']);
    await waitFor(() => c.output().includes('"group":"from-cli"'), 15_000);
    expect(existsSync(join(elsewhere, 'cli.db'))).toBe(true);
    expect(existsSync(join(dir, 'county.db'))).toBe(false);
    expect(await c.stop()).toBe(0);
  });

  it('the console serves from the file, and user add takes the accounts file from it', async () => {
    const { dir, file } = configDir(() =>
      [collectorYaml(), 'console:', '  users: console-users', '  create: true', '  http: 127.0.0.1:0', '  timezone: Asia/Shanghai', `  url: ${broker.url}`,
        '  username: county-console', '  password_file: console.pass', '  command_key_file: command.key', ''].join('\n'),
    );
    const add = spawn(process.execPath, [CONSOLE, 'user', 'add', '--config', file, 'wangli', '--role', 'operator'], { stdio: ['pipe', 'pipe', 'pipe'] });
    add.stdin.end('a-long-enough-passw0rd!\n');
    const code = await new Promise((res) => add.on('exit', res));
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'console-users'))).toBe(true);
    const c = start(CONSOLE, ['--config', file]);
    await waitFor(() => /console listening on (http:\/\/127\.0\.0\.1:\d+)/.test(c.output()), 15_000);
    const url = /console listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(c.output())![1]!;
    const res = await fetch(`${url}/login`);
    expect(res.status).toBe(200);
    expect(existsSync(join(dir, 'county.db'))).toBe(true);
    expect(await c.stop()).toBe(0);
  });

  it('exits 78 with the key path for an unknown key, and for a FIFO, in zh and en', async () => {
    const { file } = configDir(() => collectorYaml('  passwd_file: x'));
    const bad = await exitOf(['--config', file], tempDir());
    expect(bad.code).toBe(78);
    expect(bad.out).toContain('collector.passwd_file: 未知的键 / unknown key');
    expect(bad.out).toContain('配置文件有误 / config file problem');
    const fifo = join(tempDir(), 'county.yaml');
    execFileSync('mkfifo', [fifo]);
    const refused = await exitOf(['--config', fifo], tempDir());
    expect(refused.code).toBe(78);
    expect(refused.out).toContain('不是普通文件');
    expect(refused.out).toContain('not a regular file');
    expect((await exitOf(['--config', fifo], tempDir(), CONSOLE)).code).toBe(78);
  });

  it('config-check: 0 for a complete file, 78 with every reason otherwise', async () => {
    const complete = configDir(() => [collectorYaml(), 'console:', '  users: console-users', '  http: 127.0.0.1:8080', ''].join('\n'));
    writeFileSync(join(complete.dir, 'console-users'), '', { mode: 0o600 });
    const ok = await exitOf(['config-check', '--config', complete.file], tempDir());
    expect(ok).toMatchObject({ code: 0, out: expect.stringContaining('配置完整 / complete') });

    const example = await exitOf(['config-check', '--config', join(ROOT, 'county/county.example.yaml')], tempDir());
    expect(example.code).toBe(78);
    expect(example.out).toContain('collector.password_file: /etc/station-county/secrets/county-collector-1.pass: 无法读取 / cannot read (ENOENT)');
    expect(example.out).toContain('console.users: /var/lib/station-county/console-users');

    const shared = configDir(() => [collectorYaml(), 'console:', '  users: console-users', `  url: ${broker.url}`, '  username: county-collector-1',
      '  password_file: collector.pass', '  command_key_file: command.key', ''].join('\n'));
    writeFileSync(join(shared.dir, 'console-users'), '', { mode: 0o600 });
    const r = await exitOf(['config-check', '--config', shared.file], tempDir());
    expect(r.code).toBe(78);
    expect(r.out).toContain("console.username: 不能与采集器共用账号 county-collector-1");

    const empty = configDir(() => 'collector: {}\n');
    const e = await exitOf(['config-check', '--config', empty.file], tempDir());
    expect(e.code).toBe(78);
    for (const key of ['db: ', 'collector.url: ', 'console.users: ']) expect(e.out).toContain(key);
  });
});
