/**
 * Town and admin accounts from the command line (`node dist/county/console.js user …`) and the real
 * console process on a seeded SQLite county: an accounts file written before these roles keeps working,
 * a town account needs its town (and only it has one), the running console keeps a town account in its
 * town, records the command line's changes in its audit log as it sees them, and refuses to keep the
 * audit log fewer than 180 days (flag and config file alike).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../../county/console/accounts.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { consoleCli, startConsoleProcess } from '../../../scripts/bench/sign-in-burst.js';
import { waitFor } from '../../../scripts/lib/kit/index.js';
import { ConsoleClient } from '../../helpers/console-client.js';
import { ROOT } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const CONSOLE_JS = join(ROOT, 'dist', 'county', 'console.js');
const cleanups: Array<() => unknown> = [];
let dir: string;
let db: string;
let users: string;
let store: ConsoleDb;
let stations: Array<{ id: string; town: string }>;

const user = (args: string[], input = '') => consoleCli(CONSOLE_JS, ['user', ...args.slice(0, 1), '--users', users, ...args.slice(1)], input);

beforeAll(async () => {
  dir = tempDir('console-accounts-cli-');
  db = join(dir, 'county.db');
  store = await openCollectorStore(db);
  cleanups.push(() => store.close());
  stations = await seedConsoleDb(store, { stations: 40, days: 3, historyHours: 1 });
  users = join(dir, 'users');
  // A file as a console before town and admin accounts wrote it.
  const h = await hashPassword('wangli-password-1');
  writeFileSync(users, `# station-agent county console accounts: name:role:scrypt hash (console.js user add)\nwangli:operator:${h}\n`, { mode: 0o600 });
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('town and admin accounts from the command line', () => {
  it('adds them beside the old accounts, a town account with its town only', async () => {
    expect((await user(['list'])).stdout).toBe('wangli\toperator\n');
    const town = await user(['add', 'zhang', '--role', 'town', '--town', '城关镇'], 'zhangs-password\n');
    expect(town).toMatchObject({ code: 0, stdout: `zhang (town 城关镇) saved in ${users}\n` });
    expect((await user(['add', 'boss', '--role', 'admin'], 'admin-password-2026\n')).code).toBe(0);
    const noTown = await user(['add', 'li', '--role', 'town'], 'lis-password-1\n');
    expect(noTown.code).toBe(1);
    expect(noTown.stderr).toContain('a town account needs its town (--town)');
    const stray = await user(['add', 'li', '--role', 'viewer', '--town', '城关镇'], 'lis-password-1\n');
    expect(stray.code).toBe(1);
    expect(stray.stderr).toContain('only a town account has a town');
    expect((await user(['role', 'wangli', 'town'])).stderr).toContain('needs its town');
    expect((await user(['list'])).stdout).toBe('wangli\toperator\nzhang\ttown\t城关镇\nboss\tadmin\n');
  });

  it('runs the console on them: the town account stays in its town, the command line’s changes reach the audit log', async () => {
    const running = await startConsoleProcess(CONSOLE_JS, ['--db', db, '--users', users, '--log-level', 'error']);
    cleanups.push(() => running.proc.stop());
    const mine = stations.find((s) => s.town === '城关镇')!.id;
    const other = stations.find((s) => s.town === '东山乡')!.id;
    const zhang = new ConsoleClient(running.url);
    expect(await zhang.loginStatus('zhang', 'zhangs-password')).toBe(303);
    expect((await zhang.req(`/station?id=${mine}`)).status).toBe(200);
    expect((await zhang.req(`/station?id=${other}`)).status).toBe(403);
    const old = new ConsoleClient(running.url);
    expect(await old.loginStatus('wangli', 'wangli-password-1')).toBe(303);
    expect((await old.req(`/station?id=${other}`)).status).toBe(200);

    // Moved to the other town with the command line: its sign-in ends, and signed in again it sees that town.
    expect((await user(['role', 'zhang', 'town', '--town', '东山乡'])).code).toBe(0);
    expect((await zhang.req('/fleet')).status).toBe(303);
    expect(await zhang.loginStatus('zhang', 'zhangs-password')).toBe(303);
    expect((await zhang.req(`/station?id=${other}`)).status).toBe(200);
    expect((await zhang.req(`/station?id=${mine}`)).status).toBe(403);

    const boss = new ConsoleClient(running.url);
    expect(await boss.loginStatus('boss', 'admin-password-2026')).toBe(303);
    await waitFor(async () => (await store.countAudit({ kinds: ['account_role'] })) === 1, 10_000);
    const [role] = await store.auditLog({ kinds: ['account_role'], limit: 1, offset: 0 });
    expect(role).toMatchObject({ actor: null, address: null, target: 'zhang' });
    expect(JSON.parse(role!.detail!)).toEqual({ from: { role: 'town', town: '城关镇' }, to: { role: 'town', town: '东山乡' }, outside: true });
    const page = await (await boss.req('/audit')).text();
    expect(page).toContain('乡镇账号（城关镇） → 乡镇账号（东山乡）');
  });

  it('refuses to keep the audit log fewer than 180 days, from a flag or the config file', async () => {
    const flag = await consoleCli(CONSOLE_JS, ['--db', db, '--users', users, '--audit-days', '90']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('操作日志至少保留 180 天');
    const file = join(dir, 'county.yaml');
    writeFileSync(file, `db: county.db\nconsole:\n  users: users\n  audit_days: 90\n`);
    const config = await consoleCli(CONSOLE_JS, ['--config', file]);
    expect(config.code).toBe(78);
    expect(config.stderr).toContain('console.audit_days');
    expect(config.stderr).toContain('操作日志至少保留 180 天');
  });
});
