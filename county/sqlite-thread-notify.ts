/**
 * The group notifications' store (county/notify/queue.ts) of the SQLite store on its worker thread
 * (sqlite-thread-store.ts): each call is posted to the worker as `notify.<method>` and runs there on the
 * store's own connection (sqlite-notify.ts), in the order posted like every other call.
 */
import type { Notice } from './notify/messages.js';
import type { Queued } from './notify/pack.js';
import type { News, NotifyCounts, NotifyDiskRow, NotifyEventScan, NotifyItemRow, NotifyMessageRow, NotifyStationRow, NotifyStore, NotifyTargetRow, Settlement } from './notify/queue.js';

export type ThreadCall = <T>(method: string, ...args: unknown[]) => Promise<T>;

export class ThreadNotifyStore implements NotifyStore {
  constructor(private readonly call: ThreadCall) {}

  enqueue(items: ReadonlyArray<{ target: string; notice: Notice }>, nowMs: number): Promise<void> {
    return this.call('notify.enqueue', items, nowMs);
  }
  due(target: string, nowMs: number, limit: number): Promise<Array<Queued & { attempts: number }>> {
    return this.call('notify.due', target, nowMs, limit);
  }
  settle(target: string, ids: readonly number[], how: Settlement, nowMs: number): Promise<void> {
    return this.call('notify.settle', target, ids, how, nowMs);
  }
  sentSince(target: string, sinceMs: number): Promise<number> {
    return this.call('notify.sentSince', target, sinceMs);
  }
  enqueueNews(news: readonly News[], nowMs: number): Promise<number> {
    return this.call('notify.enqueueNews', news, nowMs);
  }
  notifyMarks(prefix: string): Promise<Array<{ key: string; value: string; at_ms: number }>> {
    return this.call('notify.notifyMarks', prefix);
  }
  notifyStations(silentBefore: string): Promise<NotifyStationRow[]> {
    return this.call('notify.notifyStations', silentBefore);
  }
  notifyDiskStations(belowPct: number): Promise<NotifyDiskRow[]> {
    return this.call('notify.notifyDiskStations', belowPct);
  }
  notifyEvents(types: readonly string[], maxStations: number, newSince: string): Promise<NotifyEventScan> {
    return this.call('notify.notifyEvents', types, maxStations, newSince);
  }
  setNotifyTargets(targets: ReadonlyArray<Pick<NotifyTargetRow, 'id' | 'kind' | 'url' | 'towns' | 'lang'>>, nowMs: number): Promise<void> {
    return this.call('notify.setNotifyTargets', targets, nowMs);
  }
  notifyTargets(): Promise<NotifyTargetRow[]> {
    return this.call('notify.notifyTargets');
  }
  noteTargetResult(id: string, result: 'sent' | 'retry' | 'failed', reason: string | null, atMs: number): Promise<void> {
    return this.call('notify.noteTargetResult', id, result, reason, atMs);
  }
  notifyQueued(limit: number): Promise<NotifyItemRow[]> {
    return this.call('notify.notifyQueued', limit);
  }
  notifyFailed(limit: number): Promise<NotifyItemRow[]> {
    return this.call('notify.notifyFailed', limit);
  }
  notifyHistory(limit: number): Promise<NotifyMessageRow[]> {
    return this.call('notify.notifyHistory', limit);
  }
  notifyCounts(): Promise<NotifyCounts[]> {
    return this.call('notify.notifyCounts');
  }
  pruneNotify(beforeMs: number): Promise<void> {
    return this.call('notify.pruneNotify', beforeMs);
  }
  leadNotify(): Promise<boolean> {
    return this.call('notify.leadNotify');
  }
  resignNotify(): Promise<void> {
    return this.call('notify.resignNotify');
  }
}
