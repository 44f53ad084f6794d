/**
 * stationctl doctor as a real child process: a missing serial port, a wrong broker password against a
 * real mosquitto with a password file, an unsynchronised clock, a port locked by another program and a
 * running daemon with a simulated projector. Both languages, JSON and the 80-column human form.
 */
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { Mosquitto, PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { writeConfig, ctl, startAgent, waitReady, type RunningAgent } from '../../helpers/agent.js';
import { SerialTransport } from '../../../drivers/transport/serial.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';

interface Check {
  check: string;
  status: 'pass' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start({ users: { 'station-01': 'right-secret' } });
});
afterAll(async () => {
  await broker.dispose();
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function station(password: string, devices: unknown[]): string {
  const dir = tempDir('doctor-');
  cleanups.push(() => removeDir(dir));
  const pw = join(dir, 'county.pass');
  writeFileSync(pw, `${password}\n`, { mode: 0o600 });
  return writeConfig(dir, {
    county: { url: broker.url, username: 'station-01', password_file: pw },
    devices,
  });
}

const parse = (stdout: string) => JSON.parse(stdout) as Check[];
const find = (checks: Check[], id: string) => {
  const c = checks.find((x) => x.check === id);
  expect(c, `check ${id} in ${JSON.stringify(checks.map((x) => x.check))}`).toBeDefined();
  return c!;
};

describe('stationctl doctor', () => {
  it('finds a missing serial port, a wrong broker password and an unsynchronised clock, each with its fix (en)', async () => {
    const file = station('wrong-secret', [
      { id: 'projector', kind: 'projector', driver: 'escvp21', serial: { path: '/dev/serial/by-id/usb-FTDI_gone-if00-port0' } },
    ]);
    const res = await ctl(['--json', '--config', file, 'doctor'], { STATION_AGENT_CLOCK_SYNCED: '0' });
    expect(res.code, res.stderr).toBe(1);
    const checks = parse(res.stdout);
    for (const c of checks) {
      expect(['pass', 'warn', 'fail']).toContain(c.status);
      if (c.status === 'fail') expect(c.fix, c.check).toMatch(/\S/);
    }
    const serial = find(checks, 'serial:/dev/serial/by-id/usb-FTDI_gone-if00-port0');
    expect(serial).toMatchObject({ status: 'fail', detail: expect.stringContaining('does not exist') });
    expect(serial.fix).toContain('stationctl ports');

    expect(find(checks, 'broker_dns').status).toBe('pass');
    expect(find(checks, 'broker_tcp').status).toBe('pass');
    const auth = find(checks, 'broker_auth');
    expect(auth.status).toBe('fail');
    // mosquitto answers a wrong password with "not authorised"; the line says what that means.
    expect(auth.detail).toMatch(/not authorised.*wrong password/);
    expect(auth.fix).toContain('county.pass');

    const clock = find(checks, 'clock');
    expect(clock).toMatchObject({ status: 'fail', detail: expect.stringContaining('not synchronised') });
    expect(clock.fix).toContain('timedatectl set-ntp true');

    expect(find(checks, 'agent').status).toBe('warn');
    expect(find(checks, 'config').status).toBe('pass');
  });

  it('says the same in Chinese, fully translated and within 80 columns', async () => {
    const file = station('wrong-secret', [
      { id: 'projector', kind: 'projector', driver: 'escvp21', serial: { path: '/dev/serial/by-id/usb-FTDI_gone-if00-port0' } },
    ]);
    const json = await ctl(['--json', '--lang', 'zh', '--config', file, 'doctor'], { STATION_AGENT_CLOCK_SYNCED: '0' });
    expect(json.code).toBe(1);
    const checks = parse(json.stdout);
    expect(find(checks, 'serial:/dev/serial/by-id/usb-FTDI_gone-if00-port0')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('不存在'),
      fix: expect.stringContaining('串口'),
    });
    expect(find(checks, 'broker_auth')).toMatchObject({ status: 'fail', detail: expect.stringContaining('密码'), fix: expect.stringContaining('密码') });
    expect(find(checks, 'clock')).toMatchObject({ status: 'fail', detail: expect.stringContaining('未同步'), fix: expect.stringContaining('时间同步') });

    const human = await ctl(['--config', file, 'doctor'], { LANG: 'zh_CN.UTF-8', STATION_AGENT_CLOCK_SYNCED: '0' });
    expect(human.code).toBe(1);
    const lines = human.stdout.trimEnd().split('\n');
    for (const l of lines) expect(stringWidth(l), l).toBeLessThanOrEqual(80);
    expect(human.stdout).toContain('[失败]');
    expect(human.stdout).toContain('修复：');
    expect(human.stdout).toMatch(/通过 \d+ 项，警告 \d+ 项，失败 \d+ 项/);
    // No English words outside paths, ids and commands.
    const words = human.stdout
      .replace(/\/[\w./:+-]*/g, '')
      .replace(/sudo [^，。；（）\n]*/g, '')
      .replace(/stationctl \w+|station-agent/g, '')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '')
      .match(/[A-Za-z]{3,}/g) ?? [];
    expect(words.filter((w) => !/^(MQTT|TLS|projector|station|ECONNREFUSED|FTDI|gone|port|usb|root)$/.test(w))).toEqual([]);
  });

  it('passes login and clock with the right password and a synchronised clock, and sees a port locked by another program', async () => {
    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    const file = station('right-secret', [{ id: 'projector', kind: 'projector', driver: 'escvp21', serial: { path: pty.a } }]);

    const free = await ctl(['--json', '--config', file, 'doctor'], { STATION_AGENT_CLOCK_SYNCED: '1' });
    const checks = parse(free.stdout);
    expect(find(checks, 'broker_auth')).toMatchObject({ status: 'pass', detail: expect.stringContaining('station-01') });
    expect(find(checks, 'clock').status).toBe('pass');
    expect(find(checks, `serial:${pty.a}`)).toMatchObject({ status: 'pass', detail: expect.stringContaining('not locked') });
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(free.code).toBe(0);

    const holder = new SerialTransport({ path: pty.a, lock: true, presenceCheckMs: 0 });
    await holder.open();
    cleanups.push(() => holder.close());
    const locked = await ctl(['--json', '--config', file, 'doctor'], { STATION_AGENT_CLOCK_SYNCED: '1' });
    expect(locked.code).toBe(1);
    const serial = find(parse(locked.stdout), `serial:${pty.a}`);
    expect(serial).toMatchObject({ status: 'fail', detail: expect.stringContaining('locked by another program') });
    expect(serial.fix).toContain(`fuser -v ${pty.a}`);
  });

  it('asks the running daemon for database integrity and device identity', async () => {
    const sim = new PjlinkSimulator({ model: 'EB-X51' });
    await sim.start();
    cleanups.push(() => sim.stop());
    const file = station('right-secret', [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 1 }]);
    const agent: RunningAgent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    await waitFor(async () => {
      const r = await ctl(['--json', '--config', file, 'devices']);
      return r.code === 0 && (JSON.parse(r.stdout) as Array<{ online: boolean }>)[0]?.online;
    }, 10_000, 100);

    const res = await ctl(['--json', '--config', file, 'doctor'], { STATION_AGENT_CLOCK_SYNCED: '1' });
    const checks = parse(res.stdout);
    expect(find(checks, 'agent')).toMatchObject({ status: 'pass', detail: expect.stringContaining('running') });
    expect(find(checks, 'database')).toMatchObject({ status: 'pass', detail: expect.stringContaining('checked by the agent') });
    expect(find(checks, 'device:projector')).toMatchObject({ status: 'pass', detail: expect.stringContaining('EB-X51') });
    expect(res.code, res.stdout).toBe(0);

    // Stopped: the same checks come from the files, and the device cannot be identified.
    await agent.stop('SIGTERM');
    const down = parse((await ctl(['--json', '--config', file, 'doctor'], { STATION_AGENT_CLOCK_SYNCED: '1' })).stdout);
    expect(find(down, 'database')).toMatchObject({ status: 'pass', detail: expect.stringContaining('read-only') });
    expect(find(down, 'device:projector')).toMatchObject({ status: 'warn', detail: expect.stringContaining('answers') });
  });
});
