/**
 * The password policy of `console.js user add|passwd`: long enough, not the account name, not a common
 * password (the zxcvbn-ts list), with the reason in Chinese and English.
 */
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { upsertAccount } from '../../../county/console/accounts.js';
import { commonPasswords, passwordProblem, PasswordPolicyError } from '../../../county/console/password-policy.js';
import { tempDir } from '../../helpers/temp.js';

describe('console password policy', () => {
  it('refuses short, name-like, repetitive and common passwords, and accepts a long uncommon one', async () => {
    const code = async (name: string, pw: string) => (await passwordProblem(name, pw))?.code ?? null;
    expect(await code('wangli', 'short-pw1')).toBe('too_short');
    expect(await code('wangli', 'x'.repeat(257))).toBe('too_long');
    expect(await code('wangli', 'WANGLI2024!')).toBe('is_name');
    expect(await code('wangli.county', 'wangli.county')).toBe('is_name');
    expect(await code('wangli', 'ilgnaw2024')).toBe('is_name');
    expect(await code('zhaomin', 'nimoahz123')).toBe('is_name');
    expect(await code('wangli', 'aaaaaaaaaaaa')).toBe('repetitive');
    expect(await code('wangli', '1212121212')).toBe('repetitive');
    expect(await code('wangli', '1qaz2wsx3edc')).toBe('common');
    expect(await code('wangli', 'Password123456')).toBe('common');
    expect(await code('wangli', 'qwertyuiop!!')).toBe('common');
    expect(await code('wangli', 'woaini1314')).toBe('common');
    expect(await code('wangli', '城关镇教学点2024')).toBeNull();
    expect(await code('wangli', 'violet-harbour-ledger')).toBeNull();
  });

  it('ships thousands of common passwords, the most common first among them', async () => {
    const list = await commonPasswords();
    expect(list.size).toBeGreaterThan(10_000);
    for (const p of ['123456', 'password', 'qwerty', '123456789', 'iloveyou']) expect(list.has(p)).toBe(true);
  });

  it('gives the reason in Chinese first, then English, and writes nothing when refused', async () => {
    const dir = tempDir('policy-');
    const file = join(dir, 'users');
    const err = await upsertAccount(file, 'wangli', 'operator', 'password1234').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PasswordPolicyError);
    expect((err as Error).message).toBe('这是常见密码，很容易被猜中，请换一个。\nThis is a common password that is easy to guess; choose another one.');
    await expect(upsertAccount(file, 'wangli', 'operator', 'short')).rejects.toThrow(/^密码太短：至少 10 个字符。\nThe password is too short/);
    expect(existsSync(file)).toBe(false);
  });
});
