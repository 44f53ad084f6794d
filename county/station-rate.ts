/**
 * A token bucket per station, checked before anything else is done with a message (no JSON parse, no
 * validation, no queue). A real station sends a message every few seconds and, after an outage, replays
 * its outbox at `county.replay_rate` (100/s by default); whoever floods one station's topics much faster
 * than that only fills its own bucket, and what overflows costs the collector a map lookup. A shed
 * durable record is not acked: the station keeps it and it comes back. The map is bounded: beyond
 * `maxStations` entries, full buckets (idle stations) are forgotten first.
 */
export interface StationRateOptions {
  /** Sustained messages per second per station. */
  perSecond: number;
  /** Messages a station may send at once above the sustained rate. */
  burst: number;
  maxStations?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class StationRate {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly maxStations: number;

  constructor(private readonly o: StationRateOptions) {
    this.now = o.now ?? Date.now;
    this.maxStations = o.maxStations ?? 200_000;
  }

  /** False when `station` has used up its bucket: shed the message. */
  take(station: string): boolean {
    const now = this.now();
    let b = this.buckets.get(station);
    if (!b) {
      if (this.buckets.size >= this.maxStations) this.forgetIdle(now);
      this.buckets.set(station, (b = { tokens: this.o.burst, at: now }));
    } else {
      b.tokens = Math.min(this.o.burst, b.tokens + ((now - b.at) / 1000) * this.o.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }

  private forgetIdle(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.o.perSecond >= this.o.burst) this.buckets.delete(k);
    }
    // Everyone busy (a flood of made-up station ids): start over rather than grow without bound.
    if (this.buckets.size >= this.maxStations) this.buckets.clear();
  }
}
