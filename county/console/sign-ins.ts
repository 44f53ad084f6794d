/**
 * Console sign-ins and the lockout, both in memory: a console restart signs everyone out, which is the
 * safe direction. Each sign-in carries its own CSRF token, put into every form and checked on every
 * POST. Both maps are bounded so a flood of logins or guesses cannot grow the process.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from './account-records.js';

export interface SignIn {
  id: string;
  user: string;
  role: Role;
  /** The account's password hash at sign-in: a changed password ends the sign-in (server.ts). */
  hash: string;
  /** A `town` account's town at sign-in (a changed town ends the sign-in too); null for other roles. */
  town: string | null;
  csrf: string;
  createdMs: number;
  seenMs: number;
}

export const token = (): string => randomBytes(32).toString('base64url');

/** Constant-time comparison of two tokens (false for different lengths or a missing one). */
export function sameToken(a: string | undefined | null, b: string | undefined | null): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface SignInOptions {
  /** Logged out after this long without a request. Default 30 min. */
  idleMs?: number;
  /** Logged out this long after the login whatever happens. Default 12 h. */
  maxAgeMs?: number;
  maxSignIns?: number;
  now?: () => number;
}

export class SignIns {
  private readonly map = new Map<string, SignIn>();
  private readonly idleMs: number;
  private readonly maxAgeMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(o: SignInOptions = {}) {
    this.idleMs = o.idleMs ?? 30 * 60_000;
    this.maxAgeMs = o.maxAgeMs ?? 12 * 3600_000;
    this.max = o.maxSignIns ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  /** A fresh session (a new id at every login: a planted id never becomes a logged-in one). */
  create(user: string, role: Role, hash: string, town: string | null = null): SignIn {
    const now = this.now();
    if (this.map.size >= this.max) {
      // Maps iterate in insertion order: the first is the oldest login.
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    const s: SignIn = { id: token(), user, role, hash, town, csrf: token(), createdMs: now, seenMs: now };
    this.map.set(s.id, s);
    return s;
  }

  get(id: string | undefined): SignIn | undefined {
    if (!id || id.length > 64) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.seenMs > this.idleMs || now - s.createdMs > this.maxAgeMs) {
      this.map.delete(id);
      return undefined;
    }
    s.seenMs = now;
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.map.delete(id);
  }

  /** Ends every session of `user` (their account was removed or their role changed). */
  deleteUser(user: string): void {
    for (const [id, s] of this.map) if (s.user === user) this.map.delete(id);
  }

  size(): number {
    return this.map.size;
  }
}

export interface LockoutOptions {
  /** Failures within `windowMs` that lock the key. Default 5. */
  maxFailures?: number;
  windowMs?: number;
  /** How long a locked key stays locked. Default 15 min. */
  lockMs?: number;
  maxKeys?: number;
  now?: () => number;
}

/**
 * Counts sign-in attempts per key (the account name, and separately the client address) and locks a key
 * after `maxFailures` within `windowMs`. While locked even the right password is refused, so guessing
 * cannot continue by trying the real one in between.
 *
 * An attempt is counted when it starts, before its password is checked (`attempt`), not when the check
 * has failed: the check awaits scrypt, and a burst of guesses sent at once would otherwise all pass the
 * lock before the first failure is counted (issue row 1: 300 at once, all 300 checked). A right password
 * takes its count back (`succeed` for the account, `forgive` for the address).
 */
export class Lockout {
  private readonly map = new Map<string, { failures: number; firstMs: number; lockedUntil: number }>();
  readonly maxFailures: number;
  private readonly windowMs: number;
  readonly lockMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(o: LockoutOptions = {}) {
    this.maxFailures = o.maxFailures ?? 5;
    this.windowMs = o.windowMs ?? 15 * 60_000;
    this.lockMs = o.lockMs ?? 15 * 60_000;
    this.maxKeys = o.maxKeys ?? 50_000;
    this.now = o.now ?? Date.now;
  }

  /** Ms until `key` may try again; 0 when it may. */
  lockedFor(key: string): number {
    const e = this.map.get(key);
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - this.now());
  }

  /**
   * Counts one attempt at `key` (call after lockedFor said 0, before awaiting the password check); true
   * when this attempt locked the key (the audit log records the lockout if the attempt then fails).
   */
  attempt(key: string): boolean {
    const now = this.now();
    let e = this.map.get(key);
    if (!e || (now - e.firstMs > this.windowMs && e.lockedUntil <= now)) {
      if (!e && this.map.size >= this.maxKeys) {
        const oldest = this.map.keys().next().value;
        if (oldest !== undefined) this.map.delete(oldest);
      }
      e = { failures: 0, firstMs: now, lockedUntil: 0 };
      this.map.set(key, e);
    }
    e.failures++;
    if (e.failures < this.maxFailures || e.lockedUntil > now) return false;
    e.lockedUntil = now + this.lockMs;
    return true;
  }

  /** The account's password was right: its count starts again. */
  succeed(key: string): void {
    this.map.delete(key);
  }

  /**
   * Takes back one attempt at `key` that turned out right (the address of a successful sign-in): one
   * address may sign in many accounts, only its wrong guesses count against it.
   */
  forgive(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    e.failures = Math.max(0, e.failures - 1);
    if (e.failures < this.maxFailures) e.lockedUntil = 0;
    if (e.failures === 0) this.map.delete(key);
  }
}
