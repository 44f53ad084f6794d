/**
 * Floods no one, loses nothing: a robot takes at most `budget` messages now (20 a minute per robot, by
 * the vendors' rules). When more news waits than that, the news of one kind and one town goes out as
 * summaries that name every station, each summary as full as the content limit allows; what does not fit
 * waits for the next minute. Pure: the dispatcher does the sending and the queue keeps the state.
 */
import { Buffer } from 'node:buffer';
import type { Lang } from '../../protocol/words/index.js';
import { noticeText, SOLO_KINDS, summaryText, type Notice } from './messages.js';
import { CONTENT_MAX_BYTES } from './robots.js';

export interface Queued {
  id: number;
  notice: Notice;
}

/** One message to send now, and the queued items it carries. */
export interface Outgoing {
  text: string;
  ids: number[];
}

const nameOf = (n: Notice): string => n.station_name ?? n.station_id ?? '?';

/**
 * What to send now from `due` (oldest first) within `budget` messages. Everything fits: one message each.
 * Otherwise: singles for news alone in its kind and town, summaries for the rest, in the order of each
 * group's oldest item; items not reached stay queued.
 */
export function pack(due: readonly Queued[], budget: number, lang: Lang, maxBytes = CONTENT_MAX_BYTES): Outgoing[] {
  if (budget <= 0 || due.length === 0) return [];
  if (due.length <= budget) return due.map((q) => ({ text: noticeText(q.notice, lang), ids: [q.id] }));
  const groups = new Map<string, Queued[]>();
  for (const q of due) {
    const key = SOLO_KINDS.has(q.notice.kind) ? `solo:${q.id}` : `${q.notice.kind}\u0000${q.notice.town ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), q]);
  }
  const out: Outgoing[] = [];
  for (const items of groups.values()) {
    if (out.length >= budget) break;
    if (items.length === 1) {
      out.push({ text: noticeText(items[0]!.notice, lang), ids: [items[0]!.id] });
      continue;
    }
    let rest = items;
    while (rest.length > 0 && out.length < budget) {
      const take = fitting(rest, lang, maxBytes);
      const chunk = rest.slice(0, take);
      out.push({ text: summaryText(chunk[0]!.notice.kind, lang, chunk[0]!.notice.town, chunk.map((q) => nameOf(q.notice))), ids: chunk.map((q) => q.id) });
      rest = rest.slice(take);
    }
  }
  return out;
}

/** How many of `items` one summary can name within `maxBytes` (at least one). */
function fitting(items: readonly Queued[], lang: Lang, maxBytes: number): number {
  let lo = 1;
  let hi = items.length;
  const size = (n: number) => Buffer.byteLength(summaryText(items[0]!.notice.kind, lang, items[0]!.notice.town, items.slice(0, n).map((q) => nameOf(q.notice))), 'utf8');
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (size(mid) <= maxBytes) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
