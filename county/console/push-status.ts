/**
 * Where each station of a push stands: answered (OK or failed), still waiting, or silent. A station that
 * has not answered PUSH_ANSWER_TIMEOUT_MS after the push was sent reads "no answer" (未回复) instead of
 * "waiting" for ever: a station takes a signed request only within MAX_REQUEST_SKEW_MS of its `ts` by its
 * own clock (docs/mqtt.md "Command signing"), and one whose clock is fit to take requests at all is within
 * that of the county's, so after twice the window no station can still apply it. An answer that arrives
 * later all the same (a late `stale` refusal) is still recorded and shown. Derived when read, so nothing
 * needs a timer and a console restart changes nothing.
 */
import { MAX_REQUEST_SKEW_MS } from '../../protocol/signing.js';
import type { PushRow } from '../store.js';

export const PUSH_ANSWER_TIMEOUT_MS = 2 * MAX_REQUEST_SKEW_MS;

export type ShownStatus = 'ok' | 'error' | 'sent' | 'no_answer';

/** The clock and the timeout a page judges pushes by. */
export interface PushClock {
  nowMs: number;
  timeoutMs: number;
}

/** Whether a push sent at `sentAt` is past the wait (its unanswered stations are silent). */
export function overdue(sentAt: string, c: PushClock): boolean {
  const sent = Date.parse(sentAt);
  return Number.isFinite(sent) && c.nowMs - sent >= c.timeoutMs;
}

export function shownStatus(row: Pick<PushRow, 'status' | 'sent_at'>, c: PushClock): ShownStatus {
  return row.status === 'sent' && overdue(row.sent_at, c) ? 'no_answer' : row.status;
}

export interface PushCounts {
  ok: number;
  error: number;
  /** Waiting for an answer (within the timeout). */
  pending: number;
  /** No answer within the timeout. */
  silent: number;
}

export function pushCounts(rows: readonly Pick<PushRow, 'status' | 'sent_at'>[], c: PushClock): PushCounts {
  const n: PushCounts = { ok: 0, error: 0, pending: 0, silent: 0 };
  for (const r of rows) {
    const s = shownStatus(r, c);
    if (s === 'ok') n.ok++;
    else if (s === 'error') n.error++;
    else if (s === 'sent') n.pending++;
    else n.silent++;
  }
  return n;
}

/** The counts of a push summary (one sent_at for all its rows). */
export function summaryCounts(p: { sent_at: string; stations: number; ok: number; error: number }, c: PushClock): PushCounts {
  const open = p.stations - p.ok - p.error;
  return overdue(p.sent_at, c) ? { ok: p.ok, error: p.error, pending: 0, silent: open } : { ok: p.ok, error: p.error, pending: open, silent: 0 };
}
