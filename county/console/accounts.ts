/**
 * Console accounts: a text file of `name:role:scrypt$N$r$p$salt$hash` lines (salt and hash base64), so
 * the county's IT keeps it like an htpasswd file. Passwords are hashed with node:crypto scrypt; the file
 * is re-read when it changes, so adding a user needs no restart, and changing or removing one ends its
 * sign-ins at their next request (server.ts). Roles: `viewer` reads, `operator` also pushes schedules.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { checkNewPassword, PASSWORD_MAX, PASSWORD_MIN } from './password-policy.js';

export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export interface Account {
  name: string;
  role: Role;
  hash: string;
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

/** Parses the file's text; a bad line is an error naming its line number (the file is the admin's). */
export function parseAccounts(text: string): Account[] {
  const accounts: Account[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) return;
    const [name, role, hash, ...rest] = t.split(':');
    if (rest.length || !name || !USER_NAME.test(name) || !ROLES.includes(role as Role) || !hash || !parseHash(hash)) {
      throw new Error(`accounts file line ${i + 1}: expected name:viewer|operator:scrypt$… (name ${USER_NAME.source})`);
    }
    if (seen.has(name)) throw new Error(`accounts file line ${i + 1}: ${name} appears twice`);
    seen.add(name);
    accounts.push({ name, role: role as Role, hash });
  });
  if (accounts.length > MAX_ACCOUNTS) throw new Error(`accounts file: at most ${MAX_ACCOUNTS} accounts`);
  return accounts;
}

export function formatAccounts(accounts: readonly Account[]): string {
  return ['# station-agent county console accounts: name:role:scrypt hash (console.js user add)', ...accounts.map((a) => `${a.name}:${a.role}:${a.hash}`)].join('\n') + '\n';
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

/** Adds the account or replaces its role and password; the password must pass the policy (password-policy.ts). */
export async function upsertAccount(file: string, name: string, role: Role, password: string): Promise<void> {
  if (!USER_NAME.test(name)) throw new Error(`user name must match ${USER_NAME.source}`);
  await checkNewPassword(name, password);
  let accounts: Account[] = [];
  try {
    accounts = readAccounts(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const hash = await hashPassword(password);
  writeAccounts(file, [...accounts.filter((a) => a.name !== name), { name, role, hash }]);
}

function existing(file: string, name: string): Account[] {
  const accounts = readAccounts(file);
  if (!accounts.some((a) => a.name === name)) throw new Error(`no account ${name} in ${file}`);
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

/** A new role for an existing account; its sign-ins end (they carry the old role). */
export function setRole(file: string, name: string, role: Role): void {
  writeAccounts(file, existing(file, name).map((a) => (a.name === name ? { ...a, role } : a)));
}

export function removeAccount(file: string, name: string): boolean {
  const accounts = readAccounts(file);
  const left = accounts.filter((a) => a.name !== name);
  if (left.length === accounts.length) return false;
  writeAccounts(file, left);
  return true;
}

/**
 * The accounts file as the server sees it: re-read when its inode, modification time (ns) or size
 * changes. `user add|passwd|role|remove` replace the file by a rename, so each change is a new inode.
 */
export class AccountFile {
  private accounts = new Map<string, Account>();
  private stamp = '';
  /** A hash to verify against for unknown names, so a wrong name costs as long as a wrong password. */
  private decoy: Promise<string> | undefined;

  constructor(readonly file: string) {
    this.refresh();
  }

  private refresh(): void {
    const st = statSync(this.file, { bigint: true });
    const stamp = `${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
    if (stamp === this.stamp) return;
    this.accounts = new Map(readAccounts(this.file).map((a) => [a.name, a]));
    this.stamp = stamp;
  }

  private tryRefresh(): void {
    try {
      this.refresh();
    } catch {
      // A file being edited by hand may be unreadable for a moment: keep the last good accounts.
    }
  }

  /**
   * Whether a sign-in of `name` made with `role` and password `hash` still stands: the account exists
   * with the same role and the same password hash. Checked at every request (a stat of the file), so a
   * changed or removed account loses its sign-ins at once, with no signal or restart.
   */
  stillValid(name: string, role: Role, hash: string): boolean {
    this.tryRefresh();
    const a = this.accounts.get(name);
    return a !== undefined && a.role === role && a.hash === hash;
  }

  /** The account when `password` is right, else null (same work either way). */
  async verify(name: string, password: string): Promise<Account | null> {
    this.tryRefresh();
    const account = this.accounts.get(name);
    const hash = account?.hash ?? (await (this.decoy ??= hashPassword(randomBytes(12).toString('hex'))));
    const ok = await verifyPassword(password, hash);
    return ok && account ? account : null;
  }

  count(): number {
    return this.accounts.size;
  }
}
