/**
 * Collects incoming messages and hands them to an asynchronous writer in batches: one batch in flight
 * at a time, at most `maxBatch` per batch. A batch is written `flushMs` after its first message, at once
 * when `maxBatch` are waiting, or right after the batch before it when messages queued up meanwhile.
 *
 * Messages are queued per key (the station): each key keeps its arrival order, and a batch takes from
 * every waiting key in turn, so one station that floods the collector fills at most its share of each
 * batch and the others' messages never wait behind its backlog. A key may hold at most `maxPerKey`
 * messages and all keys together `maxQueued`: beyond that a message is shed (onShed), which bounds
 * memory and the time stop() takes. A shed durable record is not acked, so the station still holds it
 * and it comes back (replay or sessions.resend). `flush()` resolves once everything queued before the
 * call is written; `stop()` writes the rest.
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
}

interface Lane<T> {
  items: Array<{ n: number; item: T }>;
  head: number;
}

export class Batcher<T> {
  private readonly lanes = new Map<string, Lane<T>>();
  /** Keys with items waiting, in turn order. */
  private ring: string[] = [];
  private queued = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** Numbers handed to pushed items, and the lowest number of the batch in flight. */
  private pushed = 0;
  private inFlightLow: number | undefined;
  private readonly waiters: Array<{ upTo: number; resolve: () => void }> = [];
  private readonly key: (item: T) => string;

  constructor(private readonly o: BatcherOptions<T>) {
    this.key = o.key ?? (() => '');
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
    if (this.running) return true; // the loop takes it after the batch in flight
    if (this.queued >= this.o.maxBatch) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.o.flushMs);
    return true;
  }

  /** Resolves when every item pushed before this call has been written. */
  flush(): Promise<void> {
    if (this.lowestUnwritten() > this.pushed) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ upTo: this.pushed, resolve }));
    this.kick();
    return done;
  }

  /** Writes everything queued; after it resolves no timer is left. */
  async stop(): Promise<void> {
    await this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running ??= this.drain();
  }

  /** The number of the oldest item not yet written (pushed + 1 when none). */
  private lowestUnwritten(): number {
    let low = this.inFlightLow ?? this.pushed + 1;
    for (const lane of this.lanes.values()) if (lane.head < lane.items.length) low = Math.min(low, lane.items[lane.head]!.n);
    return low;
  }

  /** Takes up to maxBatch items, a fair share from each waiting key in turn, each key in its order. */
  private take(): { batch: T[]; low: number } {
    const batch: T[] = [];
    let low = Infinity;
    while (batch.length < this.o.maxBatch && this.ring.length > 0) {
      const ring = this.ring;
      const share = Math.max(1, Math.ceil((this.o.maxBatch - batch.length) / ring.length));
      const served: string[] = [];
      let i = 0;
      for (; i < ring.length && batch.length < this.o.maxBatch; i++) {
        const key = ring[i]!;
        const lane = this.lanes.get(key)!;
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
      // Keys the batch filled up before go first next time; the ones served go to the back.
      this.ring = i < ring.length ? ring.slice(i).concat(served) : served;
    }
    this.queued -= batch.length;
    return { batch, low };
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued > 0) {
        const { batch, low } = this.take();
        this.inFlightLow = low;
        try {
          await this.o.write(batch);
        } catch (err) {
          this.o.onError(err, batch);
        }
        this.inFlightLow = undefined;
        const unwritten = this.lowestUnwritten();
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          const w = this.waiters[i]!;
          if (unwritten > w.upTo) {
            this.waiters.splice(i, 1);
            w.resolve();
          }
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
