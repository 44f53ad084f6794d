/**
 * Collects incoming messages and hands them to an asynchronous writer in batches: at most `concurrency`
 * batches in flight (default 1), at most `maxBatch` items per batch. A batch is written `flushMs` after its
 * first message, at once when `maxBatch` are waiting, or right after the batch before it finishes when
 * messages queued up meanwhile. A second batch goes out while one is in flight only when a full
 * `maxBatch` is waiting: under a load the store cannot take one batch at a time, the next full batch is
 * prepared (validated, sent) while the store still commits the one before, and below that the batches
 * stay as large as the load makes them (each costs the store a transaction and its sync).
 *
 * Messages are queued per key (the station): each key keeps its arrival order, and a batch takes from
 * every waiting key in turn, so one station that floods the collector fills at most its share of each
 * batch and the others' messages never wait behind its backlog. A key with items in a batch in flight
 * is skipped until that batch is written, so a station's messages are written in arrival order even
 * with several batches in flight. A key may hold at most `maxPerKey` messages and all keys together
 * `maxQueued`: beyond that a message is shed (onShed), which bounds memory and the time stop() takes. A
 * shed durable record is not acked, so the station still holds it and it comes back (replay or
 * sessions.resend). `flush()` resolves once everything queued before the call is written; `stop()`
 * writes the rest.
 */

export interface BatcherOptions<T> {
  flushMs: number;
  maxBatch: number;
  /** Writes one batch. A failed batch is the writer's to count and report: it is not written again. */
  write: (batch: T[]) => Promise<void>;
  /** Called when `write` rejects (the batch counts as done, so flush() and stop() still return). */
  onError: (err: unknown, batch: T[]) => void;
  /** The fairness key of an item (default: one queue for all). */
  key?: (item: T) => string;
  /** Most items one key may have waiting. Default unbounded. */
  maxPerKey?: number;
  /** Most items waiting in all. Default unbounded. */
  maxQueued?: number;
  /** Called for an item refused because a bound is reached. */
  onShed?: (item: T, key: string) => void;
  /** Batches written at once (each of other keys). Default 1. */
  concurrency?: number;
}

interface Lane<T> {
  items: Array<{ n: number; item: T }>;
  head: number;
}

interface InFlight {
  /** The lowest item number in the batch. */
  low: number;
  keys: Set<string>;
}

export class Batcher<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  /** Keys with items waiting, in turn order. */
  private ring: string[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Numbers handed to pushed items. */
  private pushed = 0;
  private readonly inFlight = new Set<InFlight>();
  /** Keys with items in a batch in flight: not taken again until it is written. */
  private readonly busy = new Set<string>();
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly key: (item: T) => string;
  private readonly concurrency: number;

  constructor(private readonly o: BatcherOptions<T>) {
    this.key = o.key ?? (() => '');
    this.concurrency = Math.max(1, o.concurrency ?? 1);
  }

  /** Messages waiting (not yet handed to the writer). */
  get pending(): number {
    return this.queued;
  }

  /** False when the item was shed (a bound was reached). */
  push(item: T): boolean {
    const key = this.key(item);
    let lane = this.lanes.get(key);
    const depth = lane ? lane.items.length - lane.head : 0;
    if (depth >= (this.o.maxPerKey ?? Infinity) || this.queued >= (this.o.maxQueued ?? Infinity)) {
      this.o.onShed?.(item, key);
      return false;
    }
    if (!lane) {
      this.lanes.set(key, (lane = { items: [], head: 0 }));
      this.ring.push(key);
    }
    lane.items.push({ n: ++this.pushed, item });
    this.queued++;
    if (this.inFlight.size > 0) {
      // A batch finishing takes what queued meanwhile; another slot is used only for a full batch, so the
      // batches stay as large as the load makes them (each costs the store a transaction and its sync).
      if (this.inFlight.size < this.concurrency && this.queued >= this.o.maxBatch) this.kick();
      return true;
    }
    if (this.queued >= this.o.maxBatch) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.o.flushMs);
    return true;
  }

  /** Resolves when every item pushed before this call has been written. */
  flush(): Promise<void> {
    if (this.lowestUnwritten() > this.pushed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ upTo: this.pushed, resolve }));
    this.kick(true);
    return done;
  }

  /** Writes everything queued; after it resolves no timer is left. */
  async stop(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Starts batches while a slot is free and something can be taken (a second one only when a full batch waits, or for flush()). */
  private kick(all = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.inFlight.size < this.concurrency && this.queued > 0) {
      if (this.inFlight.size > 0 && this.queued < this.o.maxBatch && !all) return;
      const { batch, low, keys } = this.take();
      if (batch.length === 0) return; // every waiting key is in a batch in flight
      const f: InFlight = { low, keys };
      this.inFlight.add(f);
      keys.forEach((k) => this.busy.add(k));
      void this.write(batch, f);
    }
  }

  private async write(batch: T[], f: InFlight): Promise<void> {
    try {
      await this.o.write(batch);
    } catch (err) {
      this.o.onError(err, batch);
    }
    this.inFlight.delete(f);
    f.keys.forEach((k) => this.busy.delete(k));
    const unwritten = this.lowestUnwritten();
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (unwritten > w.upTo) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
    // What queued meanwhile goes now when nothing else is being written, when a full batch is waiting, or
    // when someone waits for it (flush(), stop()).
    const waited = this.waiters.length > 0;
    if (this.queued > 0 && (this.inFlight.size === 0 || this.queued >= this.o.maxBatch || waited)) this.kick(waited);
  }

  /** The number of the oldest item not yet written (pushed + 1 when none). */
  private lowestUnwritten(): number {
    let low = this.pushed + 1;
    for (const f of this.inFlight) low = Math.min(low, f.low);
    for (const lane of this.lanes.values()) if (lane.head < lane.items.length) low = Math.min(low, lane.items[lane.head]!.n);
    return low;
  }

  /** Takes up to maxBatch items, a fair share from each waiting key not in flight in turn, each key in its order. */
  private take(): { batch: T[]; low: number; keys: Set<string> } {
    const batch: T[] = [];
    const keys = new Set<string>();
    let low = Infinity;
    for (;;) {
      const ring = this.ring;
      // Keys whose items are all in flight wait; the others share what is left of the batch.
      const ready = this.busy.size === 0 ? ring.length : ring.reduce((n, k) => n + (this.busy.has(k) ? 0 : 1), 0);
      if (batch.length >= this.o.maxBatch || ready === 0) break;
      const share = Math.max(1, Math.ceil((this.o.maxBatch - batch.length) / ready));
      const served: string[] = [];
      const skipped: string[] = [];
      let i = 0;
      for (; i < ring.length && batch.length < this.o.maxBatch; i++) {
        const key = ring[i]!;
        if (this.busy.has(key)) {
          skipped.push(key);
          continue;
        }
        const lane = this.lanes.get(key)!;
        keys.add(key);
        const end = Math.min(lane.items.length, lane.head + share, lane.head + this.o.maxBatch - batch.length);
        for (; lane.head < end; lane.head++) {
          const { n, item } = lane.items[lane.head]!;
          batch.push(item);
          if (n < low) low = n;
        }
        if (lane.head < lane.items.length) {
          served.push(key);
          if (lane.head > 1024 && lane.head * 2 > lane.items.length) {
            lane.items = lane.items.slice(lane.head);
            lane.head = 0;
          }
        } else this.lanes.delete(key);
      }
      // Keys the batch filled up before, and keys in flight, go first next time; the ones served go to the back.
      this.ring = skipped.concat(ring.slice(i), served);
    }
    this.queued -= batch.length;
    return { batch, low, keys };
  }
}
