/**
 * sealing: what sealing adds to a usage record on the station (issue 23: ≤ 1 ms per record). Two real
 * Stores side by side in one temp folder, one with evidence (a real seed file, EpochKeys, UsageChain) and
 * one without, and the same usage record closed into each the way the session tracker closes it (the
 * record, the closed `sessions` row and the day's summary in one fsync'd transaction), alternately, so
 * the disk and the machine weigh on both alike: the unsealed append is the same-run reference.
 *   - same epoch: the key stays, sealing is hashing and one more meta row in the same transaction;
 *   - new epoch: the clock moves one epoch before each record, so the key is evolved and its file
 *     replaced (temp file, fsync, rename, folder fsync, old bytes overwritten and fsynced) first. On a
 *     station with hourly epochs and a few classes a day, this is nearly every record.
 * Also the CPU of sealing alone (canonical bytes, HMAC, hash), without I/O.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ulid } from 'ulid';
import type { Clock } from '../../agent/clock.js';
import { silentLogger } from '../../agent/log.js';
import { stationDay } from '../../agent/sessions/query.js';
import { Store } from '../../agent/store/store.js';
import { EpochKeys } from '../../agent/evidence/keys.js';
import { UsageChain, unsealedChain, type ChainAppender } from '../../agent/evidence/chain.js';
import { initEvidence } from '../../agent/evidence/init.js';
import { replaceFile } from '../../agent/evidence/key-file.js';
import { recordHash, sealOf } from '../../protocol/evidence.js';
import { Cleanup, figure, percentile, round, tempDir, type BenchOptions, type BenchResult } from './common.js';

const SAME_EPOCH = 1000;
const NEW_EPOCH = 200;
const CPU_RUNS = 20_000;
const EPOCH_S = 10;
const STATION = 'bench-sealing';
const TZ = 'Asia/Shanghai';

function record(seq: number, id: string, ledger: string, startMs: number): Record<string, unknown> {
  const dur = 5400;
  return {
    v: 1,
    seq,
    ledger,
    station_id: STATION,
    id,
    start: new Date(startMs).toISOString(),
    end: new Date(startMs + dur * 1000).toISOString(),
    duration_s: dur,
    devices: [
      { id: 'projector', kind: 'projector', on_s: dur },
      { id: 'amplifier', kind: 'amplifier', on_s: dur - 60 },
    ],
    inputs: [{ device: 'projector', input: '31', s: dur }],
    signal_s: dur - 120,
    trigger: 'schedule:tuesday-evening',
    end_reason: 'devices_off',
    annotation: { topic: '果树冬季修剪技术', attendees: 23, organiser: '王书记' },
    short: false,
    rule_version: 1,
    boot: 1,
    clock: 'synced',
  };
}

/** One usage session closed as SessionTracker.close does it; returns its milliseconds. */
function close(store: Store, chain: ChainAppender, startMs: number): number {
  const t = performance.now();
  store.transaction(() => {
    const id = ulid();
    const rec = chain.append('usage', new Date(startMs + 5_400_000).toISOString(), (seq, rid, ledger) => record(seq, rid, ledger, startMs), id);
    const p = rec.payload as { start: string; end: string; duration_s: number; signal_s: number };
    store.sessions.insertClosed(id, rec.seq, p.start, p.end, JSON.stringify(rec.payload));
    store.sessions.addToDailySummary({ day: stationDay(p.start, TZ), short: 0, total_s: p.duration_s, signal_s: p.signal_s, seq: rec.seq });
  });
  return performance.now() - t;
}

export async function sealing(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const dir = cleanup.dir(tempDir('bench-sealing-'));
    let wallMs = Date.UTC(2026, 2, 1, 12);
    const clock: Clock = { now: () => new Date(wallMs), monotonicMs: () => performance.now(), quality: () => 'synced' };
    initEvidence({ seedFile: join(dir, 'sealed', 'evidence.key'), outDir: join(dir, 'out'), stationId: STATION, epochS: EPOCH_S, nowMs: wallMs, force: false });
    const sealedStore = Store.open(join(dir, 'sealed'));
    cleanup.add(() => sealedStore.close());
    const plainStore = Store.open(join(dir, 'plain'));
    cleanup.add(() => plainStore.close());
    const keys = EpochKeys.load(join(dir, 'sealed', 'evidence.key'), { stationId: STATION, epochS: EPOCH_S }, silentLogger);
    const sealed = new UsageChain({ store: sealedStore, keys, clock, stationId: STATION, log: silentLogger });
    sealed.begin();
    const plain = unsealedChain(plainStore.outbox);

    // Warm-up: statements compiled, pages cached, on both.
    for (let i = 0; i < 20; i++) {
      close(plainStore, plain, wallMs);
      close(sealedStore, sealed, wallMs);
    }
    const run = (n: number, moveEpoch: boolean): { plain: number[]; sealed: number[] } => {
      const out = { plain: [] as number[], sealed: [] as number[] };
      for (let i = 0; i < n; i++) {
        if (moveEpoch) wallMs += EPOCH_S * 1000;
        // Alternate which goes first, so neither always follows the other's fsync.
        if (i % 2 === 0) {
          out.plain.push(close(plainStore, plain, wallMs));
          out.sealed.push(close(sealedStore, sealed, wallMs));
        } else {
          out.sealed.push(close(sealedStore, sealed, wallMs));
          out.plain.push(close(plainStore, plain, wallMs));
        }
      }
      return out;
    };
    const same = run(SAME_EPOCH, false);
    const epochBefore = keys.epoch;
    const moved = run(NEW_EPOCH, true);
    if (keys.epoch !== epochBefore + NEW_EPOCH) throw new Error(`the key moved ${keys.epoch - epochBefore} epochs for ${NEW_EPOCH} records`);
    opts.log(`sealing: ${SAME_EPOCH} records in one epoch, ${NEW_EPOCH} each in a new epoch, sealed and unsealed alternately`);

    // Sealing alone: what the chain adds to building a record, without any I/O.
    const body = { ...record(1, ulid(), 'bench0000000000000000000', wallMs), prev: '0'.repeat(64), epoch: keys.epoch };
    const key = Buffer.alloc(32, 7);
    const tc = performance.now();
    for (let i = 0; i < CPU_RUNS; i++) recordHash({ ...body, seal: sealOf(body, key) });
    const cpuUs = ((performance.now() - tc) / CPU_RUNS) * 1000;

    // The key file's replacement alone, beside one plain write + fsync of the same bytes: the floor any
    // durable write of it has on this disk.
    const file = join(dir, 'sealed', 'evidence.key');
    const text = readFileSync(file, 'utf8');
    const replaced: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < 50; i++) {
      let t = performance.now();
      replaceFile(join(dir, 'probe.key'), text);
      replaced.push(performance.now() - t);
      t = performance.now();
      const fd = openSync(join(dir, 'floor.key'), 'w', 0o600);
      writeSync(fd, text);
      fsyncSync(fd);
      closeSync(fd);
      floor.push(performance.now() - t);
    }

    const p = (xs: number[], q: number) => round(percentile(xs, q), 3);
    const addedSame = p(same.sealed, 50) - p(same.plain, 50);
    const addedNew = p(moved.sealed, 50) - p(moved.plain, 50);
    return {
      name: 'sealing',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'same epoch p50', value: p(same.sealed, 50), unit: 'ms', reference: 'the same record unsealed', reference_value: p(same.plain, 50) }),
        figure({ metric: 'same epoch p99', value: p(same.sealed, 99), unit: 'ms', reference: 'the same record unsealed', reference_value: p(same.plain, 99) }),
        figure({ metric: 'same epoch added p50', value: round(addedSame, 3), unit: 'ms', goal: '≤ 1 ms', pass: addedSame <= 1 }),
        figure({ metric: 'new epoch p50', value: p(moved.sealed, 50), unit: 'ms', reference: 'the same record unsealed', reference_value: p(moved.plain, 50) }),
        figure({ metric: 'new epoch p99', value: p(moved.sealed, 99), unit: 'ms', reference: 'the same record unsealed', reference_value: p(moved.plain, 99) }),
        figure({ metric: 'new epoch added p50', value: round(addedNew, 3), unit: 'ms', goal: '≤ 1 ms', pass: addedNew <= 1 }),
        figure({ metric: 'key file replaced p50', value: p(replaced, 50), unit: 'ms', reference: 'one write + fsync of the same bytes', reference_value: p(floor, 50) }),
        figure({ metric: 'seal CPU per record', value: round(cpuUs, 1), unit: 'µs', goal: '≤ 1000 µs', pass: cpuUs <= 1000 }),
      ],
      notes: [
        `a usage record closed as the tracker closes it (record + sessions row + day summary, one transaction, synchronous=FULL) into two stores in ${dir.startsWith('/tmp') ? '/tmp' : 'the temp folder'}, sealed and unsealed alternately; new epoch: key evolved and its file replaced before each record (3 fsyncs: temp file, folder, old bytes)`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
