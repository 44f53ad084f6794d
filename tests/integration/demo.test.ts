/**
 * `npm run demo` as a user runs it (dist/scripts/demo.js, a real child process with its simulators,
 * socat PTYs, embedded broker and the agent), on a machine where two of its default ports are taken:
 * it picks free ones, says so, and the scene still runs to the usage record at the county, driven by
 * the agent's own scheduler (a trial run of the pushed weekly class), whatever the clock says.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { tempDir, removeDir } from '../../scripts/lib/kit/index.js';
import { ROOT } from '../helpers/agent.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Holds `port` on 127.0.0.1; when something else already holds it, it is taken all the same. */
async function occupy(port: number): Promise<void> {
  const server: Server = createServer();
  const held = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (held) cleanups.push(() => new Promise((r) => server.close(() => r(undefined))));
}

describe('npm run demo', () => {
  it('runs the scene to the delivered usage record with its default broker and projector ports taken', async () => {
    await occupy(11883);
    await occupy(14352);
    const dir = tempDir('demo-');
    cleanups.push(() => removeDir(dir));
    const proc = spawn(process.execPath, [join(ROOT, 'dist', 'scripts', 'demo.js'), '--dir', dir, '--exit-when-done'], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
    const text = out.replace(/\x1b\[[0-9;]*m/g, '');
    expect(code, text).toBe(0);
    expect(text).toMatch(/port 11883 \(MQTT broker\) is taken: using \d+ instead/);
    expect(text).toMatch(/port 14352 \(PJLink projector\) is taken: using \d+ instead/);
    expect(text).not.toMatch(/EADDRINUSE/);
    // The agent's scheduler ran the class's steps, and the county got the usage record.
    expect(text).toMatch(/schedule_run: schedule demo-class start: 4\/4 steps ok/);
    expect(text).toMatch(/USAGE #\d+ .*trigger schedule:demo-class, end devices_off/);
    expect(text).toMatch(/scene complete in \d+ s/);
  }, 150_000);
});
