/**
 * The console under attack (issue rows 1, 2 and 10), against the real console process
 * (`node dist/county/console.js`) over HTTP, with accounts changed by its own `user` commands, a real
 * mosquitto for pushes and a SQLite county.db:
 * - a burst of 300 sign-in guesses at once gets at most the lockout's 5 checked, the right one last refused;
 * - a new password must pass the policy;
 * - a sign-in ends when its account's password or role changes or the account is removed;
 * - county.db and its -wal/-shm are 0640 under umask 022, and secret files others may read are warned about.
 */
import { ConsoleClient } from '../../helpers/console-client.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openCollectorStore } from '../../../county/open-store.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { consoleCli, evaluated, guesses, signInBurst, startConsoleProcess, type RunningConsole } from '../../../scripts/bench/sign-in-burst.js';
import { Mosquitto, spawnCaptured, waitFor } from '../../../scripts/lib/kit/index.js';
import { ROOT } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const CONSOLE_JS = join(ROOT, 'dist', 'county', 'console.js');
const KEY = 'county-command-key-for-the-attack-test-0123456789';
const cleanups: Array<() => unknown> = [];
let dir: string;
let users: string;
let keyFile: string;
let store: ConsoleDb;
let broker: Mosquitto;
let running: RunningConsole;
let stationId: string;


const user = (args: string[], input = '') => consoleCli(CONSOLE_JS, ['user', ...args.slice(0, 1), '--users', users, ...args.slice(1)], input);

async function pushCount(): Promise<number> {
  return (await store.recentPushes(1000)).length;
}

/** A schedule push for one station, with the form's token taken while the sign-in stood. */
const pushFields = (csrf: string) => ({ _csrf: csrf, target: 'station', station: stationId, mode: 'delete', id: 'evening' });

beforeAll(async () => {
  dir = tempDir('console-attack-');
  const db = join(dir, 'seeded.db');
  store = await openCollectorStore(db);
  cleanups.push(() => store.close());
  await seedConsoleDb(store, { stations: 3, days: 1, historyHours: 0 });
  stationId = (await store.stations())[0]!.station_id;
  broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  keyFile = join(dir, 'county.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  users = join(dir, 'users');
  for (const [name, pw] of [['oper', 'first-operator-secret'], ['burst', 'violet-harbour-ledger'], ['office', 'town-office-desk-2']]) {
    const r = await user(['add', name!, '--role', 'operator'], `${pw}\n`);
    expect(r.code, r.stderr).toBe(0);
  }
  running = await startConsoleProcess(CONSOLE_JS, ['--db', db, '--users', users, '--url', broker.url, '--command-key-file', keyFile]);
  cleanups.push(() => running.proc.stop());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
}, 30_000);

describe('console sign-in under a burst of guesses (row 1)', () => {
  it('checks at most 5 of 300 guesses sent at once, and refuses the right password sent last', async () => {
    const r = await signInBurst(running.url, 'burst', guesses(300, 'violet-harbour-ledger'));
    expect(r.statuses.filter((s) => s === 0)).toEqual([]);
    expect(evaluated(r.statuses)).toBeLessThanOrEqual(5);
    expect(r.statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(295);
    expect(r.statuses.at(-1)).toBe(429);
    expect(r.statuses).not.toContain(303);
    // Locked now: even the right password alone is refused.
    expect(await new ConsoleClient(running.url).loginStatus('burst', 'violet-harbour-ledger')).toBe(429);
  }, 120_000);

  it('does not count right passwords against the address: 25 sign-ins in a row from one office all succeed', async () => {
    // The address already holds the burst's 5 counted failures; its limit is 20.
    for (let i = 0; i < 25; i++) expect(await new ConsoleClient(running.url).loginStatus('office', 'town-office-desk-2')).toBe(303);
  }, 60_000);

  it('refuses a weak new password with the reason in Chinese and English, and keeps the old one', async () => {
    const before = readFileSync(users, 'utf8');
    const common = await user(['passwd', 'oper'], 'password1234\n');
    expect(common.code).toBe(1);
    expect(common.stderr).toContain('这是常见密码，很容易被猜中，请换一个。');
    expect(common.stderr).toContain('This is a common password that is easy to guess');
    const short = await user(['add', 'newbie'], 'short1\n');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('密码太短：至少 10 个字符。');
    const name = await user(['add', 'wangli'], 'Wangli2024!\n');
    expect(name.stderr).toContain('密码不能是用户名');
    expect(readFileSync(users, 'utf8')).toBe(before);
  });
});

describe('console sign-ins end when their account changes (row 2)', () => {
  it('ends an operator’s sign-in when the password is changed: no more pushes, the old password refused', async () => {
    const c = new ConsoleClient(running.url);
    expect(await c.loginStatus('oper', 'first-operator-secret')).toBe(303);
    const page = await (await c.req('/schedules')).text();
    expect(page).toContain('oper（操作员）');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    expect((await c.post('/schedules', await c.confirmed(pushFields(csrf)))).status).toBe(303);
    const pushes = await pushCount();

    const r = await user(['passwd', 'oper'], 'second-operator-secret\n');
    expect(r.code, r.stderr).toBe(0);
    expect((await c.post('/schedules', pushFields(csrf))).status).toBe(403);
    const again = await c.req('/schedules');
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe('/login?back=%2Fschedules');
    expect(await pushCount()).toBe(pushes);
    expect(await new ConsoleClient(running.url).loginStatus('oper', 'first-operator-secret')).toBe(401);
    await waitFor(() => running.proc.output().includes('console sign-in ended: the account was changed or removed'), 5_000);
  });

  it('ends an operator’s sign-in when demoted to viewer; signed in again it is a viewer and cannot push', async () => {
    const c = new ConsoleClient(running.url);
    expect(await c.loginStatus('oper', 'second-operator-secret')).toBe(303);
    const csrf = await c.csrf('/schedules');
    const confirmed = await c.confirmed(pushFields(csrf));
    expect((await c.post('/schedules', confirmed)).status).toBe(303);
    const pushes = await pushCount();

    const r = await user(['role', 'oper', 'viewer']);
    expect(r.code, r.stderr).toBe(0);
    expect((await c.post('/schedules', confirmed)).status).toBe(403);
    expect((await c.req('/fleet')).status).toBe(303);
    expect(await c.loginStatus('oper', 'second-operator-secret')).toBe(303);
    const page = await (await c.req('/schedules')).text();
    expect(page).toContain('oper（查看员）');
    expect(page).not.toContain('操作员）');
    expect((await c.post('/schedules', pushFields(await c.csrf('/schedules')))).status).toBe(403);
    expect(await pushCount()).toBe(pushes);
  });

  it('sends nothing for a push whose form was still arriving when the account was demoted', async () => {
    expect((await user(['role', 'oper', 'operator'])).code).toBe(0);
    const c = new ConsoleClient(running.url);
    expect(await c.loginStatus('oper', 'second-operator-secret')).toBe(303);
    const fields = (await c.confirmed(pushFields(await c.csrf('/schedules')))) as Record<string, string>;
    const body = new URLSearchParams(fields).toString();
    const pushes = await pushCount();
    const ENDED = 'console sign-in ended: the account was changed or removed';
    const ended = () => running.proc.output().split(ENDED).length - 1;
    const endedBefore = ended();
    const { hostname, port } = new URL(running.url);
    const socket = connect({ host: hostname, port: Number(port) });
    cleanups.push(() => socket.destroy());
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    const closed = new Promise((r) => socket.once('close', r));
    const half = Math.floor(body.length / 2);
    socket.write(
      `POST /schedules HTTP/1.1\r\nHost: ${hostname}:${port}\r\nOrigin: ${running.url}\r\nCookie: ${[...c.jar].map(([k, v]) => `${k}=${v}`).join('; ')}\r\n` +
        `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
    );
    // The request has begun (headers read, sign-in checked) while its form is still arriving.
    expect((await user(['role', 'oper', 'viewer'])).code).toBe(0);
    socket.end(body.slice(half));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 403 /);
    expect(await pushCount()).toBe(pushes);
    // Refused by the check after the form was read, not at the start: the sign-in was still standing when
    // the request began, and ends at its next request.
    expect(ended()).toBe(endedBefore);
    expect((await c.req('/fleet')).status).toBe(303);
    await waitFor(() => ended() === endedBefore + 1, 5_000);
  });

  it('ends the sign-in when the account is removed, and the account can no longer sign in', async () => {
    const c = new ConsoleClient(running.url);
    expect(await c.loginStatus('oper', 'second-operator-secret')).toBe(303);
    expect((await c.req('/fleet')).status).toBe(200);
    const r = await user(['remove', 'oper']);
    expect(r.code, r.stderr).toBe(0);
    expect((await c.req('/fleet')).status).toBe(303);
    expect((await c.req('/push.json?id=01ARZ3NDEKTSV4RRFFQ69G5FAV')).status).toBe(403);
    expect(await c.loginStatus('oper', 'second-operator-secret')).toBe(401);
  });
});

describe('county files (row 10)', () => {
  it('creates county.db, -wal and -shm 0640 under umask 022, and warns about secret files others may read', async () => {
    const db = join(dir, 'fresh.db');
    const openUsers = join(dir, 'open-users');
    writeFileSync(openUsers, readFileSync(users));
    chmodSync(openUsers, 0o644);
    const openKey = join(dir, 'open.key');
    writeFileSync(openKey, `${KEY}\n`);
    chmodSync(openKey, 0o644);
    const openPass = join(dir, 'open.pass');
    writeFileSync(openPass, 'broker-secret\n');
    chmodSync(openPass, 0o604);
    // As the county's IT might start it from a shell: umask 022, under which SQLite alone makes 0644.
    const proc = spawn(
      '/bin/sh',
      ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, CONSOLE_JS, '--http', '127.0.0.1:0', '--create', '--db', db, '--users', openUsers, '--url', broker.url, '--username', 'county-console', '--password-file', openPass, '--command-key-file', openKey],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => proc.on('exit', r));
    cleanups.push(async () => {
      proc.kill('SIGTERM');
      await exited;
    });
    await waitFor(() => /console listening on http:/.test(out) || proc.exitCode !== null, 20_000);
    const base = /console listening on (http:\S+)/.exec(out)?.[1];
    expect(base, out).toBeDefined();
    // A request that reads the database, so the -wal and -shm exist while it runs.
    const c = new ConsoleClient(base!);
    expect(await c.loginStatus('burst', 'violet-harbour-ledger')).toBe(303);
    expect((await c.req('/fleet')).status).toBe(200);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) expect([f, (statSync(f).mode & 0o777).toString(8)]).toEqual([f, '640']);
    const warnings = out.split('\n').filter((l) => l.includes('"level":40'));
    for (const [option, file, mode] of [['--users', openUsers, '0644'], ['--command-key-file', openKey, '0644'], ['--password-file', openPass, '0604']]) {
      expect(warnings.some((l) => l.includes(`"option":"${option}"`) && l.includes(file!) && l.includes(`mode ${mode}`)), `${option}: ${out}`).toBe(true);
    }
    // The well-kept files of the main console were not warned about.
    expect(running.proc.output()).not.toContain('readable or writable by other users');
  });

  it('takes group write and others’ access off an existing county.db, -wal and -shm when opened', async () => {
    const db = join(dir, 'old.db');
    const first = await openCollectorStore(db);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) chmodSync(f, 0o666);
    const second = await openCollectorStore(db);
    try {
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect([f, (statSync(f).mode & 0o777).toString(8)]).toEqual([f, '640']);
      expect((await second.stations()).length).toBe(0);
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('the collector warns when its command key or broker password file is readable by others', async () => {
    const key = join(dir, 'collector.key');
    writeFileSync(key, `${KEY}\n`, { mode: 0o640 });
    chmodSync(key, 0o644);
    const pass = join(dir, 'collector.pass');
    writeFileSync(pass, 'broker-secret\n', { mode: 0o600 });
    const collector = spawnCaptured(
      process.execPath,
      [join(ROOT, 'dist', 'county', 'collector.js'), '--create', '--url', broker.url, '--db', join(dir, 'collector.db'), '--command-key-file', key, '--username', 'county-collector', '--password-file', pass, '--print-s', '0'],
      process.env,
    );
    cleanups.push(() => collector.stop());
    await waitFor(() => collector.output().includes('--command-key-file file') || collector.proc.exitCode !== null, 15_000);
    const line = collector.output().split('\n').find((l) => l.includes('readable or writable by other users'));
    expect(line, collector.output()).toContain(`"option":"--command-key-file"`);
    expect(line).toContain(`"file":"${key}"`);
    expect(line).toContain('mode 0644');
    expect(line).toContain('"level":40');
    // The owner-only password file is not warned about.
    expect(collector.output()).not.toContain('"option":"--password-file"');
    await collector.stop();
  });
});
