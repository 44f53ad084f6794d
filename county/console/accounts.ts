/**
 * The accounts file as the running console sees it (format, hashing and the command line's functions:
 * account-records.ts, re-exported here). It is re-read when
 * its inode, modification time (ns) or size changes, so a `user` command or an edit by hand takes effect
 * at the next request with no restart; changing or removing an account ends its sign-ins then
 * (server.ts). An admin's changes in the browser are written here, through the same temporary file and
 * rename as the command line's. Every change is reported as an AccountChange: the console's own with the
 * admin who made it, one found in the file (the command line, an edit by hand) as such, for the audit log.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { AccountError, hashPassword, readAccounts, readAccountsOrNone, roleTown, USER_NAME, verifyPassword, withAccount, writeAccounts, type Account, type Role } from './account-records.js';
import { checkNewPassword } from './password-policy.js';

export * from './account-records.js';

export type AccountChange =
  | { kind: 'account_add'; name: string; role: Role; town: string | null }
  | { kind: 'account_role'; name: string; from: { role: Role; town: string | null }; to: { role: Role; town: string | null } }
  | { kind: 'account_password'; name: string }
  | { kind: 'account_remove'; name: string; role: Role; town: string | null };

/** What changed from `before` to `after` (never a hash or a password: only that one changed). */
export function diffAccounts(before: ReadonlyMap<string, Account>, after: ReadonlyMap<string, Account>): AccountChange[] {
  const out: AccountChange[] = [];
  for (const [name, a] of after) {
    const b = before.get(name);
    if (!b) {
      out.push({ kind: 'account_add', name, role: a.role, town: a.town });
      continue;
    }
    if (b.role !== a.role || b.town !== a.town) out.push({ kind: 'account_role', name, from: { role: b.role, town: b.town }, to: { role: a.role, town: a.town } });
    if (b.hash !== a.hash) out.push({ kind: 'account_password', name });
  }
  for (const [name, b] of before) if (!after.has(name)) out.push({ kind: 'account_remove', name, role: b.role, town: b.town });
  return out;
}

/** The part of a sign-in checked against the account at every request. */
export interface SignedAs {
  user: string;
  role: Role;
  hash: string;
  town: string | null;
}

export class AccountFile {
  private accounts = new Map<string, Account>();
  private stamp = '';
  /** A hash to verify against for unknown names, so a wrong name costs as long as a wrong password. */
  private decoy: Promise<string> | undefined;
  /** Told of changes found in the file that this console did not write (set by the console). */
  onOutsideChange: ((changes: AccountChange[]) => void) | undefined;

  constructor(readonly file: string) {
    this.refresh(false);
  }

  private stampOf(): string {
    const st = statSync(this.file, { bigint: true });
    return `${st.ino}:${st.mtimeNs}:${st.ctimeNs}:${st.size}`;
  }

  private refresh(report = true): void {
    const stamp = this.stampOf();
    if (stamp === this.stamp) return;
    this.adopt(readAccounts(this.file), stamp, report);
  }

  private adopt(list: readonly Account[], stamp: string, report: boolean): void {
    const next = new Map(list.map((a) => [a.name, a]));
    const changes = report ? diffAccounts(this.accounts, next) : [];
    this.accounts = next;
    this.stamp = stamp;
    if (changes.length) this.onOutsideChange?.(changes);
  }

  private tryRefresh(): void {
    try {
      this.refresh();
    } catch {
      // A file being edited by hand may be unreadable for a moment: keep the last good accounts.
    }
  }

  /**
   * Whether a sign-in still stands: its account exists with the same role, town and password hash.
   * Checked at every request (a stat of the file), so a changed or removed account loses its sign-ins
   * at once, with no signal or restart.
   */
  stillValid(s: SignedAs): boolean {
    this.tryRefresh();
    const a = this.accounts.get(s.user);
    return a !== undefined && a.role === s.role && a.hash === s.hash && a.town === s.town;
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

  /** Every account, by name (hashes included: for the server, never for a page). */
  list(): Account[] {
    this.tryRefresh();
    return [...this.accounts.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): Account | undefined {
    this.tryRefresh();
    return this.accounts.get(name);
  }

  /**
   * Reads the file, reports what changed in it since the last read (someone else's change), applies
   * `change` and writes the result: synchronous from the read to the rename, so no other change of this
   * process comes in between. Returns what this change did.
   */
  private write(change: (current: Account[]) => Account[]): AccountChange[] {
    const before = readAccountsOrNone(this.file);
    this.adopt(before, this.stamp, true);
    const after = change(before);
    writeAccounts(this.file, after);
    const mine = diffAccounts(new Map(before.map((a) => [a.name, a])), new Map(after.map((a) => [a.name, a])));
    this.adopt(after, this.stampOf(), false);
    return mine;
  }

  private need(current: readonly Account[], name: string): Account {
    const a = current.find((x) => x.name === name);
    if (!a) throw new AccountError('no_account', `no account ${name}`);
    return a;
  }

  /** A new account (never replaces one: the browser's "add"); the password must pass the policy. */
  async add(name: string, role: Role, town: string | null, password: string): Promise<AccountChange[]> {
    if (!USER_NAME.test(name)) throw new AccountError('bad_name', `user name must match ${USER_NAME.source}`);
    const rt = roleTown(role, town);
    if (this.get(name)) throw new AccountError('exists', `account ${name} exists`);
    await checkNewPassword(name, password);
    const hash = await hashPassword(password);
    return this.write((current) => {
      if (current.some((a) => a.name === name)) throw new AccountError('exists', `account ${name} exists`);
      return withAccount(current, { name, ...rt, hash });
    });
  }

  /** A new role (and town) for an existing account; its sign-ins end. */
  setRole(name: string, role: Role, town: string | null): AccountChange[] {
    const rt = roleTown(role, town);
    return this.write((current) => {
      this.need(current, name);
      return current.map((a) => (a.name === name ? { ...a, ...rt } : a));
    });
  }

  /** A new password for an existing account (policy applies); its sign-ins end. */
  async setPassword(name: string, password: string): Promise<AccountChange[]> {
    if (!this.get(name)) throw new AccountError('no_account', `no account ${name}`);
    await checkNewPassword(name, password);
    const hash = await hashPassword(password);
    return this.write((current) => {
      this.need(current, name);
      return current.map((a) => (a.name === name ? { ...a, hash } : a));
    });
  }

  remove(name: string): AccountChange[] {
    return this.write((current) => {
      this.need(current, name);
      return current.filter((a) => a.name !== name);
    });
  }
}
