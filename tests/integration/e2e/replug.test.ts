/**
 * A USB-serial adapter pulled out and plugged back, with the daemon running: socat stands in for the
 * adapter, and its link path for a /dev/serial/by-id name (it points at a new /dev/pts/N after a replug,
 * just as by-id names follow a ttyUSB renumbering).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { Escvp21Simulator } from '../../../scripts/sims/escvp21.js';
import { PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { DeviceState } from '../../../drivers/types.js';
import { writeConfig, startAgent, waitReady } from '../../helpers/agent.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function device(socket: string, id: string): Promise<DeviceState> {
  return ((await callDaemon(socket, 'devices')).data as DeviceState[]).find((d) => d.id === id)!;
}

describe('serial adapter unplugged and replugged', () => {
  it('goes offline with a clear error and comes back by itself, under a new pts number', async () => {
    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    const sim = new Escvp21Simulator({ serialPath: pty.b, warmupMs: 200, cooldownMs: 200 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const dir = tempDir('replug-');
    cleanups.push(() => removeDir(dir));
    const file = writeConfig(dir, {
      devices: [{ id: 'epson', kind: 'projector', driver: 'escvp21', serial: { path: pty.a, baud_rate: 9600 }, poll_s: 0.5 }],
    });
    const socket = join(dir, 'ctl.sock');
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    await waitFor(async () => (await device(socket, 'epson')).online, 10_000);
    const before = realpathSync(pty.a);

    await pty.unplug();
    const offline = await waitFor(async () => {
      const d = await device(socket, 'epson');
      return d.online ? undefined : d;
    }, 10_000);
    expect(offline.errors[0]?.code).toMatch(/link_lost|unreachable/);

    // Another device takes the old pts number, so the adapter comes back under a new one.
    const squatter = await PtyPair.start();
    cleanups.push(() => squatter.stop());
    await pty.replug();
    expect(realpathSync(pty.a)).not.toBe(before);
    const t0 = Date.now();
    // The bound is the assertion below; the wait is longer only so a slow recovery is reported with its
    // figure and the agent's own account of it, not as a bare timeout.
    await waitFor('the device back online', async () => (await device(socket, 'epson')).online, 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\nagent log (tail):\n${agent.output().slice(-4000)}`);
    });
    const recoveryMs = Date.now() - t0;
    expect((await device(socket, 'epson')).errors).toEqual([]);
    expect(recoveryMs).toBeLessThan(10_000);
    expect(agent.proc.exitCode).toBeNull();
    // Its waits add up to 35 s, above the default 30 s test limit: a loaded machine must reach them.
  }, 60_000);
});
