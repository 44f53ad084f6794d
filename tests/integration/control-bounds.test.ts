/**
 * The control socket's replies are bounded too (attack run rows 5 and 9), against a real agent on a real
 * SQLite ledger: clients asking for the whole ledger and never reading it no longer take the agent past
 * its unit's MemoryMax, their connections close when the reply stays unread, stationctl still prints
 * every event by following the pages, and a client trickling bytes that never make a request loses its slot.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { join } from 'node:path';
import { writeConfig, startAgent, waitReady, CTL_JS } from '../helpers/agent.js';
import { seedEvents } from '../../scripts/bench/seed-ledger.js';
import { tempDir, removeDir } from '../../scripts/lib/kit/temp.js';
import { waitFor } from '../../scripts/lib/kit/wait.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return kb / 1024;
}

/**
 * Resolves once the agent has closed `s`, seen from the client without reading a byte: a space written
 * every 200 ms (no request, so it keeps nothing open) fails with EPIPE once the agent's end is gone.
 */
function closedByAgent(s: Socket): Promise<void> {
  return new Promise((resolve) => {
    const probe = setInterval(() => s.writable && s.write(' '), 200);
    s.once('close', () => {
      clearInterval(probe);
      resolve();
    });
  });
}

function connect(path: string): Promise<Socket> {
  const s = createConnection(path);
  // The agent closing a connection with a reply unread is a reset here: expected, and seen as 'close'.
  s.on('error', () => undefined);
  cleanups.push(() => s.destroy());
  return once(s, 'connect').then(() => s);
}

/** stationctl with its whole stdout kept (execFile's maxBuffer would cut a 40 MB listing). */
function ctlAll(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const child = spawn(process.execPath, [CTL_JS, ...args], { env: { ...process.env, LANG: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return once(child, 'close').then(([code]) => ({ code: code as number | null, stdout: Buffer.concat(out), stderr }));
}

describe('control socket replies stay bounded', () => {
  it('16 clients asking events.list for 100,000 events and never reading: the agent stays small, closes them, and stationctl still lists all 100,000', async () => {
    const dir = tempDir('control-bounds-');
    cleanups.push(() => removeDir(dir));
    seedEvents(join(dir, 'data'), 100_000);
    const socket = join(dir, 'ctl.sock');
    const file = writeConfig(dir, { control: { socket, max_clients: 16, idle_timeout_s: 3 } });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const before = rssMb(agent.proc.pid!);

    const clients = await Promise.all(Array.from({ length: 16 }, () => connect(socket)));
    // Each asks a few times (so the kernel's socket buffers fill and a reply waits) and reads nothing.
    for (const s of clients) s.write('{"command":"events.list","args":{"limit":100000}}\n'.repeat(4));
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(agent.proc.pid!))), 50);
    cleanups.push(() => clearInterval(sampler));
    const started = Date.now();
    // Unread replies close their connections within the write timeout (idle_timeout_s here).
    const closed = await Promise.race([Promise.all(clients.map(closedByAgent)).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    expect(closed, 'unread replies kept their connections').toBe(true);
    clearInterval(sampler);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The unit's MemoryMax is 256M; before pages, 16 such clients took it to 2.8 GB.
    expect(peak).toBeLessThan(before + 64);
    expect(peak).toBeLessThan(200);

    const all = await ctlAll(['--json', '--config', file, 'events', '--limit', '100000']);
    expect(all.code, all.stderr).toBe(0);
    const events = JSON.parse(all.stdout.toString('utf8')) as Array<{ seq: number; message: string }>;
    expect(events).toHaveLength(100_000);
    expect(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq)).toBe(true);
    // The newest 100,000: the agent's own events (its start) and all seeded ones but the oldest few.
    const seeded = (list: Array<{ message: string }>) => list.map((e) => e.message).filter((m) => m.startsWith('projector event '));
    const own = 100_000 - seeded(events).length;
    expect(own).toBeGreaterThan(0);
    expect(seeded(events)).toEqual(Array.from({ length: 100_000 - own }, (_, i) => `projector event ${own + i}`));
    // The newest 1,234 only, across three pages.
    const some = await ctlAll(['--json', '--config', file, 'events', '--limit', '1234']);
    const newest = JSON.parse(some.stdout.toString('utf8')) as Array<{ message: string }>;
    expect(newest).toHaveLength(1234);
    expect(seeded(newest)).toEqual(Array.from({ length: 1234 - own }, (_, i) => `projector event ${100_000 - (1234 - own) + i}`));
    expect(rssMb(agent.proc.pid!)).toBeLessThan(200);
  }, 240_000);

  it('events.list answers a page and the args of the next one; a hand-made cursor it cannot take is refused', async () => {
    const dir = tempDir('control-bounds-');
    cleanups.push(() => removeDir(dir));
    seedEvents(join(dir, 'data'), 1200);
    const socket = join(dir, 'ctl.sock');
    const file = writeConfig(dir, { control: { socket } });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const s = await connect(socket);
    s.setEncoding('utf8');
    let text = '';
    s.on('data', (d: string) => (text += d));
    const ask = async (args: unknown): Promise<{ status: string; data?: { events: Array<{ seq: number }>; more: { after: number; limit: number } | null }; error?: { code: string } }> => {
      const from = text.length;
      s.write(`${JSON.stringify({ command: 'events.list', args })}\n`);
      await waitFor(() => text.indexOf('\n', from) >= 0, 10_000, 10);
      const line = text.slice(from, text.indexOf('\n', from));
      return JSON.parse(line) as never;
    };
    const first = await ask({ limit: 1000 });
    // The agent's own start event is in the ledger too: the newest 1000 end with it.
    expect(first.data!.events).toHaveLength(500);
    expect(first.data!.more).toEqual({ after: first.data!.events[499]!.seq, limit: 500 });
    const second = await ask({ limit: 1000, ...first.data!.more });
    expect(second.data!.events).toHaveLength(500);
    expect(second.data!.events[0]!.seq).toBeGreaterThan(first.data!.events[499]!.seq);
    expect(second.data!.more).toBeNull();
    expect((await ask({ limit: 10, after: 'x' })).error?.code).toBe('invalid_args');
  });

  it('a client sending a byte every half second but never a whole request loses its slot after idle_timeout_s', async () => {
    const dir = tempDir('control-bounds-');
    cleanups.push(() => removeDir(dir));
    const socket = join(dir, 'ctl.sock');
    const file = writeConfig(dir, { control: { socket, max_clients: 2, idle_timeout_s: 2 } });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const tricklers = await Promise.all([connect(socket), connect(socket)]);
    const timers = tricklers.map((s) => setInterval(() => s.writable && s.write(' '), 500));
    cleanups.push(() => timers.forEach(clearInterval));
    const started = Date.now();
    const closed = await Promise.race([
      Promise.all(tricklers.map((s) => new Promise((resolve) => s.once('close', resolve)))).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 8000)),
    ]);
    expect(closed, 'trickling clients kept their slots').toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
    // And a client that does make requests keeps its connection past the idle timeout between them. (Its
    // first connection may come before the agent has let go of a trickler's slot: then it is told busy, and tries again.)
    const lines: string[] = [];
    const ask = async (s: Socket): Promise<{ status: string; error?: { code: string } }> => {
      const n = lines.length;
      s.write('{"command":"status"}\n');
      await waitFor(() => lines.length > n || s.destroyed, 5000, 10);
      return JSON.parse(lines[n] ?? '{"status":"closed"}') as never;
    };
    const busy = await waitFor(async () => {
      const s = await connect(socket);
      let rest = '';
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        const parts = (rest + d).split('\n');
        rest = parts.pop()!;
        lines.push(...parts);
      });
      if ((await ask(s)).status === 'ok') return s;
      s.destroy();
      return undefined;
    }, 5000, 100);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setTimeout(r, 1000)); // the client's own pace between requests, not synchronisation
      expect((await ask(busy)).status).toBe('ok');
    }
    expect(busy.destroyed).toBe(false);
  });
});
