/**
 * Console accounts and sign-in state: scrypt hashes (node:crypto) that verify only the right password,
 * an accounts file that refuses malformed lines, sessions that expire, a lockout that refuses even the
 * right password once an account has failed N times (fake clocks: no waiting).
 */
import { describe, it, expect } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scryptSync } from 'node:crypto';
import { AccountFile, hashPassword, parseAccounts, readAccounts, removeAccount, setPassword, setRole, upsertAccount, verifyPassword } from '../../../county/console/accounts.js';
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
    expect(() => parseAccounts(`alice:admin:${h}`)).toThrow(/line 1/);
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
    expect(accounts.stillValid('alice', 'operator', first.hash)).toBe(true);
    await setPassword(file, 'alice', 'second password');
    expect(accounts.stillValid('alice', 'operator', first.hash)).toBe(false);
    const second = (await accounts.verify('alice', 'second password'))!;
    expect(second.role).toBe('operator');
    setRole(file, 'alice', 'viewer');
    expect(accounts.stillValid('alice', 'operator', second.hash)).toBe(false);
    expect(accounts.stillValid('alice', 'viewer', second.hash)).toBe(true);
    expect(readAccounts(file).map((a) => `${a.name}:${a.role}`)).toEqual(['alice:viewer', 'bob:viewer']);
    removeAccount(file, 'alice');
    expect(accounts.stillValid('alice', 'viewer', second.hash)).toBe(false);
    await expect(setPassword(file, 'carol', 'some long password')).rejects.toThrow(/no account carol/);
    expect(() => setRole(file, 'carol', 'viewer')).toThrow(/no account carol/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
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
