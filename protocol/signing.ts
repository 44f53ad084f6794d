/**
 * County command signing (docs/mqtt.md "Command signing"). The signed text binds the station and the
 * action, so a request captured for one station or action cannot be replayed against another:
 *
 *   <station_id> "\n" <action> "\n" <canonical JSON of the request object without `sig`>
 *
 * Canonical JSON: objects with keys sorted by UTF-16 code units (JavaScript's default sort), arrays in
 * order, no whitespace, strings and numbers exactly as JSON.stringify writes them. The key is the UTF-8
 * bytes of the key file's content with surrounding whitespace trimmed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A signed request whose `ts` is further than this from the station's clock is refused as `stale`. So a
 * station whose clock is fit to take requests at all applies one at most twice this long after it was
 * sent; the console calls a station silent after that (county/console/push-status.ts).
 */
export const MAX_REQUEST_SKEW_MS = 5 * 60_000;

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('non-finite number in signed payload');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot sign a ${typeof value}`);
}

export function signingInput(stationId: string, action: string, request: Record<string, unknown>): string {
  const { sig: _sig, ...rest } = request;
  return `${stationId}\n${action}\n${canonicalJson(rest)}`;
}

/** Lower-case hex HMAC-SHA256 of the signing input. */
export function signRequest(key: string | Buffer, stationId: string, action: string, request: Record<string, unknown>): string {
  return createHmac('sha256', key).update(signingInput(stationId, action, request), 'utf8').digest('hex');
}

export function verifyRequest(key: string | Buffer, stationId: string, action: string, request: Record<string, unknown>): boolean {
  const sig = request['sig'];
  if (typeof sig !== 'string' || !/^[0-9a-f]{64}$/.test(sig)) return false;
  let expected: string;
  try {
    expected = signRequest(key, stationId, action, request);
  } catch {
    return false;
  }
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(sig, 'hex'));
}

/**
 * The county's retained `ack` when the station has a command key (docs/mqtt.md "Ack signing"): the
 * command signing input with action `ack` over exactly `{seq, ts}`, plus `ledger` when the ack names one
 * (an agent older than ledgers verifies `{seq, ts}` only, and gets acks without one), so an ack cannot be
 * forged by anyone without the key, nor moved from one station or ledger to another.
 */
export function signAck(key: string | Buffer, stationId: string, ack: { seq: number; ts: string; ledger?: string | undefined }): string {
  return signRequest(key, stationId, 'ack', ackBody(ack));
}

export function verifyAck(key: string | Buffer, stationId: string, ack: { seq: number; ts: string; sig: string; ledger?: string | undefined }): boolean {
  return verifyRequest(key, stationId, 'ack', { ...ackBody(ack), sig: ack.sig });
}

function ackBody(ack: { seq: number; ts: string; ledger?: string | undefined }): Record<string, unknown> {
  return ack.ledger === undefined ? { seq: ack.seq, ts: ack.ts } : { seq: ack.seq, ts: ack.ts, ledger: ack.ledger };
}
