/**
 * Errors a county's administrator can act on: a mistyped SQLite `--db` is refused (never a silent new,
 * empty county) unless `--create` says this is the first run; a refused PostgreSQL sign-in names where
 * the password goes.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { authProblem } from '../../../county/pg-store.js';
import { ROOT } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const run = promisify(execFile);
const COLLECTOR = join(ROOT, 'dist/county/collector.js');
const CONSOLE = join(ROOT, 'dist/county/console.js');

async function exitOf(js: string, args: string[]): Promise<{ code: number; out: string }> {
  return run(process.execPath, [js, ...args], { encoding: 'utf8', timeout: 20_000 }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );
}

describe('errors a clerk can act on', () => {
  it('refuses a database file that does not exist, in both languages, and creates nothing', async () => {
    const dir = tempDir('clerk-errors-');
    const typo = join(dir, 'conty.db');
    writeFileSync(join(dir, 'users'), '', { mode: 0o600 });
    for (const [js, args] of [
      [COLLECTOR, ['report', '--db', typo, '--month', '2026-11']],
      [COLLECTOR, ['fleet', '--db', typo]],
      [COLLECTOR, ['--db', typo, '--url', 'mqtt://127.0.0.1:1', '--print-s', '0']],
      [CONSOLE, ['--db', typo, '--users', join(dir, 'users'), '--http', '127.0.0.1:0']],
    ] as const) {
      const r = await exitOf(js, [...args]);
      expect(r.code, r.out).not.toBe(0);
      expect(r.out).toContain(`数据库文件 ${typo} 不存在`);
      expect(r.out).toContain(`the database file ${typo} does not exist`);
      expect(existsSync(typo)).toBe(false);
    }
  });

  it('names PGPASSWORD and .pgpass when PostgreSQL refuses the sign-in, and leaves other errors alone', () => {
    const missing = authProblem(new Error('SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string'), 'postgres://county@db.example/station_county');
    expect(missing?.message).toMatch(/^PostgreSQL 拒绝了角色 county 的登录：请把密码放在环境变量 PGPASSWORD 或 ~\/\.pgpass 中/);
    expect(missing?.message).toContain('put its password in PGPASSWORD or ~/.pgpass');
    const wrong = authProblem(Object.assign(new Error('password authentication failed for user "county"'), { code: '28P01' }), 'postgres://county@db.example/x');
    expect(wrong?.message).toContain('role county');
    expect(authProblem(Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }), 'postgres://a@b/c')).toBeUndefined();
  });
});
