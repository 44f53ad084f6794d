/**
 * stationctl never truncates (attack run row 6): `sessions --csv | cat` with many sessions was cut at
 * 64 KiB, mid-character, exit 0, because process.exit() ran before a piped stdout drained. Real
 * processes on a real ledger: the daemon running, stdout a pipe read slowly, a file, or a pipe closed early.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { writeConfig, startAgent, waitReady, CTL_JS, type RunningAgent } from '../../helpers/agent.js';
import { seedSessions } from '../../../scripts/bench/seed-ledger.js';
import { tempDir, removeDir } from '../../../scripts/lib/kit/temp.js';

let dir: string;
let file: string;
let agent: RunningAgent;
beforeAll(async () => {
  dir = tempDir('ctl-output-');
  // 70,000 sessions: over 10 MB of --csv (11 MB) and of --json, 140 pages of sessions.list.
  seedSessions(join(dir, 'data'), 70_000);
  file = writeConfig(dir, { station: { id: 'test-station', name: '测试站点', timezone: 'Asia/Shanghai' } });
  agent = startAgent(file);
  await waitReady(agent, file);
}, 120_000);
afterAll(async () => {
  await agent?.stop('SIGKILL');
  if (dir) removeDir(dir);
});

function run(args: string[], stdout: 'pipe' | number) {
  return spawn(process.execPath, [CTL_JS, '--config', file, ...args], { env: { ...process.env, LANG: 'C' }, stdio: ['ignore', stdout, 'pipe'] });
}

/** Output to a file: the reference. */
async function toFile(args: string[]): Promise<{ code: number | null; out: Buffer }> {
  const path = join(dir, 'out.bin');
  const fd = openSync(path, 'w', 0o600);
  try {
    const child = run(args, fd);
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, out: readFileSync(path) };
  } finally {
    closeSync(fd);
  }
}

/** Output through a pipe whose reader takes a chunk, then waits a few milliseconds before the next. */
async function throughSlowPipe(args: string[]): Promise<{ code: number | null; out: Buffer; stderr: string }> {
  const child = run(args, 'pipe');
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.on('data', (b: Buffer) => {
    chunks.push(b);
    child.stdout!.pause();
    setTimeout(() => child.stdout!.resume(), 2); // the slow reader this test is about
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, out: Buffer.concat(chunks), stderr };
}

describe('stationctl writes all its output, whatever stdout is', () => {
  it.each([
    ['--lang zh sessions --csv', ['--lang', 'zh', 'sessions', '--csv']],
    ['--json sessions', ['--json', 'sessions']],
  ])('%s: a slow pipe gets byte for byte what a file gets, over 10 MB, exit 0', async (_name, args) => {
    const ref = await toFile(args);
    expect(ref.code).toBe(0);
    expect(ref.out.length).toBeGreaterThan(10 * 2 ** 20);
    const piped = await throughSlowPipe(args);
    expect(piped.stderr).toBe('');
    expect(piped.code).toBe(0);
    expect(piped.out.length).toBe(ref.out.length);
    expect(piped.out.equals(ref.out)).toBe(true);
    // Whole: every session once, in order.
    if (args.includes('--csv')) {
      const lines = piped.out.toString('utf8').split('\r\n');
      expect(lines).toHaveLength(70_001); // the header and 70,000 rows (the last ends with \n)
      expect(lines[0]!.startsWith('\uFEFF编号,')).toBe(true);
    } else {
      expect(JSON.parse(piped.out.toString('utf8'))).toHaveLength(70_000);
    }
  }, 180_000);

  it('a reader that goes away after the first line (| head -1): a quiet exit, non-zero', async () => {
    const child = run(['--lang', 'zh', 'sessions', '--csv'], 'pipe');
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const [first] = (await once(child.stdout!, 'data')) as [Buffer];
    expect(first.length).toBeGreaterThan(0);
    child.stdout!.destroy();
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toBe('');
  }, 60_000);

  it('with the daemon stopped, the same pages come from the database: the same CSV, and a note on stderr', async () => {
    const live = await toFile(['--lang', 'zh', 'sessions', '--csv']);
    await agent.stop('SIGTERM');
    const child = run(['--lang', 'zh', 'sessions', '--csv'], 'pipe');
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => chunks.push(b));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    expect(stderr).toContain('代理程序未运行');
    expect(Buffer.concat(chunks).equals(live.out)).toBe(true);
  }, 120_000);
});
