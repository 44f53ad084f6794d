/**
 * Console accounts and sign-in state: scrypt hashes (node:crypto) that verify only the right password,
 * an accounts file that refuses malformed lines, sessions that expire, a lockout that refuses even the
 * right password once an account has failed N times (fake clocks: no waiting).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scryptSync } from 'node:crypto';
import { AccountFile, diffAccounts, formatAccounts, hashPassword, parseAccounts, readAccounts, removeAccount, setPassword, setRole, upsertAccount, verifyPassword, type AccountChange, type Role } from '../../../county/console/accounts.js';
import { Lockout, sameToken, SignIns } from '../../../county/console/sign-ins.js';
import { tempDir } from '../../helpers/temp.js';

describe('console accounts', () => {
  it('hashes with scrypt: the right password verifies, a wrong one does not, salts differ', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('correct horse', a)).toBe(true);
    expect(await verifyPassword('correct horsf', a)).toBe(false);
    // The stored key is scrypt(password, salt) with the stored parameters: checked against node:crypto directly.
    const [, n, r, p, salt, key] = a.split('$');
    const again = scryptSync('correct horse', Buffer.from(salt!, 'base64'), 32, { N: Number(n), r: Number(r), p: Number(p), maxmem: 64 * 1024 * 1024 });
    expect(again.toString('base64')).toBe(key);
  });

  it('refuses short passwords and hashes with absurd parameters', async () => {
    await expect(hashPassword('short')).rejects.toThrow(/at least 10/);
    const h = await hashPassword('long enough');
    expect(await verifyPassword('long enough', h.replace('$32768$', '$1073741824$'))).toBe(false);
    expect(await verifyPassword('x'.repeat(300), h)).toBe(false);
  });

  it('parses the file, naming the bad line', async () => {
    const h = await hashPassword('long enough');
    expect(parseAccounts(`# comment\n\nalice:operator:${h}\nbob:viewer:${h}\n`).map((a) => [a.name, a.role])).toEqual([
      ['alice', 'operator'],
      ['bob', 'viewer'],
    ]);
    expect(() => parseAccounts(`alice:root:${h}`)).toThrow(/line 1/);
    expect(() => parseAccounts(`ok:viewer:${h}\nAlice:viewer:${h}`)).toThrow(/line 2/);
    expect(() => parseAccounts(`a:viewer:${h}\na:operator:${h}`)).toThrow(/twice/);
    expect(() => parseAccounts('a:viewer:plaintext')).toThrow(/line 1/);
  });

  it('adds, replaces and removes accounts in an owner-only file that the server re-reads', async () => {
    const dir = tempDir('accounts-');
    const file = join(dir, 'users');
    await upsertAccount(file, 'alice', 'viewer', 'first password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const accounts = new AccountFile(file);
    expect((await accounts.verify('alice', 'first password'))?.role).toBe('viewer');
    await upsertAccount(file, 'alice', 'operator', 'second password');
    await upsertAccount(file, 'bob', 'viewer', 'bobs password');
    expect(readAccounts(file).map((a) => `${a.name}:${a.role}`)).toEqual(['alice:operator', 'bob:viewer']);
    expect(await accounts.verify('alice', 'first password')).toBeNull();
    expect((await accounts.verify('alice', 'second password'))?.role).toBe('operator');
    expect(await accounts.verify('nobody', 'second password')).toBeNull();
    expect(removeAccount(file, 'bob')).toBe(true);
    expect(removeAccount(file, 'bob')).toBe(false);
    expect(readFileSync(file, 'utf8')).not.toContain('bob');
  });

  it('changes a password or a role in place, and a sign-in stands only while its account is unchanged', async () => {
    const dir = tempDir('accounts-');
    const file = join(dir, 'users');
    await upsertAccount(file, 'alice', 'operator', 'first password');
    await upsertAccount(file, 'bob', 'viewer', 'bobs password');
    const accounts = new AccountFile(file);
    const first = (await accounts.verify('alice', 'first password'))!;
    const as = (role: Role, hash: string, town: string | null = null) => ({ user: 'alice', role, hash, town });
    expect(accounts.stillValid(as('operator', first.hash))).toBe(true);
    await setPassword(file, 'alice', 'second password');
    expect(accounts.stillValid(as('operator', first.hash))).toBe(false);
    const second = (await accounts.verify('alice', 'second password'))!;
    expect(second.role).toBe('operator');
    setRole(file, 'alice', 'viewer');
    expect(accounts.stillValid(as('operator', second.hash))).toBe(false);
    expect(accounts.stillValid(as('viewer', second.hash))).toBe(true);
    setRole(file, 'alice', 'town', '城关镇');
    expect(accounts.stillValid(as('viewer', second.hash))).toBe(false);
    expect(accounts.stillValid(as('town', second.hash, '城关镇'))).toBe(true);
    setRole(file, 'alice', 'town', '东山乡');
    expect(accounts.stillValid(as('town', second.hash, '城关镇'))).toBe(false);
    setRole(file, 'alice', 'viewer');
    expect(readAccounts(file).map((a) => `${a.name}:${a.role}`)).toEqual(['alice:viewer', 'bob:viewer']);
    removeAccount(file, 'alice');
    expect(accounts.stillValid(as('viewer', second.hash))).toBe(false);
    await expect(setPassword(file, 'carol', 'some long password')).rejects.toThrow(/no account carol/);
    expect(() => setRole(file, 'carol', 'viewer')).toThrow(/no account carol/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('reads the files written before town and admin accounts as they are, and keeps a town after the third colon', async () => {
    const h = await hashPassword('long enough');
    const old = `# station-agent county console accounts: name:role:scrypt hash (console.js user add)\nwangli:operator:${h}\nzhaomin:viewer:${h}\n`;
    expect(parseAccounts(old)).toEqual([
      { name: 'wangli', role: 'operator', hash: h, town: null },
      { name: 'zhaomin', role: 'viewer', hash: h, town: null },
    ]);
    const text = `boss:admin:${h}\nzhang:town:${h}:城关镇\nodd:town:${h}:A:B 镇\n`;
    const parsed = parseAccounts(text);
    expect(parsed.map((a) => [a.name, a.role, a.town])).toEqual([
      ['boss', 'admin', null],
      ['zhang', 'town', '城关镇'],
      ['odd', 'town', 'A:B 镇'],
    ]);
    // Written back, read again: the same accounts (a town with a colon included).
    expect(parseAccounts(formatAccounts(parsed))).toEqual(parsed);
    expect(formatAccounts(parsed)).toContain(`zhang:town:${h}:城关镇\n`);
    expect(() => parseAccounts(`zhang:town:${h}`)).toThrow(/line 1/);
    expect(() => parseAccounts(`wangli:operator:${h}:城关镇`)).toThrow(/line 1/);
    expect(() => parseAccounts(`zhang:town:${h}:`)).toThrow(/line 1/);
  });

  it('makes town and admin accounts from the command line functions, with the town only for the town role', async () => {
    const file = join(tempDir('accounts-'), 'users');
    await upsertAccount(file, 'boss', 'admin', 'first password');
    await upsertAccount(file, 'zhang', 'town', 'zhangs password', '城关镇');
    await expect(upsertAccount(file, 'li', 'town', 'lis password')).rejects.toThrow(/needs its town/);
    await expect(upsertAccount(file, 'li', 'viewer', 'lis password', '城关镇')).rejects.toThrow(/only a town account/);
    await expect(upsertAccount(file, 'li', 'town', 'lis password', ' 城关镇')).rejects.toThrow(/space/);
    await expect(upsertAccount(file, 'li', 'town', 'lis password', '城关\n镇')).rejects.toThrow(/control/);
    expect(() => setRole(file, 'boss', 'town')).toThrow(/needs its town/);
    setRole(file, 'boss', 'town', '东山乡');
    expect(readAccounts(file).map((a) => `${a.name}:${a.role}:${a.town}`)).toEqual(['boss:town:东山乡', 'zhang:town:城关镇']);
    setRole(file, 'boss', 'admin');
    expect(readAccounts(file).map((a) => `${a.name}:${a.role}:${a.town}`)).toEqual(['boss:admin:null', 'zhang:town:城关镇']);
  });

  it('writes the browser\'s changes through AccountFile and reports the changes it finds in the file as outside ones', async () => {
    const file = join(tempDir('accounts-'), 'users');
    await upsertAccount(file, 'boss', 'admin', 'first password');
    const accounts = new AccountFile(file);
    const outside: AccountChange[] = [];
    accounts.onOutsideChange = (c) => outside.push(...c);
    expect(await accounts.add('zhang', 'town', '城关镇', 'zhangs password')).toEqual([{ kind: 'account_add', name: 'zhang', role: 'town', town: '城关镇' }]);
    await expect(accounts.add('zhang', 'viewer', null, 'another password')).rejects.toMatchObject({ code: 'exists' });
    await expect(accounts.add('li', 'viewer', null, 'password123')).rejects.toThrow(/常见密码/);
    await expect(accounts.add('Li!', 'viewer', null, 'a fine long password')).rejects.toMatchObject({ code: 'bad_name' });
    expect(accounts.setRole('zhang', 'town', '东山乡')).toEqual([{ kind: 'account_role', name: 'zhang', from: { role: 'town', town: '城关镇' }, to: { role: 'town', town: '东山乡' } }]);
    expect(await accounts.setPassword('zhang', 'a new long password')).toEqual([{ kind: 'account_password', name: 'zhang' }]);
    expect((await accounts.verify('zhang', 'a new long password'))?.town).toBe('东山乡');
    expect(outside).toEqual([]);
    // The command line adds one meanwhile: reported at the next read, and kept by the next write.
    await upsertAccount(file, 'wang', 'operator', 'wangs password');
    expect(accounts.remove('zhang')).toEqual([{ kind: 'account_remove', name: 'zhang', role: 'town', town: '东山乡' }]);
    expect(outside).toEqual([{ kind: 'account_add', name: 'wang', role: 'operator', town: null }]);
    expect(accounts.list().map((a) => a.name)).toEqual(['boss', 'wang']);
    setRole(file, 'wang', 'viewer');
    removeAccount(file, 'boss');
    expect(accounts.get('wang')?.role).toBe('viewer');
    expect(outside.slice(1)).toEqual([
      { kind: 'account_role', name: 'wang', from: { role: 'operator', town: null }, to: { role: 'viewer', town: null } },
      { kind: 'account_remove', name: 'boss', role: 'admin', town: null },
    ]);
    expect(() => accounts.remove('nobody')).toThrow(/no account nobody/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).not.toMatch(/password/);
  });

  it('tells apart a role change and a password change in a diff', async () => {
    const h1 = await hashPassword('long enough');
    const h2 = await hashPassword('long enough');
    const m = (...a: Array<[string, Role, string, string | null]>) => new Map(a.map(([name, role, hash, town]) => [name, { name, role, hash, town }]));
    expect(diffAccounts(m(['a', 'viewer', h1, null]), m(['a', 'operator', h2, null]))).toEqual([
      { kind: 'account_role', name: 'a', from: { role: 'viewer', town: null }, to: { role: 'operator', town: null } },
      { kind: 'account_password', name: 'a' },
    ]);
  });

  it('keeps the last good accounts while the file is broken', async () => {
    const dir = tempDir('accounts-');
    const file = join(dir, 'users');
    await upsertAccount(file, 'alice', 'viewer', 'first password');
    const accounts = new AccountFile(file);
    writeFileSync(file, 'garbage line that is not an account\n');
    expect((await accounts.verify('alice', 'first password'))?.name).toBe('alice');
  });
});

describe('console sessions and lockout', () => {
  it('expires a session after the idle time and after the maximum age', () => {
    let now = 0;
    const signIns = new SignIns({ idleMs: 1_000, maxAgeMs: 5_000, now: () => now });
    const s = signIns.create('alice', 'operator', 'h');
    expect(s.id).not.toBe(s.csrf);
    now = 900;
    expect(signIns.get(s.id)?.user).toBe('alice');
    now = 1_800;
    expect(signIns.get(s.id)?.user).toBe('alice');
    now = 2_900;
    expect(signIns.get(s.id)).toBeUndefined();
    const t = signIns.create('bob', 'viewer', 'h');
    for (now = 3_000; now <= 8_000; now += 900) signIns.get(t.id);
    expect(signIns.get(t.id)).toBeUndefined();
  });

  it('bounds the number of sessions, dropping the oldest', () => {
    const signIns = new SignIns({ maxSignIns: 2 });
    const a = signIns.create('a', 'viewer', 'h');
    const b = signIns.create('b', 'viewer', 'h');
    const c = signIns.create('c', 'viewer', 'h');
    expect(signIns.get(a.id)).toBeUndefined();
    expect(signIns.get(b.id)?.user).toBe('b');
    expect(signIns.get(c.id)?.user).toBe('c');
  });

  it('locks a key after N failures for the lock time, and a success clears the count', () => {
    let now = 0;
    const lock = new Lockout({ maxFailures: 3, windowMs: 60_000, lockMs: 10_000, now: () => now });
    lock.attempt('alice');
    lock.attempt('alice');
    expect(lock.lockedFor('alice')).toBe(0);
    lock.attempt('alice');
    expect(lock.lockedFor('alice')).toBe(10_000);
    expect(lock.lockedFor('bob')).toBe(0);
    now = 9_999;
    expect(lock.lockedFor('alice')).toBe(1);
    now = 10_000;
    expect(lock.lockedFor('alice')).toBe(0);
    lock.attempt('bob');
    lock.attempt('bob');
    lock.succeed('bob');
    lock.attempt('bob');
    expect(lock.lockedFor('bob')).toBe(0);
  });

  it('counts attempts as they start, so a burst in flight locks at the limit; a right one is taken back', () => {
    const lock = new Lockout({ maxFailures: 3, windowMs: 60_000, lockMs: 10_000, now: () => 0 });
    // Three attempts begun, none finished: the fourth is refused before any password is checked.
    for (let i = 0; i < 3; i++) {
      expect(lock.lockedFor('office')).toBe(0);
      lock.attempt('office');
    }
    expect(lock.lockedFor('office')).toBe(10_000);
    // One of the three was right: the address is open again for exactly one more attempt.
    lock.forgive('office');
    expect(lock.lockedFor('office')).toBe(0);
    lock.attempt('office');
    expect(lock.lockedFor('office')).toBe(10_000);
    lock.forgive('nobody');
    expect(lock.lockedFor('nobody')).toBe(0);
  });

  it('forgets failures older than the window', () => {
    let now = 0;
    const lock = new Lockout({ maxFailures: 2, windowMs: 1_000, lockMs: 10_000, now: () => now });
    lock.attempt('x');
    now = 2_000;
    lock.attempt('x');
    expect(lock.lockedFor('x')).toBe(0);
    lock.attempt('x');
    expect(lock.lockedFor('x')).toBe(10_000);
  });

  it('compares tokens in constant time and refuses missing ones', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', 'abcd')).toBe(false);
    expect(sameToken('', '')).toBe(false);
    expect(sameToken(undefined, 'abc')).toBe(false);
  });
});
