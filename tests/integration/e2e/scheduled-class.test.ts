/**
 * A scheduled class on simulated hardware: the daemon (a real child process) runs the schedule's steps
 * against a PJLink projector on TCP and an amplifier and LED display switched by two Modbus relay boards
 * sharing one RS-485 line (a socat PTY); `stationctl schedule run` starts it now instead of waiting for
 * its cron time.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { ModbusRelaySimulator } from '../../../scripts/sims/modbus-relay.js';
import { PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { UsageRecord } from '../../../protocol/usage-record.js';
import { writeConfig, startAgent, waitReady, ctl } from '../../helpers/agent.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a scheduled class', () => {
  it('powers the room on in order, off in reverse at the end, and records a session triggered by the schedule', async () => {
    const projector = new PjlinkSimulator({ warmupMs: 800, cooldownMs: 300 });
    await projector.start();
    cleanups.push(() => projector.stop());
    const bus = await PtyPair.start();
    cleanups.push(() => bus.stop());
    const relays = new ModbusRelaySimulator({ path: bus.b, units: [1, 2] });
    await relays.start();
    cleanups.push(() => relays.stop());

    const dir = tempDir('class-');
    cleanups.push(() => removeDir(dir));
    const file = writeConfig(dir, {
      devices: [
        { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: projector.port, poll_s: 0.3 },
        { id: 'amplifier', kind: 'amplifier', driver: 'modbus_relay', serial: { path: bus.a }, unit_id: 1, coil: 0, poll_s: 0.3 },
        { id: 'led', kind: 'led_display', driver: 'modbus_relay', serial: { path: bus.a }, unit_id: 2, coil: 0, poll_s: 0.3 },
      ],
      sessions: { min_s: 1, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
      schedules: [
        {
          id: 'tuesday-class',
          cron: '0 20 * * 2',
          duration_min: 90,
          steps: [
            { device: 'projector', action: 'power', value: 'on', wait_for: 'on', timeout_s: 20 },
            { device: 'projector', action: 'input', value: '31' },
            { device: 'amplifier', action: 'power', value: 'on' },
            { device: 'led', action: 'power', value: 'on' },
          ],
        },
      ],
    });
    const socket = join(dir, 'ctl.sock');
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    await waitFor(async () => ((await callDaemon(socket, 'devices')).data as Array<{ online: boolean }>).every((d) => d.online), 10_000);

    // Watch the hardware itself: when did each device come on, and go off?
    const on: Record<string, number> = {};
    const off: Record<string, number> = {};
    const watch = setInterval(() => {
      const now = performance.now();
      const states = { projector: projector.power === 1, amplifier: relays.coil(1, 0) === true, led: relays.coil(2, 0) === true };
      for (const [id, isOn] of Object.entries(states)) {
        if (isOn && on[id] === undefined) on[id] = now;
        if (!isOn && on[id] !== undefined && off[id] === undefined) off[id] = now;
      }
    }, 10);
    cleanups.push(() => clearInterval(watch));

    const run = await ctl(['--config', file, 'schedule', 'run', 'tuesday-class', '--minutes', '0.1']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('tuesday-class');

    await waitFor(() => off.projector !== undefined && off.led !== undefined && off.amplifier !== undefined, 30_000);
    // On in order: the amplifier only after the projector was really on (warm-up over), then the LED.
    expect(on.projector).toBeLessThan(on.amplifier!);
    expect(on.amplifier).toBeLessThan(on.led!);
    // Off in reverse.
    expect(off.led).toBeLessThan(off.amplifier!);
    expect(off.amplifier).toBeLessThanOrEqual(off.projector!);
    expect(projector.input).toBe('31');

    const sessions = await waitFor(async () => {
      const list = ((await callDaemon(socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' })).data as { sessions: UsageRecord[] }).sessions;
      return list.length > 0 ? list : undefined;
    }, 15_000);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ trigger: 'schedule:tuesday-class', end_reason: 'devices_off' });
    expect(sessions[0]!.devices.map((d) => d.id).sort()).toEqual(['amplifier', 'led', 'projector']);

    const events = await ctl(['--json', '--config', file, 'events']);
    const runs = (JSON.parse(events.stdout) as Array<{ type: string; data?: { phase?: string; ok?: boolean; steps?: Array<{ device: string; action: string; status: string }> } }>).filter((e) => e.type === 'schedule_run');
    const start = runs.find((e) => e.data?.phase === 'start')!;
    expect(start.data).toMatchObject({ ok: true });
    expect(start.data!.steps!.map((s) => `${s.device}:${s.action}:${s.status}`)).toEqual([
      'projector:power:ok',
      'projector:input:ok',
      'amplifier:power:ok',
      'led:power:ok',
    ]);
    expect(runs.find((e) => e.data?.phase === 'end')?.data).toMatchObject({ ok: true });

    const missing = await ctl(['--config', file, 'schedule', 'run', 'no-such-schedule']);
    expect(missing.code).toBe(2);
  });
});
