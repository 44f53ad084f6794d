/**
 * Console accounts: a text file of `name:role:scrypt$N$r$p$salt$hash` lines (salt and hash base64), so
 * the county's IT keeps it like an htpasswd file; a `town` account adds its town after a fourth colon,
 * `name:town:scrypt$…:城关镇` (files written before town accounts keep working as they are). Passwords
 * are hashed with node:crypto scrypt. The running console reads and writes the file through
 * AccountFile (accounts.ts, which re-exports this module); these functions are the command line's
 * (`console.js user …`). What each role may do: access.ts.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { checkNewPassword, PASSWORD_MAX, PASSWORD_MIN } from './password-policy.js';

/** `viewer` reads, `operator` also pushes, `town` reads and pushes in its own town, `admin` also manages accounts. */
export const ROLES = ['viewer', 'operator', 'town', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export const isRole = (v: string): v is Role => (ROLES as readonly string[]).includes(v);

export interface Account {
  name: string;
  role: Role;
  hash: string;
  /** The town a `town` account is bound to (as its stations report it); null for every other role. */
  town: string | null;
}

/** At most a station's own town field (protocol/payloads.ts PAYLOAD_CAPS.text). */
export const TOWN_MAX = 256;

/** Why `town` cannot be a town account's town, or null: 1–256 characters, no control characters, no edge spaces. */
export function townProblem(town: string): string | null {
  if (town.length === 0 || town.length > TOWN_MAX) return `a town has 1–${TOWN_MAX} characters`;
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(town)) return 'a town has no control characters';
  if (town.trim() !== town) return 'a town neither starts nor ends with a space';
  return null;
}

/** The role with its town as the file keeps it: a town for `town` and only for it. */
export function roleTown(role: Role, town: string | null | undefined): { role: Role; town: string | null } {
  if (role !== 'town') {
    if (town) throw new AccountError('town_only', `only a town account has a town (${role} has none)`);
    return { role, town: null };
  }
  if (!town) throw new AccountError('town_needed', 'a town account needs its town (--town)');
  const problem = townProblem(town);
  if (problem) throw new AccountError('bad_town', problem);
  return { role, town };
}

/** A refused account change, with a code the console words in zh and en. */
export class AccountError extends Error {
  constructor(
    readonly code: 'bad_name' | 'bad_town' | 'town_needed' | 'town_only' | 'no_account' | 'exists' | 'self' | 'too_many' | 'mismatch',
    message: string,
  ) {
    super(message);
  }
}

export const USER_NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
export { PASSWORD_MAX, PASSWORD_MIN };
const MAX_FILE_BYTES = 1024 * 1024;
const MAX_ACCOUNTS = 1000;
/** 2^15 × 8 × 128 B = 32 MiB and ~50 ms per hash: slow for a guesser, fine for a login. */
const DEFAULT_PARAMS = { N: 1 << 15, r: 8, p: 1 };
const KEY_LEN = 32;

function scrypt(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(password, salt, KEY_LEN, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export function checkPassword(password: string): string | null {
  if (password.length < PASSWORD_MIN) return `a password has at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `a password has at most ${PASSWORD_MAX} characters`;
  return null;
}

export async function hashPassword(password: string, params = DEFAULT_PARAMS): Promise<string> {
  const problem = checkPassword(password);
  if (problem) throw new Error(problem);
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const HASH = /^scrypt\$(\d{1,8})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]{16,64})\$([A-Za-z0-9+/=]{40,64})$/;

/** Parameters are bounded so a tampered file cannot make one login eat the server's memory. */
function parseHash(hash: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const m = HASH.exec(hash);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 1024 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 1 || r > 16 || p < 1 || p > 4) return null;
  const key = Buffer.from(m[5]!, 'base64');
  return key.length === KEY_LEN ? { N, r, p, salt: Buffer.from(m[4]!, 'base64'), key } : null;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const h = parseHash(hash);
  if (!h || password.length > PASSWORD_MAX) return false;
  const key = await scrypt(password, h.salt, h);
  return timingSafeEqual(key, h.key);
}

/**
 * Parses the file's text; a bad line is an error naming its line number (the file is the admin's). The
 * town is everything after the third colon (name, role and hash have none), so a town may hold one.
 */
export function parseAccounts(text: string): Account[] {
  const accounts: Account[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const [name, role, hash, ...rest] = t.split(':');
    const town = rest.length ? rest.join(':') : null;
    const townOk = role === 'town' ? town !== null && townProblem(town) === null : town === null;
    if (!name || !USER_NAME.test(name) || !role || !isRole(role) || !hash || !parseHash(hash) || !townOk) {
      throw new Error(`accounts file line ${i + 1}: expected name:viewer|operator|admin:scrypt$… or name:town:scrypt$…:town (name ${USER_NAME.source})`);
    }
    if (seen.has(name)) throw new Error(`accounts file line ${i + 1}: ${name} appears twice`);
    seen.add(name);
    accounts.push({ name, role, hash, town });
  });
  if (accounts.length > MAX_ACCOUNTS) throw new Error(`accounts file: at most ${MAX_ACCOUNTS} accounts`);
  return accounts;
}

export function formatAccounts(accounts: readonly Account[]): string {
  const line = (a: Account) => `${a.name}:${a.role}:${a.hash}${a.role === 'town' && a.town !== null ? `:${a.town}` : ''}`;
  return ['# station-agent county console accounts: name:role:scrypt hash[:town] (console.js user add)', ...accounts.map(line)].join('\n') + '\n';
}

export function readAccounts(file: string): Account[] {
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new Error(`accounts file ${file} is over ${MAX_FILE_BYTES} bytes`);
  return parseAccounts(readFileSync(file, 'utf8'));
}

/** Writes through a temporary file and a rename (a crash never leaves half a file), owner-only. */
export function writeAccounts(file: string, accounts: readonly Account[]): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, formatAccounts(accounts), { mode: 0o600 });
  renameSync(tmp, file);
}

/** The accounts in `file`, or none when it does not exist yet. */
export function readAccountsOrNone(file: string): Account[] {
  try {
    return readAccounts(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** `accounts` with `name` added or replaced (its place kept), refusing a bad name or too many accounts. */
export function withAccount(accounts: readonly Account[], a: Account): Account[] {
  if (!USER_NAME.test(a.name)) throw new AccountError('bad_name', `user name must match ${USER_NAME.source}`);
  if (accounts.some((x) => x.name === a.name)) return accounts.map((x) => (x.name === a.name ? a : x));
  if (accounts.length >= MAX_ACCOUNTS) throw new AccountError('too_many', `at most ${MAX_ACCOUNTS} accounts`);
  return [...accounts, a];
}

/**
 * Adds the account or replaces its role and password; the password must pass the policy
 * (password-policy.ts). `town` only for the `town` role.
 */
export async function upsertAccount(file: string, name: string, role: Role, password: string, town: string | null = null): Promise<void> {
  if (!USER_NAME.test(name)) throw new AccountError('bad_name', `user name must match ${USER_NAME.source}`);
  const rt = roleTown(role, town);
  await checkNewPassword(name, password);
  const hash = await hashPassword(password);
  // Read after the slow hash: a change made meanwhile is kept.
  writeAccounts(file, withAccount(readAccountsOrNone(file), { name, ...rt, hash }));
}

function existing(file: string, name: string): Account[] {
  const accounts = readAccounts(file);
  if (!accounts.some((a) => a.name === name)) throw new AccountError('no_account', `no account ${name} in ${file}`);
  return accounts;
}

/** A new password for an existing account (its role kept); its sign-ins end. */
export async function setPassword(file: string, name: string, password: string): Promise<void> {
  existing(file, name);
  await checkNewPassword(name, password);
  const hash = await hashPassword(password);
  // Read again after the slow hash: another change in between is kept.
  writeAccounts(file, existing(file, name).map((a) => (a.name === name ? { ...a, hash } : a)));
}

/** A new role (and town, for `town`) for an existing account; its sign-ins end (they carry the old role). */
export function setRole(file: string, name: string, role: Role, town: string | null = null): void {
  const rt = roleTown(role, town);
  writeAccounts(file, existing(file, name).map((a) => (a.name === name ? { ...a, ...rt } : a)));
}

export function removeAccount(file: string, name: string): boolean {
  const accounts = readAccounts(file);
  const left = accounts.filter((a) => a.name !== name);
  if (left.length === accounts.length) return false;
  writeAccounts(file, left);
  return true;
}
