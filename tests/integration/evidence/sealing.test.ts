/**
 * Sealing on the station, on real files (issue 23): the real store on SQLite, the real seed file, the
 * real key evolution, with wall time moved by vitest's fake timers. Each record of the usage stream is
 * sealed in the transaction that appends it, the chain continues across restarts, the key file only
 * ever holds the newest key, a note never edits a sealed record, and a ledger that had records before
 * sealing begins names the last of them in its genesis.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { epochOf, GENESIS_PREV, keyAt, recordHash, verifyChain } from '../../../protocol/evidence.js';
import { GenesisRecordSchema, NoteRecordSchema } from '../../../protocol/chain-record.js';
import { UsageRecordSchema } from '../../../protocol/usage-record.js';
import { verifyLedger } from '../../../agent/evidence/verify-ledger.js';
import { EpochKeys, MAX_EPOCH_STEPS } from '../../../agent/evidence/keys.js';
import { silentLogger } from '../../../agent/log.js';
import type { ConfigError } from '../../../config/errors.js';
import { querySessions } from '../../../agent/sessions/query.js';
import { T0, TestClock } from '../sessions/harness.js';
import { filesHolding, makeSeed, MIN, SealingStation } from './harness.js';

const EPOCH_S = 60;
let dir: string;
const open: SealingStation[] = [];

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  dir = tempDir('sealing-');
});
afterEach(() => {
  for (const s of open.splice(0)) s.stop();
  vi.useRealTimers();
  removeDir(dir);
});

function station(clock: TestClock, epochS: number | null = EPOCH_S): SealingStation {
  const s = new SealingStation(dir, clock, epochS ?? undefined);
  open.push(s);
  return s;
}

function reopen(s: SealingStation, epochS: number | null = EPOCH_S): SealingStation {
  s.stop();
  open.splice(open.indexOf(s), 1);
  return station(s.clock, epochS);
}

const keyFile = () => JSON.parse(readFileSync(join(dir, 'data', 'evidence.key'), 'utf8')) as { epoch: number; key: string };
const report = (s: SealingStation, seeds: Parameters<typeof verifyLedger>[2]) =>
  verifyLedger(s.store.chain.records(), { station_id: 'xiaozhuang', ledger: s.store.outbox.ledger(), head: s.store.chain.head() }, seeds);

describe('sealing at the moment a record is appended', () => {
  it('begins a fresh ledger with a genesis (after_seq 0) and seals every usage record into one chain the seed verifies', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    const s = station(clock).start();
    await s.session(3);
    await s.session(2);
    await s.session(7);

    const [genesis, ...sessions] = s.usage();
    expect(GenesisRecordSchema.parse(genesis)).toMatchObject({ seq: 1, type: 'genesis', after_seq: 0, epoch_s: EPOCH_S, prev: GENESIS_PREV });
    expect(sessions).toHaveLength(3);
    let prev = recordHash(genesis!);
    for (const r of sessions) {
      expect(UsageRecordSchema.safeParse(r).success).toBe(true);
      expect(r.prev).toBe(prev);
      prev = recordHash(r);
    }
    // Epochs follow the time each record was sealed (one minute each here), and only go forward.
    const epochs = s.usage().map((r) => r.epoch as number);
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(epochs.at(-1)).toBe(epochOf(clock.now().getTime(), EPOCH_S));
    expect(verifyChain(s.usage(), { seed: { key: Buffer.from(enrollment.seed, 'hex'), epoch: enrollment.epoch } })).toEqual([]);
    expect(report(s, [enrollment])).toMatchObject({ ok: true, records: 4, sealed: 4, before_sealing: 0, geneses: 1, seals_checked: true });
    // The head in meta is the last record's hash: what the next one links to, and no key anywhere in the database.
    expect(s.store.chain.head()).toMatchObject({ prev, seq: sessions.at(-1)!.seq, seedId: enrollment.seed_id });
    expect(filesHolding(join(dir, 'data'), Buffer.from(enrollment.seed, 'hex')).filter((f) => !f.endsWith('evidence.key'))).toEqual([]);
  });

  it('moves the key on only when a record is made, leaving only the newest key on disk: the old one is nowhere in the data dir', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    const seed = Buffer.from(enrollment.seed, 'hex');
    const s = station(clock).start();
    await s.session(1);
    const first = keyFile();
    const firstStat = statSync(join(dir, 'data', 'evidence.key'));
    expect(first.key).toBe(keyAt(seed, enrollment.epoch, first.epoch).toString('hex'));

    // Ten minutes of nothing (ten epochs): not a single write to the key file.
    await vi.advanceTimersByTimeAsync(10 * MIN);
    const idle = statSync(join(dir, 'data', 'evidence.key'));
    expect([idle.ino, idle.mtimeMs]).toEqual([firstStat.ino, firstStat.mtimeMs]);

    await s.session(1);
    const second = keyFile();
    expect(second.epoch).toBe(epochOf(clock.now().getTime(), EPOCH_S));
    expect(second.epoch).toBeGreaterThan(first.epoch + 10);
    expect(second.key).toBe(keyAt(seed, enrollment.epoch, second.epoch).toString('hex'));
    expect(statSync(join(dir, 'data', 'evidence.key')).mode & 0o777).toBe(0o600);
    // Neither the seed nor the earlier key is left in any file of the data dir: not in the key file, not
    // in a temp file, not in the database (nor its WAL).
    expect(filesHolding(join(dir, 'data'), seed)).toEqual([]);
    expect(filesHolding(join(dir, 'data'), Buffer.from(first.key, 'hex'))).toEqual([]);
    expect(report(s, [enrollment]).ok).toBe(true);
  });

  it('seals with the key on disk when the clock is set back: no record reaches an older key', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    const s = station(clock).start();
    await s.session(5);
    const onDisk = keyFile().epoch;
    clock.wallOffsetMs = -3 * 3600_000;
    await s.session(2);
    const last = s.usage().at(-1)!;
    expect(epochOf(clock.now().getTime(), EPOCH_S)).toBeLessThan(onDisk);
    expect(last.epoch).toBe(onDisk);
    expect(keyFile().epoch).toBe(onDisk);
    expect(report(s, [enrollment]).ok).toBe(true);
  });

  it('moves a key at most MAX_EPOCH_STEPS epochs for one record when the clock is far ahead', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, 10);
    const s = station(clock, 10).start();
    const start = keyFile().epoch;
    clock.wallOffsetMs = 10 * 365 * 86_400_000;
    await s.session(1);
    expect(keyFile().epoch).toBe(start + MAX_EPOCH_STEPS);
    await s.session(1);
    expect(keyFile().epoch).toBe(start + 2 * MAX_EPOCH_STEPS);
    expect(report(s, [enrollment]).ok).toBe(true);
  });

  it('still seals, with the key on disk, when the key file cannot be replaced', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    const s = station(clock).start();
    const before = keyFile();
    // A folder where the temp file must go: the replacement fails (root ignores modes, not this).
    mkdirSync(join(dir, 'data', '.evidence.key.tmp'));
    await s.session(3);
    expect(s.usage()).toHaveLength(2);
    expect(s.usage().at(-1)!.epoch).toBe(before.epoch);
    expect(keyFile()).toEqual(before);
    expect(report(s, [enrollment]).ok).toBe(true);
  });
});

describe('the chain across restarts, notes and the start of sealing', () => {
  it('continues the chain after a restart without a new genesis', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    let s = station(clock).start();
    await s.session(2);
    const head = s.store.chain.head()!;
    s = reopen(s).start();
    await s.session(4);
    const records = s.usage();
    expect(records.filter((r) => r.type === 'genesis')).toHaveLength(1);
    expect(records.at(-1)!.prev).toBe(head.prev);
    expect(report(s, [enrollment])).toMatchObject({ ok: true, geneses: 1, sealed: 3 });
  });

  it('turns a note on a delivered session into a sealed note record, never editing the sealed usage record', async () => {
    const clock = new TestClock();
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    const s = station(clock).start();
    await s.session(45);
    const usage = s.usage().at(-1)!;
    s.store.outbox.ackUpTo(s.store.outbox.lastSeq()); // delivered: the county acknowledged it
    const appended: number[] = [];
    s.bus.on('record.appended', {}, (r) => appended.push(r.seq));

    const result = s.tracker.annotate(usage.id as string, { topic: '果树冬季修剪', attendees: 23 });
    expect(result).toMatchObject({ status: 'note', seq: usage.seq });
    await vi.advanceTimersByTimeAsync(2 * MIN);
    const again = s.tracker.annotate(usage.id as string, { organiser: '王书记' });
    const notes = s.usage().filter((r) => r.type === 'note');
    expect(notes.map((n) => NoteRecordSchema.parse(n))).toMatchObject([
      { session_seq: usage.seq, annotation: { topic: '果树冬季修剪', attendees: 23 } },
      { session_seq: usage.seq, annotation: { topic: '果树冬季修剪', attendees: 23, organiser: '王书记' } },
    ]);
    expect(appended).toEqual(notes.map((n) => n.seq));
    expect(again).toMatchObject({ status: 'note', note_seq: notes[1]!.seq });
    // The usage record is as sealed; the station's own listing shows the latest note.
    expect(s.usage().find((r) => r.seq === usage.seq)).toEqual(usage);
    expect(querySessions(s.store, 'Asia/Shanghai')[0]!.annotation).toEqual({ topic: '果树冬季修剪', attendees: 23, organiser: '王书记' });
    expect(report(s, [enrollment]).ok).toBe(true);
  });

  it('keeps a station without evidence working: records unsealed, a note edits an unacknowledged record as before', async () => {
    const clock = new TestClock();
    const s = station(clock, null).start();
    await s.session(10);
    const [usage] = s.usage();
    expect(usage).not.toHaveProperty('seal');
    expect(usage).not.toHaveProperty('prev');
    expect(usage).not.toHaveProperty('epoch');
    expect(s.tracker.annotate(usage!.id as string, { topic: '政策宣讲' })).toMatchObject({ status: 'edited', seq: usage!.seq });
    expect(s.usage()).toHaveLength(1);
    expect(s.usage()[0]!.annotation).toEqual({ topic: '政策宣讲' });
    // Nothing sealed, nothing to hold as evidence: verify names every record.
    expect(report(s, [])).toMatchObject({ ok: false, geneses: 0, findings: [{ seq: usage!.seq, cause: 'unsealed', kind: 'session' }] });
  });

  it('writes a genesis naming the last unsealed seq when sealing starts on an existing ledger', async () => {
    const clock = new TestClock();
    let s = station(clock, null).start();
    await s.session(10);
    await s.session(20);
    const lastUnsealed = s.usage().at(-1)!.seq;
    const { enrollment } = makeSeed(dir, clock, EPOCH_S);
    s = reopen(s).start();
    await s.session(5);
    const genesis = s.usage().find((r) => r.type === 'genesis')!;
    expect(genesis).toMatchObject({ after_seq: lastUnsealed, prev: GENESIS_PREV });
    expect(genesis.seq).toBeGreaterThan(lastUnsealed);
    expect(report(s, [enrollment])).toMatchObject({ ok: true, before_sealing: 2, sealed: 2, geneses: 1 });
  });

  it('starts a new genesis for a new seed (a rotation), each part verifying with its own enrollment copy', async () => {
    const clock = new TestClock();
    const first = makeSeed(dir, clock, EPOCH_S).enrollment;
    let s = station(clock).start();
    await s.session(3);
    const last = s.usage().at(-1)!.seq;
    await vi.advanceTimersByTimeAsync(5 * MIN);
    const second = makeSeed(dir, clock, EPOCH_S, true).enrollment;
    s = reopen(s).start();
    await s.session(3);
    const geneses = s.usage().filter((r) => r.type === 'genesis');
    expect(geneses).toHaveLength(2);
    expect(geneses[1]).toMatchObject({ after_seq: last, prev: GENESIS_PREV });
    expect(report(s, [first, second])).toMatchObject({ ok: true, geneses: 2, seeds: [first.seed_id, second.seed_id] });
    // With the new copy alone the first part cannot hold: it was sealed before that seed existed.
    expect(report(s, [second]).findings.map((f) => f.cause)).toContain('seal_wrong_epoch');
  });
});

describe('the seed file the agent starts with', () => {
  const load = (file: string, stationId = 'xiaozhuang', epochS = EPOCH_S) => {
    try {
      EpochKeys.load(file, { stationId, epochS }, silentLogger);
    } catch (err) {
      return { issues: (err as ConfigError).issues, hints: (err as ConfigError).hints.map((h) => h.code) };
    }
    return null;
  };

  it('is refused, as a configuration error with the fix, when it cannot seal for this station', () => {
    const clock = new TestClock();
    const file = join(dir, 'data', 'evidence.key');
    expect(load(file)).toEqual({ issues: [`evidence.seed_file: no seed file ${file}`], hints: ['evidence_init'] });
    const { init } = makeSeed(dir, clock, EPOCH_S);
    expect(load(file)).toBeNull();
    expect(load(file, 'dazhuang')!.issues).toEqual([`evidence.seed_file: ${file} was made for station xiaozhuang, this is station dazhuang`]);
    expect(load(file, 'xiaozhuang', 3600)!.issues[0]).toMatch(/^evidence\.epoch_s: 3600 differs from the seed's 60/);
    // The county's copy is not a seed file, however alike.
    expect(load(init.enrollment_file)).toMatchObject({ issues: [expect.stringContaining('a station-agent-evidence-enrollment file, not a seed file')], hints: ['evidence_init'] });
    writeFileSync(file, '{"v":1');
    expect(load(file)!.issues[0]).toContain('is not a seed file made by stationctl evidence init (not JSON)');
  });
});
