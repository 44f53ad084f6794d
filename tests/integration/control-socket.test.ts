/**
 * The control socket against a careless or hostile local client (issue: trust boundaries): a client
 * that never reads its replies, a line over the cap, idle connections hogging the slots, and a user
 * outside the socket's group. Each drives a real agent process.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { MAX_LINE } from '../../agent/control/protocol.js';
import { writeConfig, startAgent, waitReady, ctl, CTL_JS, type RunningAgent } from '../helpers/agent.js';
import { tempDir, removeDir } from '../../scripts/lib/kit/temp.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function agentWith(extra: Record<string, unknown> = {}): Promise<{ dir: string; file: string; socket: string; agent: RunningAgent }> {
  const dir = tempDir('control-');
  cleanups.push(() => removeDir(dir));
  const socket = join(dir, 'ctl.sock');
  const file = writeConfig(dir, { control: { socket, ...extra } });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  return { dir, file, socket, agent };
}

function connect(path: string): Promise<Socket> {
  const s = createConnection(path);
  cleanups.push(() => s.destroy());
  return once(s, 'connect').then(() => s);
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

/** Writes `line` until `totalBytes` are written or the peer stops taking them (no drain for `stallMs`). */
async function flood(s: Socket, line: string, totalBytes: number, stallMs: number): Promise<{ written: number; stalled: boolean }> {
  const chunk = line.repeat(Math.max(1, Math.floor(256 * 1024 / line.length)));
  let written = 0;
  while (written < totalBytes) {
    written += chunk.length;
    if (!s.write(chunk)) {
      const drained = await Promise.race([once(s, 'drain').then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), stallMs))]);
      if (!drained) return { written, stalled: true };
    }
  }
  return { written, stalled: false };
}

describe('control socket limits', () => {
  it('stops reading from a client that does not read its replies, stays small, and keeps serving others', async () => {
    const { file, socket, agent } = await agentWith();
    const s = await connect(socket);
    // 256 MB of requests, each answered with a status report the client never reads.
    const result = await flood(s, '{"command":"status"}\n', 256 * 2 ** 20, 3000);
    expect(result.stalled).toBe(true);
    expect(result.written).toBeLessThan(64 * 2 ** 20);
    // The unit's MemoryMax is 256M: the flood must not take the agent anywhere near it.
    expect(rssMb(agent.proc.pid!)).toBeLessThan(160);
    const other = await ctl(['--json', '--config', file, 'status']);
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toMatchObject({ agent: { running: true } });
  });

  it('refuses a request line over the cap even when its chunk also carries the newline', async () => {
    const { socket, agent } = await agentWith();
    const s = await connect(socket);
    s.setEncoding('utf8');
    let reply = '';
    s.on('data', (d: string) => (reply += d));
    // A valid command padded past the cap, newline at its end.
    const pad = 'a'.repeat(MAX_LINE + 1000);
    s.write(`{"command":"status","args":{},"pad":"${pad}"}\n`);
    await once(s, 'close');
    expect(JSON.parse(reply.split('\n')[0]!)).toMatchObject({ status: 'error', error: { code: 'too_large' } });
    expect(agent.proc.exitCode).toBeNull();
  });

  it('caps connections and closes idle ones, so a stuck script cannot lock the technician out', async () => {
    const { file, socket } = await agentWith({ max_clients: 2, idle_timeout_s: 2 });
    const idle = await Promise.all([connect(socket), connect(socket)]);
    const closed = idle.map((s) => once(s, 'close'));
    // A third client is refused at once, while the two idle ones hold the slots.
    const third = await connect(socket);
    third.setEncoding('utf8');
    let answer = '';
    third.on('data', (d: string) => (answer += d));
    await once(third, 'close');
    expect(JSON.parse(answer.split('\n')[0]!)).toMatchObject({ status: 'error', error: { code: 'busy', message: expect.stringContaining('too many control connections') } });
    await Promise.all(closed); // the agent closes them once they have been idle for idle_timeout_s
    const served = await ctl(['--json', '--config', file, 'status']);
    expect(served.code).toBe(0);
  });

  it('tells a user outside the socket group "permission denied", names the agent\'s group and exits 3, instead of "not running"', async () => {
    expect(process.getuid?.(), 'this test runs stationctl as nobody, so it needs root').toBe(0);
    const { dir, file } = await agentWith();
    // nobody must reach the config through the test run's own temp folder (0700 when made).
    const runDir = dirname(dir);
    const runMode = statSync(runDir).mode & 0o777;
    chmodSync(runDir, runMode | 0o001);
    cleanups.push(() => chmodSync(runDir, runMode));
    chmodSync(dir, 0o755);
    chmodSync(file, 0o644);
    const r = await new Promise<{ code: number; stderr: string }>((res) => {
      execFile(process.execPath, [CTL_JS, '--config', file, 'status'], { uid: 65534, gid: 65534, env: { ...process.env, LANG: 'C' } }, (err, _out, stderr) =>
        res({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    const said = r.stderr.replace(/\s+/g, ' '); // wrapped at 80 columns
    expect(said).toContain('permission denied');
    // The socket here belongs to root (the test's agent runs as root): the hint must still name the agent's
    // group, never tell a technician to join root.
    expect(said).toContain('add yourself to group station-agent (sudo usermod -aG station-agent $USER)');
    expect(said).not.toContain('-aG root');
    expect(r.stderr).not.toContain('not running');
    expect(r.code).toBe(3);
  });
});
