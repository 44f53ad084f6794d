/**
 * The gate every county `ack` passes before it may remove anything from the outbox (docs/mqtt.md
 * "Ack signing"): bounded size, JSON, shape (a safe-integer seq), the signature when the station has a
 * command key, the station's own ledger (docs/mqtt.md "Ledgers": the county's retained ack for a
 * replaced database must never mark the new one's records), and a seq no higher than the highest this
 * station has published. An ack is a retained
 * message anyone with publish rights could have left on the topic; believed blindly, one forged
 * `{"seq": 9007199254740991}` would mark every unsent record as delivered. Pure logic: the durable lane
 * passes the published watermark and logs what this refuses.
 */
import type { CommandKey } from './command-key.js';
import { AckSchema } from '../../protocol/payloads.js';
import { verifyAck } from '../../protocol/signing.js';

/** An ack is `{"seq":…,"ts":…,"sig":…}`: a hundred bytes or so. */
export const MAX_ACK_BYTES = 1024;

export type AckRefusal = 'malformed' | 'unsigned' | 'bad_signature' | 'no_key' | 'other_ledger' | 'above_published';

export type AckVerdict =
  | { ok: true; seq: number }
  | {
      ok: false;
      reason: AckRefusal;
      message: string;
      /** The value, short, for "logged once per distinct value". */
      value: string;
      /** The seq, when one could be read. */
      seq?: number;
    };

export class AckGate {
  private key: CommandKey = { state: 'none' };

  /** `ledger`: this station's ledger (Outbox.ledger()); only an ack naming it is believed. */
  constructor(
    private readonly stationId: string,
    private readonly ledger: string,
  ) {}

  /** The command key as the link loaded it; until then acks need no signature. */
  setKey(key: CommandKey): void {
    this.key = key;
  }

  check(raw: Buffer, publishedSeq: number): AckVerdict {
    const value = raw.subarray(0, 160).toString('utf8');
    const refuse = (reason: AckRefusal, message: string, seq?: number): AckVerdict => ({ ok: false, reason, message, value, ...(seq !== undefined ? { seq } : {}) });
    if (raw.length > MAX_ACK_BYTES) return refuse('malformed', `ack of ${raw.length} bytes exceeds ${MAX_ACK_BYTES}`);
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return refuse('malformed', 'ack is not valid JSON');
    }
    const parsed = AckSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse('malformed', `ack ${issue?.path.join('.') || '(payload)'}: ${issue?.message ?? 'invalid'}`);
    }
    const { seq, ts, sig, ledger } = parsed.data;
    if (this.key.state === 'unreadable') return refuse('no_key', 'the command key cannot be read, so no ack can be verified', seq);
    if (this.key.state === 'loaded') {
      if (ts === undefined || sig === undefined) return refuse('unsigned', 'ack must carry ts and sig (the station has a command key)', seq);
      if (!Number.isFinite(Date.parse(ts))) return refuse('malformed', 'ack ts: not an ISO-8601 time', seq);
      if (!verifyAck(this.key.key, this.stationId, { seq, ts, sig, ledger })) return refuse('bad_signature', 'ack signature does not match', seq);
    }
    // Checked after the signature, so only the county's own ack for an old database gets this far:
    // a county older than ledgers (no `ledger`) or the retained ack of the database this one replaced.
    if (ledger !== this.ledger) {
      return refuse('other_ledger', `ack is for ledger ${ledger ?? '(none)'}, not this station's ledger ${this.ledger}`, seq);
    }
    if (seq > publishedSeq) {
      return refuse('above_published', `ack ${seq} is above the highest seq this station has published (${publishedSeq})`, seq);
    }
    return { ok: true, seq };
  }
}
