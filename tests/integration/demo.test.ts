/**
 * `npm run demo` as a user runs it (dist/scripts/demo.js, a real child process with its simulators,
 * socat PTYs, embedded broker and the agent), on a machine where two of its default ports are taken:
 * it picks free ones, says so, and the scene still runs to the usage record at the county, driven by
 * the agent's own scheduler (a trial run of the pushed weekly class), whatever the clock says. Then the
 * user stops it with Ctrl-C and runs it again on the same folder: the kept ledger, replay cache and
 * unacked records must not stop the second scene, and the county's acks go on where they stopped; and
 * a Ctrl-C in the middle of the class leaves a run the agent resumes, which the next scene waits out.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/**
 * One `npm run demo --dir dir`. With `interruptOn`: no --exit-when-done; once the output matches it,
 * SIGINT as Ctrl-C sends it. Returns the exit code, the output without colours and how long the run took.
 */
async function runDemo(dir: string, how: 'exit-when-done' | { interruptOn: RegExp }): Promise<{ code: number | null; text: string; ms: number }> {
  const started = performance.now();
  const args = [join(ROOT, 'dist', 'scripts', 'demo.js'), '--dir', dir, ...(how === 'exit-when-done' ? ['--exit-when-done'] : [])];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const kill = (): unknown => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
  cleanups.push(kill);
  let out = '';
  const onData = (d: Buffer): void => {
    out += d.toString();
    // Ctrl-C: the demo then stops its agent, simulators and broker.
    if (how !== 'exit-when-done' && how.interruptOn.test(out.replace(/\x1b\[[0-9;]*m/g, '')) && !proc.killed) proc.kill('SIGINT');
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const code = await new Promise<number | null>((resolve) => proc.on('exit', (c) => resolve(c)));
  return { code, text: out.replace(/\x1b\[[0-9;]*m/g, ''), ms: performance.now() - started };
}

/** The seq of the live usage record of the scene's class (not one replayed from an earlier run). */
function classUsageSeq(text: string): number {
  const m = /USAGE #(\d+) .*trigger schedule:demo-class, end devices_off$/m.exec(text);
  expect(m, text).not.toBeNull();
  return Number(m![1]);
}

describe('npm run demo', () => {
  it('runs the scene to the delivered usage record with its default ports taken, and again after Ctrl-C on the same folder', async () => {
    await occupy(11883);
    await occupy(14352);
    const dir = tempDir('demo-');
    cleanups.push(() => removeDir(dir));

    const first = await runDemo(dir, { interruptOn: /scene complete in \d+ s/ });
    expect(first.code, first.text).toBe(0);
    expect(first.text).toMatch(/port 11883 \(MQTT broker\) is taken: using \d+ instead/);
    expect(first.text).toMatch(/port 14352 \(PJLink projector\) is taken: using \d+ instead/);
    expect(first.text).not.toMatch(/EADDRINUSE/);
    // The agent's scheduler ran the class's steps, and the county got the usage record.
    expect(first.text).toMatch(/schedule_run: schedule demo-class start: 4\/4 steps ok/);
    expect(first.text).toMatch(/scene complete in \d+ s/);
    const firstSeq = classUsageSeq(first.text);

    const second = await runDemo(dir, 'exit-when-done');
    expect(second.code, second.text).toBe(0);
    expect(second.text).not.toMatch(/already received/);
    expect(second.text).toMatch(/response schedule\.set: ok/);
    expect(second.text).toMatch(/response schedule\.run: ok/);
    expect(second.text).toMatch(/scene complete in \d+ s/);
    // The ledger went on from the first run, and the county's ack watermark covers the new record.
    const secondSeq = classUsageSeq(second.text);
    expect(secondSeq).toBeGreaterThan(firstSeq);
    const acks = JSON.parse(readFileSync(join(dir, 'county-acks.json'), 'utf8')) as Record<string, { seq: number; ledger: string }>;
    expect(acks['demo-village']!.seq).toBeGreaterThanOrEqual(secondSeq);
    expect(acks['demo-village']!.ledger).toMatch(/^[0-9a-z]{16,}$/i);

    for (const [name, run] of [['first', first], ['second', second]] as const) {
      expect(run.ms, `${name} run took ${Math.round(run.ms / 1000)} s`).toBeLessThan(120_000);
      process.stdout.write(`demo ${name} run: ${Math.round(run.ms / 1000)} s\n`);
    }
  }, 300_000);

  it('runs the scene again after a Ctrl-C in the middle of the class', async () => {
    const dir = tempDir('demo-');
    cleanups.push(() => removeDir(dir));
    // Stopped once the class's steps ran: the agent keeps the run and resumes it at its next start.
    const first = await runDemo(dir, { interruptOn: /schedule demo-class start: \d+\/\d+ steps ok/ });
    expect(first.code, first.text).toBe(0);
    expect(first.text).not.toMatch(/scene complete/);

    const second = await runDemo(dir, 'exit-when-done');
    expect(second.code, second.text).toBe(0);
    // The resumed run holds the schedule until its end; the trial run follows it.
    expect(second.text).toMatch(/response schedule\.run: error schedule demo-class is already running/);
    expect(second.text).toMatch(/the class of the last demo \(stopped mid-class\) is still finishing/);
    expect(second.text).toMatch(/response schedule\.run: ok/);
    // Completed by this run's class (ended devices_off), not by the first run's cut-short session.
    expect(second.text).toMatch(/scene complete in \d+ s/);
    classUsageSeq(second.text);
    process.stdout.write(`demo after a mid-class Ctrl-C: ${Math.round(first.ms / 1000)} s, then ${Math.round(second.ms / 1000)} s\n`);
  }, 240_000);
});
