/**
 * A projector power-on that outlasts every request timeout, end to end on real parts: an Epson on a
 * socat PTY whose lamp takes 35 s to light (the ESC/VP21 Command User's Guide §5 gives 40/70/100 s for
 * the 1st/2nd/3rd ignition attempt; 35 s is past stationctl's 30 s per-request limit, which is what made
 * `stationctl device projector power on` say "no answer from the daemon" while the projector was turning
 * on), the daemon as a real child process, stationctl as a real child process, and the county's
 * `device.power` over a real mosquitto.
 */
import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { Escvp21Simulator } from '../../../scripts/sims/escvp21.js';
import { Mosquitto, PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { callDaemon } from '../../../agent/control/client.js';
import { Topics } from '../../../protocol/topics.js';
import type { DeviceState } from '../../../drivers/types.js';
import { writeConfig, startAgent, waitReady, ctl } from '../../helpers/agent.js';

const WARMUP_MS = 35_000;

let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station() {
  const pty = await PtyPair.start();
  cleanups.push(() => pty.stop());
  const sim = new Escvp21Simulator({ serialPath: pty.b, warmupMs: WARMUP_MS, cooldownMs: 2000 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir('long-on-');
  cleanups.push(() => removeDir(dir));
  const file = writeConfig(dir, {
    station: { id: 'long-on', name: '长预热站点' },
    county: { url: broker.url, topic_prefix: 'stations', allowed_commands: ['device.power'] },
    devices: [{ id: 'projector', kind: 'projector', driver: 'escvp21', serial: { path: pty.a, baud_rate: 9600 }, poll_s: 1 }],
  });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  const socket = join(dir, 'ctl.sock');
  const state = async () => ((await callDaemon(socket, 'devices')).data as DeviceState[])[0]!;
  await waitFor(async () => (await state()).online, 10_000);
  return { sim, file, state };
}

describe('a projector power-on longer than any request timeout', () => {
  it('stationctl reports "accepted, warming up" at once, follows the warm-up and ends with the projector on; --no-wait returns at once', async () => {
    const { sim, file, state } = await station();

    const noWait = await ctl(['--config', file, 'device', 'projector', 'power', 'on', '--no-wait']);
    expect(noWait.code, noWait.stderr).toBe(0);
    expect(noWait.stdout).toContain('projector: power on accepted, warming up');
    expect(sim.power).toBe('02');
    expect(await state()).toMatchObject({ online: true, power: 'warming' });

    // Asked again while the lamp is still igniting: the same power-on, followed in Chinese to the end.
    const follow = await ctl(['--config', file, '--lang', 'zh', 'device', 'projector', 'power', 'on'], {}, WARMUP_MS + 30_000);
    expect(follow.code, follow.stderr).toBe(0);
    const lines = follow.stdout.trim().split('\n');
    expect(lines[0]).toBe('projector：开机指令已接受，正在预热…');
    // Progress while it warms up (without a terminal: a line every 10 s), then the end.
    expect(lines.slice(1, -1).some((l) => /^预热中…… \d+ 秒$/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/^projector 已开机（用时 \d+ 秒）。$/);
    expect(sim.power).toBe('01');
    expect(sim.received.filter((l) => l === 'PWR ON')).toHaveLength(1);
    expect(await state()).toMatchObject({ online: true, power: 'on', errors: [] });
  }, 120_000);

  it("the county's device.power answers at once: accepted, not done, on its way to on, with the state", async () => {
    const { sim, file } = await station();
    const topics = new Topics('stations', 'long-on');
    const client = await mqtt.connectAsync(broker.url, { clientId: 'county-test', clean: true });
    cleanups.push(() => client.endAsync(true));
    const responses: Array<{ transaction: string; status: string; data?: Record<string, unknown> }> = [];
    client.on('message', (_topic, buf) => responses.push(JSON.parse(buf.toString()) as (typeof responses)[number]));
    await client.subscribeAsync(topics.response('device.power'), { qos: 1 });
    await client.publishAsync(topics.request('device.power'), JSON.stringify({ transaction: 'long-1', args: { device: 'projector', value: 'on' } }), { qos: 1 });
    const res = await waitFor(() => responses.find((r) => r.transaction === 'long-1'), 10_000);
    expect(res).toMatchObject({ status: 'ok', data: { id: 'projector', accepted: true, done: false, target: 'on', power: 'warming', online: true } });
    expect(sim.power).toBe('02');
    const json = await ctl(['--json', '--config', file, 'device', 'projector', 'power', 'on', '--no-wait']);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'projector', accepted: true, done: false, target: 'on', power: 'warming' });
  }, 60_000);
});
