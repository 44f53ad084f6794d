/**
 * The gate every county request passes before it reaches the command registry: size, JSON, shape,
 * allowlist, signature, freshness, replay. Pure logic (the clock is injected) so each refusal is unit
 * tested; request admission (admission.ts) only publishes what this decides.
 */
import { z } from 'zod';
import { RequestSchema, RequestErrorCodes, TransactionSchema } from './payloads.js';
import { verifyRequest } from './signing.js';

export const MAX_REQUEST_BYTES = 64 * 1024;
/** A request whose `ts` is further than this from the station clock is refused as stale. */
export const MAX_REQUEST_SKEW_MS = 5 * 60_000;

export type Verdict =
  | { ok: true; action: string; transaction: string; args: Record<string, unknown> }
  | { ok: false; transaction: string | null; code: string; message: string };

/**
 * Transactions seen recently, so a replayed (or QoS 1 duplicated) request runs once. Entries live twice
 * the skew window: anything older is refused as stale anyway. Bounded: when full of live entries, new
 * requests are refused (busy) rather than forgetting one that could then be replayed.
 */
export class ReplayCache {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs = 2 * MAX_REQUEST_SKEW_MS,
    private readonly max = 10_000,
  ) {}

  has(tx: string, nowMs: number): boolean {
    const exp = this.entries.get(tx);
    return exp !== undefined && exp > nowMs;
  }

  /** False when the cache is full of live entries. */
  add(tx: string, nowMs: number): boolean {
    if (this.entries.size >= this.max) this.prune(nowMs);
    if (this.entries.size >= this.max) return false;
    this.entries.set(tx, nowMs + this.ttlMs);
    return true;
  }

  prune(nowMs: number): void {
    for (const [tx, exp] of this.entries) if (exp <= nowMs) this.entries.delete(tx);
  }

  get size(): number {
    return this.entries.size;
  }

  /** For persisting across restarts: [transaction, expiry ms] pairs still live. */
  dump(nowMs: number): Array<[string, number]> {
    this.prune(nowMs);
    return [...this.entries];
  }

  load(pairs: unknown, nowMs: number): void {
    if (!Array.isArray(pairs)) return;
    for (const p of pairs) {
      if (Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'number' && p[1] > nowMs && this.entries.size < this.max) {
        this.entries.set(p[0], p[1]);
      }
    }
  }
}

export interface GuardOptions {
  stationId: string;
  allowed: readonly string[];
  /** The HMAC key; when set every request must be signed, carry `ts`, and be fresh. */
  key?: Buffer;
  nowMs: () => number;
  replay: ReplayCache;
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
    if (!this.opts.allowed.includes(action)) {
      return fail(tx, RequestErrorCodes.not_allowed, `action ${action} is not in county.allowed_commands`);
    }
    const now = this.opts.nowMs();
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
    if (this.opts.replay.has(tx, now)) return fail(tx, RequestErrorCodes.replayed, `transaction ${tx} was already received`);
    if (!this.opts.replay.add(tx, now)) return fail(tx, RequestErrorCodes.busy, 'too many recent requests; retry later');
    return { ok: true, action, transaction: tx, args: req.args ?? {} };
  }
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
    .join('; ');
}
