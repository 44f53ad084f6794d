/** An in-memory NotifyQueue for the dispatcher's tests (the county's own queue lives in its database). */
import type { Notice } from '../../county/notify/messages.js';
import type { NotifyQueue, Settlement } from '../../county/notify/dispatcher.js';

export interface MemoryItem {
  id: number;
  target: string;
  notice: Notice;
  state: 'queued' | 'sent' | 'failed';
  attempts: number;
  nextMs: number;
  reason: string | null;
  text: string | null;
  sentMs: number | null;
}

export class MemoryNotifyQueue implements NotifyQueue {
  readonly items: MemoryItem[] = [];
  /** One entry per message sent: its target and time. */
  readonly sends: Array<{ target: string; atMs: number }> = [];
  private next = 1;

  async enqueue(items: ReadonlyArray<{ target: string; notice: Notice }>, nowMs: number): Promise<void> {
    for (const i of items) this.items.push({ id: this.next++, target: i.target, notice: i.notice, state: 'queued', attempts: 0, nextMs: nowMs, reason: null, text: null, sentMs: null });
  }

  async due(target: string, nowMs: number, limit: number) {
    return this.items
      .filter((i) => i.target === target && i.state === 'queued' && i.nextMs <= nowMs)
      .slice(0, limit)
      .map((i) => ({ id: i.id, notice: i.notice, attempts: i.attempts }));
  }

  async settle(target: string, ids: readonly number[], how: Settlement, nowMs: number): Promise<void> {
    if (how.state === 'sent') this.sends.push({ target, atMs: nowMs });
    for (const item of this.items.filter((i) => ids.includes(i.id))) {
      if (how.state === 'sent') Object.assign(item, { state: 'sent', text: how.text, sentMs: nowMs, reason: null });
      else if (how.state === 'failed') Object.assign(item, { state: 'failed', reason: how.reason });
      else Object.assign(item, { attempts: item.attempts + 1, nextMs: how.nextMs, reason: how.reason });
    }
  }

  async sentSince(target: string, sinceMs: number): Promise<number> {
    return this.sends.filter((s) => s.target === target && s.atMs >= sinceMs).length;
  }
}
