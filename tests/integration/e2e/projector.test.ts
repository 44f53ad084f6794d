/**
 * The whole path on real parts: a PJLink simulator on TCP → the daemon (a real child process) → the
 * control socket → stationctl as a real child process.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { DeviceState } from '../../../drivers/types.js';
import { tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { writeConfig, startAgent, waitReady, ctl, type RunningAgent } from '../../helpers/agent.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station(pollS: number, password?: string) {
  const sim = new PjlinkSimulator({ warmupMs: 300, cooldownMs: 300, ...(password ? { password } : {}) });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir('e2e-');
  cleanups.push(() => removeDir(dir));
  let passwordFile: string | undefined;
  if (password) {
    passwordFile = join(dir, 'pjlink.pass');
    writeFileSync(passwordFile, `${password}\n`);
  }
  const file = writeConfig(dir, {
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: pollS, ...(passwordFile ? { password_file: passwordFile } : {}) }],
  });
  const agent: RunningAgent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  return { sim, dir, file, agent, socket: join(dir, 'ctl.sock') };
}

async function projectorState(socket: string): Promise<DeviceState> {
  const res = await callDaemon(socket, 'devices');
  return (res.data as DeviceState[])[0]!;
}

describe('projector end to end', () => {
  it('shows a state change on the projector in stationctl devices --json within one poll interval', async () => {
    const pollS = 1;
    const { sim, file, socket } = await station(pollS, 'secret');
    await waitFor(async () => (await projectorState(socket)).online, 10_000);
    const first = await projectorState(socket);
    expect(first).toMatchObject({ online: true, power: 'off', model: expect.stringContaining('EB-X51') });

    // Somebody presses the projector's own power button.
    sim.setPower(1);
    const t0 = Date.now();
    await waitFor(async () => (await projectorState(socket)).power === 'on', 5_000, 10);
    const latency = Date.now() - t0;
    expect(latency).toBeLessThanOrEqual(pollS * 1000 + 500);

    const res = await ctl(['--json', '--config', file, 'devices']);
    expect(res.code).toBe(0);
    const devices = JSON.parse(res.stdout) as DeviceState[];
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ id: 'projector', kind: 'projector', driver: 'pjlink', online: true, power: 'on', input: '31', signal: true, lamp_hours: 1200 });
    expect(typeof devices[0]!.last_seen).toBe('string');
  });

  it('powers the projector through stationctl and sees it warm up and come on', async () => {
    const { sim, file, socket } = await station(0.5);
    await waitFor(async () => (await projectorState(socket)).online, 10_000);
    const res = await ctl(['--config', file, 'device', 'projector', 'power', 'on']);
    expect(res.code, res.stderr).toBe(0);
    await waitFor(async () => (await projectorState(socket)).power === 'on', 5_000);
    expect(sim.power).toBe(1);

    const bad = await ctl(['--config', file, 'device', 'projector', 'volume', '30']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unsupported/);
    const missing = await ctl(['--config', file, 'device', 'nope', 'power', 'on']);
    expect(missing.code).toBe(2);
  });

  it('a lamp that fails during the warm-up: stationctl stops following, names the fault and exits 1', async () => {
    const sim = new PjlinkSimulator({ warmupMs: 20_000, cooldownMs: 300 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const dir = tempDir('e2e-lamp-');
    cleanups.push(() => removeDir(dir));
    const file = writeConfig(dir, { devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.3 }] });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const socket = join(dir, 'ctl.sock');
    await waitFor(async () => (await projectorState(socket)).online, 10_000);
    const following = ctl(['--config', file, 'device', 'projector', 'power', 'on']);
    await waitFor(() => sim.power === 3, 10_000);
    // PJLink ERST: lamp = 2 (error) while the projector warms up.
    sim.setError('lamp', 2);
    const res = await following;
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('projector: power on accepted, warming up');
    expect(res.stdout).toContain('projector did not get to on: lamp failure');
  });

  it('answers from the database, marked offline, when the daemon is down', async () => {
    const { file, agent, socket } = await station(0.5);
    await waitFor(async () => (await projectorState(socket)).online, 10_000);
    expect(await agent.stop()).toBe(0);
    const res = await ctl(['--json', '--config', file, 'devices']);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/not running/);
    const devices = JSON.parse(res.stdout) as DeviceState[];
    expect(devices[0]).toMatchObject({ id: 'projector', online: false, model: expect.stringContaining('EB-X51') });
    const status = await ctl(['--json', '--config', file, 'status']);
    expect(JSON.parse(status.stdout)).toMatchObject({ station_id: 'test-station', agent: { running: false } });
    const zh = await ctl(['--config', file, 'status'], { LANG: 'zh_CN.UTF-8' });
    expect(zh.stderr).toContain('代理程序未运行');
    expect(zh.stdout).toContain('投影机');
  });
});
