/**
 * `stationctl ledger verify` (the built CLI, a real process) against a sealed ledger on real SQLite files,
 * tampered with as an attacker with root would: better-sqlite3 on the database file, and for the re-seal
 * the station's key file copied at the last epoch. Each tampering is caught and named by seq with its
 * stable cause; an untouched ledger verifies (exit 0).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { writeFileSync } from 'node:fs';
import { tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { recordHash, sealOf } from '../../../protocol/evidence.js';
import { ctl } from '../../helpers/agent.js';
import { T0, TestClock } from '../sessions/harness.js';
import { makeSeed, SealingStation } from './harness.js';

const EPOCH_S = 60;
let root: string;
let enrollmentFile: string;
/** The key file as the attacker copies it at the end: the newest epoch's key. */
let stolen: { epoch: number; key: Buffer };
let usageSeqs: number[];
let n = 0;

type Finding = { seq: number; cause: string; kind: string | null };

beforeAll(async () => {
  root = tempDir('ledger-verify-');
  const template = join(root, 'template');
  vi.useFakeTimers({ now: T0 });
  try {
    const clock = new TestClock();
    enrollmentFile = makeSeed(template, clock, EPOCH_S).init.enrollment_file;
    const s = new SealingStation(template, clock, EPOCH_S).start();
    // Six classes, three minutes apart: each sealed in a later epoch than the one before.
    for (const minutes of [45, 60, 30, 90, 20, 50]) await s.session(minutes);
    usageSeqs = s.usage().filter((r) => r.type === undefined).map((r) => r.seq);
    s.stop();
  } finally {
    vi.useRealTimers();
  }
  const key = JSON.parse(readFileSync(join(template, 'data', 'evidence.key'), 'utf8')) as { epoch: number; key: string };
  stolen = { epoch: key.epoch, key: Buffer.from(key.key, 'hex') };
});
afterAll(() => removeDir(root));

/** A copy of the ledger with its config, tampered with by `attack`. */
function ledger(attack?: (db: Database.Database) => void): string {
  const dir = join(root, `case-${++n}`);
  cpSync(join(root, 'template', 'data'), join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yaml');
  writeFileSync(config, stringify({ station: { id: 'xiaozhuang', name: '小庄村' }, data_dir: join(dir, 'data'), control: { socket: join(dir, 'ctl.sock') }, evidence: { epoch_s: EPOCH_S } }));
  if (attack) {
    const db = new Database(join(dir, 'data', 'station.db'));
    try {
      attack(db);
    } finally {
      db.close();
    }
  }
  return config;
}

const payload = (db: Database.Database, seq: number) => JSON.parse((db.prepare('SELECT payload FROM records WHERE seq = ?').get(seq) as { payload: string }).payload) as Record<string, unknown>;
const store = (db: Database.Database, seq: number, p: Record<string, unknown>) => db.prepare('UPDATE records SET payload = ? WHERE seq = ?').run(JSON.stringify(p), seq);

async function verify(config: string, withSeed = true): Promise<{ code: number; findings: Finding[]; report: Record<string, unknown> }> {
  const r = await ctl(['--json', '--config', config, 'ledger', 'verify', ...(withSeed ? ['--seed', enrollmentFile] : [])]);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { findings: Finding[] };
  return { code: r.code, findings: report.findings.map(({ seq, cause, kind }) => ({ seq, cause, kind })), report };
}

describe('stationctl ledger verify', () => {
  it('passes an untouched ledger, with the enrollment copy and without it, in both languages', async () => {
    const config = ledger();
    const sealed = await verify(config);
    expect(sealed).toMatchObject({ code: 0, findings: [], report: { ok: true, records: 7, sealed: 7, geneses: 1, seals_checked: true } });
    expect((await verify(config, false)).report).toMatchObject({ ok: true, seals_checked: false });
    const zh = await ctl(['--lang', 'zh', '--config', config, 'ledger', 'verify', '--seed', enrollmentFile]);
    expect(zh.code).toBe(0);
    expect(zh.stdout).toContain('全部核对无误');
    const en = await ctl(['--config', config, 'ledger', 'verify']);
    expect(en.stdout).toContain('Everything holds.');
    expect(en.stdout).toContain('--seed FILE');
  });

  it('names an edited duration: its seal does not hold, and the next record no longer links to it', async () => {
    const [, second, third] = usageSeqs;
    const config = ledger((db) => store(db, second!, { ...payload(db, second!), duration_s: 7200 }));
    const r = await verify(config);
    expect(r.code).toBe(1);
    expect(r.findings).toEqual([
      { seq: second, cause: 'seal_invalid', kind: 'session' },
      { seq: third, cause: 'chain_broken', kind: 'session' },
    ]);
    // Without the seed, the chain alone still shows where.
    expect((await verify(config, false)).findings).toEqual([{ seq: third, cause: 'chain_broken', kind: 'session' }]);
    const human = await ctl(['--lang', 'zh', '--config', config, 'ledger', 'verify', '--seed', enrollmentFile]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`^${second}\\s+使用时段\\s+seal_invalid$`, 'm'));
    expect(human.stdout).toContain('seal_invalid: 印章对不上');
  });

  it('names a deleted record by the record that no longer links', async () => {
    const [, , third, fourth] = usageSeqs;
    const r = await verify(ledger((db) => db.prepare('DELETE FROM records WHERE seq = ?').run(third!)));
    expect(r).toMatchObject({ code: 1, findings: [{ seq: fourth, cause: 'chain_broken', kind: 'session' }] });
  });

  it('names an inserted record, even one sealed with the stolen current key and linked to the record before it', async () => {
    const [, second, third] = usageSeqs;
    const config = ledger((db) => {
      // Where an event stood between two classes, a class that never happened.
      const before = payload(db, second!);
      const fake = { ...before, seq: second! + 1, id: '01JFAKE0000000000000000000', duration_s: 5400, prev: recordHash(before), epoch: stolen.epoch };
      db.prepare('DELETE FROM records WHERE seq = ?').run(second! + 1);
      db.prepare("INSERT INTO records(seq, id, stream, type, ts, payload) VALUES (?, ?, 'usage', 'usage', ?, ?)").run(second! + 1, fake.id, before.end as string, JSON.stringify({ ...fake, seal: sealOf(fake, stolen.key) }));
    });
    expect(await verify(config)).toMatchObject({
      code: 1,
      findings: [
        { seq: second! + 1, cause: 'seal_wrong_epoch', kind: 'session' },
        { seq: third, cause: 'chain_broken', kind: 'session' },
      ],
    });
  });

  it('names two records swapped', async () => {
    const [, second, third, fourth, fifth] = usageSeqs;
    const config = ledger((db) => {
      const a = payload(db, second!);
      store(db, second!, payload(db, fourth!));
      store(db, fourth!, a);
    });
    const r = await verify(config);
    expect(r.code).toBe(1);
    // Both records are named where they now stand (neither is where it was sealed), with the links
    // after them; the epochs out of order and the moved seq are named as well.
    expect([...new Set(r.findings.map((f) => f.seq))]).toEqual([second, third, fourth, fifth]);
    for (const seq of [second, third, fourth, fifth]) expect(r.findings).toContainEqual({ seq, cause: 'chain_broken', kind: 'session' });
    expect(r.findings).toContainEqual({ seq: fourth, cause: 'seal_invalid', kind: 'session' });
  });

  it('names an old record re-sealed with the key file copied at a later epoch (CVE-2023-31439)', async () => {
    const [first, second] = usageSeqs;
    const old = (db: Database.Database) => payload(db, first!);
    // The attacker claims the key's own epoch, so the seal itself verifies: the epoch going back is what gives it away.
    const asLater = ledger((db) => {
      const { seal: _seal, ...body } = old(db);
      const edited = { ...body, duration_s: 9000, epoch: stolen.epoch };
      store(db, first!, { ...edited, seal: sealOf(edited, stolen.key) });
    });
    expect(await verify(asLater)).toMatchObject({
      code: 1,
      findings: [
        { seq: first, cause: 'seal_wrong_epoch', kind: 'session' },
        { seq: second, cause: 'chain_broken', kind: 'session' },
      ],
    });
    // Keeping the record's own epoch, the newer key does not make its seal.
    const asOwn = ledger((db) => {
      const { seal: _seal, ...body } = old(db);
      expect(body.epoch as number).toBeLessThan(stolen.epoch);
      const edited = { ...body, duration_s: 9000 };
      store(db, first!, { ...edited, seal: sealOf(edited, stolen.key) });
    });
    expect((await verify(asOwn)).findings).toEqual([
      { seq: first, cause: 'seal_invalid', kind: 'session' },
      { seq: second, cause: 'chain_broken', kind: 'session' },
    ]);
  });

  it('refuses the station\'s own key file and an enrollment copy of another station as --seed (exit 2)', async () => {
    const config = ledger();
    const own = await ctl(['--config', config, 'ledger', 'verify', '--seed', join(root, 'template', 'data', 'evidence.key')]);
    expect(own.code).toBe(2);
    expect(own.stderr).toContain('only the current key');
    const other = join(root, 'other.json');
    writeFileSync(other, readFileSync(enrollmentFile, 'utf8').replace('"xiaozhuang"', '"dazhuang"'));
    const wrong = await ctl(['--config', config, 'ledger', 'verify', '--seed', other]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('dazhuang');
  });
});
