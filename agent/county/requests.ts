/**
 * The gate every county request passes before it reaches the command registry: size, JSON, shape,
 * signature, freshness, allowlist, replay. Pure logic (the clock and the seen-transaction store are
 * injected) so each refusal is unit tested; request admission (admission.ts) records the transaction
 * and publishes what this decides.
 */
import { z } from 'zod';
import { RequestSchema, RequestErrorCodes, TransactionSchema } from '../../protocol/payloads.js';
import { MAX_REQUEST_SKEW_MS, verifyRequest } from '../../protocol/signing.js';

export const MAX_REQUEST_BYTES = 64 * 1024;

export type Verdict =
  | { ok: true; action: string; transaction: string; args: Record<string, unknown> }
  | { ok: false; transaction: string | null; code: string; message: string };

/** Where the seen transactions are kept, one entry each (the store's `seenTransactions`). */
export interface SeenTransactions {
  has(tx: string, nowMs: number): boolean;
  add(tx: string, expiresMs: number): void;
  /** Forgets entries expired at `nowMs`. */
  prune(nowMs: number): number;
  /** Forgets the `count` entries that expire first. */
  evictOldest(count: number): number;
  totals(): { count: number; bytes: number };
}

export interface ReplayCacheOptions {
  /** How long an entry lives: twice the skew window, since anything older is refused as stale anyway. */
  ttlMs?: number;
  maxEntries?: number;
  /** Characters of transaction ids kept (they are ASCII): bounds the table whatever their length. */
  maxBytes?: number;
  /**
   * What to do when full of live entries. With a command key only the county's own signed requests
   * are ever recorded, so a full cache is refused (`busy`) rather than forgetting an entry that could
   * then be replayed. Without one anyone can mint transactions, the cache only makes a QoS 1
   * redelivery run once (it comes within seconds), so the oldest entries go and the county is never
   * locked out by a flood.
   */
  whenFull: 'refuse' | 'evict_oldest';
}

/** Expired entries are deleted at most this often (each delete is a write). */
const PRUNE_EVERY_MS = 60_000;

/**
 * Transactions seen recently, so a replayed (or QoS 1 duplicated) request runs once. Each admitted
 * request costs one small row (`record`); the bounds are kept by counting here, not by reading the
 * table back on every request.
 */
export class ReplayCache {
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private count = 0;
  private bytes = 0;
  private prunedAtMs = -Infinity;

  constructor(
    private readonly store: SeenTransactions,
    private readonly opts: ReplayCacheOptions,
  ) {
    this.ttlMs = opts.ttlMs ?? 2 * MAX_REQUEST_SKEW_MS;
    this.maxEntries = opts.maxEntries ?? 10_000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  /** Drops what expired while the agent was down and counts the rest. */
  load(nowMs: number): void {
    this.prune(nowMs);
  }

  has(tx: string, nowMs: number): boolean {
    return this.store.has(tx, nowMs);
  }

  /** Remembers `tx`; false (nothing recorded) when full of live entries and refusing. */
  record(tx: string, nowMs: number): boolean {
    if (nowMs - this.prunedAtMs >= PRUNE_EVERY_MS) this.prune(nowMs);
    if (!this.fits(tx)) {
      this.prune(nowMs);
      if (!this.fits(tx)) {
        if (this.opts.whenFull === 'refuse') return false;
        // A hundredth at a time, so a steady flood costs one delete per hundred requests.
        while (!this.fits(tx) && this.count > 0) {
          this.store.evictOldest(Math.max(1, Math.ceil(this.maxEntries / 100)));
          this.recount();
        }
      }
    }
    this.store.add(tx, nowMs + this.ttlMs);
    this.count++;
    this.bytes += tx.length;
    return true;
  }

  get size(): number {
    return this.count;
  }

  private fits(tx: string): boolean {
    return this.count + 1 <= this.maxEntries && this.bytes + tx.length <= this.maxBytes;
  }

  private prune(nowMs: number): void {
    this.prunedAtMs = nowMs;
    this.store.prune(nowMs);
    this.recount();
  }

  private recount(): void {
    const t = this.store.totals();
    this.count = t.count;
    this.bytes = t.bytes;
  }
}

export interface GuardOptions {
  stationId: string;
  allowed: readonly string[];
  /** The HMAC key; when set every request must be signed, carry `ts`, and be fresh. */
  key?: Buffer;
  nowMs: () => number;
  replay: Pick<ReplayCache, 'has'>;
}

const TX_SNIFF = /"transaction"\s*:\s*"([\x21-\x7e]{1,128}?)"/;

/** Best effort: the transaction of a payload too large or too broken to parse, to address the error. */
export function sniffTransaction(raw: Buffer): string | null {
  const head = raw.subarray(0, 4096).toString('utf8');
  const m = TX_SNIFF.exec(head);
  return m && TransactionSchema.safeParse(m[1]).success ? m[1]! : null;
}

export class RequestGuard {
  constructor(private readonly opts: GuardOptions) {}

  check(action: string, raw: Buffer): Verdict {
    const fail = (transaction: string | null, code: string, message: string): Verdict => ({ ok: false, transaction, code, message });
    if (raw.length > MAX_REQUEST_BYTES) {
      return fail(sniffTransaction(raw), RequestErrorCodes.too_large, `request of ${raw.length} bytes exceeds ${MAX_REQUEST_BYTES}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return fail(sniffTransaction(raw), RequestErrorCodes.malformed, 'payload is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(null, RequestErrorCodes.malformed, 'payload must be a JSON object');
    }
    const parsed = RequestSchema.safeParse(body);
    if (!parsed.success) {
      const txRaw = (body as Record<string, unknown>)['transaction'];
      const tx = TransactionSchema.safeParse(txRaw);
      return fail(tx.success ? tx.data : null, RequestErrorCodes.malformed, describeIssues(parsed.error));
    }
    const req = parsed.data;
    const tx = req.transaction;
    const now = this.opts.nowMs();
    // The signature first: an unsigned probe must not learn which actions this station allows.
    if (this.opts.key) {
      if (req.sig === undefined) return fail(tx, RequestErrorCodes.bad_signature, 'request must be signed (sig)');
      if (req.ts === undefined) return fail(tx, RequestErrorCodes.stale, 'signed request must carry ts');
      if (!verifyRequest(this.opts.key, this.opts.stationId, action, body as Record<string, unknown>)) {
        return fail(tx, RequestErrorCodes.bad_signature, 'signature does not match');
      }
    }
    if (req.ts !== undefined) {
      const ts = Date.parse(req.ts);
      if (!Number.isFinite(ts)) return fail(tx, RequestErrorCodes.malformed, 'ts: not an ISO-8601 time');
      if (Math.abs(now - ts) > MAX_REQUEST_SKEW_MS) {
        return fail(tx, RequestErrorCodes.stale, `ts ${req.ts} is more than 5 min from the station clock (${new Date(now).toISOString()})`);
      }
    }
    if (!this.opts.allowed.includes(action)) {
      return fail(tx, RequestErrorCodes.not_allowed, `action ${action} is not in county.allowed_commands`);
    }
    if (this.opts.replay.has(tx, now)) return fail(tx, RequestErrorCodes.replayed, `transaction ${tx} was already received`);
    // Not recorded here: admission records the transaction only once it will run, so a request
    // refused as busy can be retried with the same transaction.
    return { ok: true, action, transaction: tx, args: req.args ?? {} };
  }
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
    .join('; ');
}
