/**
 * Sealing with the real agent from dist (a child process, its real database and seed file) and the
 * built stationctl, a PJLink simulator for the classes, real time with epoch_s 10 (waiting on the epoch to
 * turn, never sleeping): the missing seed (exit 78 with the fix), `evidence init`, sessions sealed, the
 * key moving on with the epochs and the old one gone, a note after a session closed becoming a sealed
 * record, a restart continuing the chain, and sealing starting on a ledger that had unsealed records.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify, parse } from 'yaml';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { callDaemon } from '../../../agent/control/client.js';
import { epochOf, GENESIS_PREV, recordHash } from '../../../protocol/evidence.js';
import { NoteRecordSchema } from '../../../protocol/chain-record.js';
import { tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { ctl, startAgent, waitReady, writeConfig, type RunningAgent } from '../../helpers/agent.js';
import { filesHolding } from './harness.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const EPOCH_S = 10;

interface Station {
  dir: string;
  config: string;
  socket: string;
  sim: PjlinkSimulator;
}

async function station(evidence: boolean): Promise<Station> {
  const sim = new PjlinkSimulator({ warmupMs: 100, cooldownMs: 100 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir('evidence-agent-');
  cleanups.push(() => removeDir(dir));
  const config = writeConfig(dir, {
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.3 }],
    sessions: { min_s: 1, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
    ...(evidence ? { evidence: { epoch_s: EPOCH_S } } : {}),
  });
  return { dir, config, socket: join(dir, 'ctl.sock'), sim };
}

function run(s: Station): RunningAgent {
  const agent = startAgent(s.config);
  cleanups.push(() => agent.stop('SIGKILL'));
  return agent;
}

async function sessionCount(s: Station): Promise<Array<{ id: string; seq: number }>> {
  const res = await callDaemon(s.socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' });
  return (res.data as { sessions: Array<{ id: string; seq: number }> }).sessions;
}

/** One class: projector on until a session is open, then off until it is closed; returns its record's id and seq. */
async function oneClass(s: Station): Promise<{ id: string; seq: number }> {
  await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { devices: Array<{ online: boolean }> }).devices[0]?.online, 10_000);
  const before = (await sessionCount(s)).length;
  s.sim.setPower(1);
  await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { open_session: string | null }).open_session, 10_000);
  s.sim.setPower(0);
  const list = await waitFor(async () => {
    const l = await sessionCount(s);
    return l.length > before ? l : undefined;
  }, 10_000);
  return list.at(-1)!;
}

function usageStream(s: Station): Array<Record<string, unknown> & { seq: number }> {
  const db = new Database(join(s.dir, 'data', 'station.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT payload FROM records WHERE stream = 'usage' ORDER BY seq").all() as Array<{ payload: string }>).map((r) => JSON.parse(r.payload) as Record<string, unknown> & { seq: number });
  } finally {
    db.close();
  }
}

const keyFile = (s: Station) => JSON.parse(readFileSync(join(s.dir, 'data', 'evidence.key'), 'utf8')) as { epoch: number; key: string; epoch_s: number };

async function init(s: Station, extra: string[] = []): Promise<{ code: number; enrollment_file: string; stdout: string; stderr: string }> {
  const r = await ctl(['--json', '--config', s.config, 'evidence', 'init', '--out', join(s.dir, 'out'), ...extra]);
  return { ...r, enrollment_file: r.code === 0 ? (JSON.parse(r.stdout) as { enrollment_file: string }).enrollment_file : '' };
}

describe('the agent with evidence', () => {
  it('exits 78 when the seed file is missing, naming it and the fix in English and in Chinese, before touching the database', async () => {
    const s = await station(true);
    for (const [lang, fix] of [['C', 'Fix: make the seed with sudo stationctl evidence init --out DIR'], ['zh_CN.UTF-8', '处理办法：运行 sudo stationctl evidence init --out DIR 生成种子']] as const) {
      const a = startAgent(s.config, { LANG: lang });
      cleanups.push(() => a.stop('SIGKILL'));
      expect(await a.exited).toBe(78);
      expect(a.output()).toContain(`evidence.seed_file: no seed file ${join(s.dir, 'data', 'evidence.key')}`);
      expect(a.output()).toContain(fix);
    }
    expect(existsSync(join(s.dir, 'data', 'station.db'))).toBe(false);
    const check = await ctl(['--config', s.config, 'config', 'check']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('stationctl evidence init');
  });

  it('seals the real agent\'s sessions, moves the key on with the epochs, seals a note, and continues the chain after a restart', async () => {
    const s = await station(true);
    const made = await init(s);
    expect(made.code).toBe(0);
    expect(statSync(join(s.dir, 'data', 'evidence.key')).mode & 0o777).toBe(0o600);
    expect(statSync(made.enrollment_file).mode & 0o777).toBe(0o600);
    const enrollment = JSON.parse(readFileSync(made.enrollment_file, 'utf8')) as { seed: string; epoch: number; epoch_s: number; station_id: string };
    expect(enrollment).toMatchObject({ station_id: 'test-station', epoch_s: EPOCH_S });
    // A second init would start a new chain: refused without --force.
    const again = await init(s);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('--force');

    let agent = run(s);
    await waitReady(agent, s.config);
    const first = await oneClass(s);
    const k1 = keyFile(s);
    const [genesis, usage] = usageStream(s);
    expect(genesis).toMatchObject({ seq: 1, type: 'genesis', after_seq: 0, prev: GENESIS_PREV, epoch_s: EPOCH_S });
    expect(usage).toMatchObject({ id: first.id, prev: recordHash(genesis!) });
    expect(usage!.epoch).toBe(k1.epoch);

    // The epoch ends: the agent moves the key on by itself, with no record made, and the old key is gone
    // from every file of the data folder.
    await waitFor(() => keyFile(s).epoch > k1.epoch, 15_000, 100);
    expect(epochOf(Date.now(), EPOCH_S)).toBeGreaterThan(k1.epoch);
    expect(filesHolding(join(s.dir, 'data'), Buffer.from(k1.key, 'hex'))).toEqual([]);
    const note = await ctl(['--json', '--config', s.config, 'session', 'note', first.id, '--topic', '果树冬季修剪', '--attendees', '23']);
    expect(note.code).toBe(0);
    expect(JSON.parse(note.stdout)).toMatchObject({ status: 'note', seq: first.seq });
    const noteRecord = NoteRecordSchema.parse(usageStream(s).at(-1));
    expect(noteRecord).toMatchObject({ type: 'note', session_seq: first.seq, annotation: { topic: '果树冬季修剪', attendees: 23 }, prev: recordHash(usage!) });
    const k2 = keyFile(s);
    expect(noteRecord.epoch).toBe(k2.epoch);
    expect(k2.epoch).toBeGreaterThan(k1.epoch);
    expect(filesHolding(join(s.dir, 'data'), Buffer.from(k1.key, 'hex'))).toEqual([]);
    expect(usageStream(s).find((r) => r.seq === first.seq)).toEqual(usage);

    // Replacing the seed under a running agent would have it write its next key over the new seed.
    const forced = await init(s, ['--force']);
    expect(forced.code).toBe(1);
    expect(forced.stderr).toContain('The agent is running');
    expect(keyFile(s)).toEqual(k2);

    expect(await agent.stop()).toBe(0);
    agent = run(s);
    await waitReady(agent, s.config);
    const second = await oneClass(s);
    expect(await agent.stop()).toBe(0);
    const stream = usageStream(s);
    expect(stream.filter((r) => r.type === 'genesis')).toHaveLength(1);
    expect(stream.at(-1)).toMatchObject({ id: second.id, prev: recordHash(noteRecord) });

    const verified = await ctl(['--json', '--config', s.config, 'ledger', 'verify', '--seed', made.enrollment_file]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, records: 4, sealed: 4, geneses: 1, findings: [] });
  });

  it('keeps a station without evidence as it was, and when sealing starts there, its genesis names the last unsealed seq', async () => {
    const s = await station(false);
    let agent = run(s);
    await waitReady(agent, s.config);
    const unsealed = await oneClass(s);
    const [record] = usageStream(s);
    for (const field of ['prev', 'epoch', 'seal']) expect(record).not.toHaveProperty(field);
    const note = await ctl(['--json', '--config', s.config, 'session', 'note', unsealed.id, '--topic', '政策宣讲']);
    expect(JSON.parse(note.stdout)).toMatchObject({ status: 'edited', seq: unsealed.seq });
    expect(usageStream(s)).toEqual([{ ...record, annotation: { topic: '政策宣讲' } }]);
    expect(await agent.stop()).toBe(0);

    writeFileSync(s.config, stringify({ ...(parse(readFileSync(s.config, 'utf8')) as object), evidence: { epoch_s: EPOCH_S } }));
    const made = await init(s);
    expect(made.code).toBe(0);
    agent = run(s);
    await waitReady(agent, s.config);
    await oneClass(s);
    expect(await agent.stop()).toBe(0);
    const genesis = usageStream(s).find((r) => r.type === 'genesis');
    expect(genesis).toMatchObject({ after_seq: unsealed.seq, prev: GENESIS_PREV });
    const verified = await ctl(['--json', '--config', s.config, 'ledger', 'verify', '--seed', made.enrollment_file]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, before_sealing: 1, sealed: 2, geneses: 1 });
  });
});
