/**
 * Stopping is bounded by the agent, not by its slowest device. Every device answers slowly (a PJLink
 * projector, an Epson on a serial PTY, an NEC over TCP, three Modbus relay units on one RS-485 PTY and the
 * MediaMTX API a set-top box's `playing` comes from, each holding every reply back), the daemon polls them
 * without pause, and SIGTERM arrives while each of them is in the middle of a request. The daemon must stop cleanly (exit 0, not the hard exit after
 * 5 s), and the open usage session must end as `agent_stop`.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Escvp21Simulator } from '../../../scripts/sims/escvp21.js';
import { NecSimulator } from '../../../scripts/sims/nec.js';
import { ModbusRelaySimulator } from '../../../scripts/sims/modbus-relay.js';
import { MediaMtxFake } from '../../../scripts/sims/mediamtx-fake.js';
import type { ReplyShaper } from '../../../scripts/sims/shared.js';
import { PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { DeviceState } from '../../../drivers/types.js';
import type { UsageRecord } from '../../../protocol/usage-record.js';
import { writeConfig, startAgent, waitReady } from '../../helpers/agent.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('stopping with every device in the middle of a slow request', () => {
  it('exits 0 on SIGTERM and ends the open session as agent_stop', async () => {
    const pjlink = new PjlinkSimulator({ warmupMs: 100, cooldownMs: 100 });
    await pjlink.start();
    cleanups.push(() => pjlink.stop());
    const epsonPty = await PtyPair.start();
    cleanups.push(() => epsonPty.stop());
    const epson = new Escvp21Simulator({ serialPath: epsonPty.b });
    await epson.start();
    cleanups.push(() => epson.stop());
    const nec = new NecSimulator({ tcpPort: 0 });
    const necPort = await nec.start();
    cleanups.push(() => nec.stop());
    const busPty = await PtyPair.start();
    cleanups.push(() => busPty.stop());
    const relays = new ModbusRelaySimulator({ path: busPty.b, units: [1, 2, 3] });
    await relays.start();
    cleanups.push(() => relays.stop());
    const mediamtx = new MediaMtxFake();
    const mediaUrl = await mediamtx.start();
    mediamtx.configurePath('stb');
    // Slower than the MediaMTX client's 6 s timeout: each request of the set-top box holds for 6 s.
    mediamtx.responseDelayMs = 30_000;
    cleanups.push(() => mediamtx.close());

    const dir = tempDir('stop-');
    cleanups.push(() => removeDir(dir));
    const bus = { path: busPty.a, baud_rate: 9600 };
    const file = writeConfig(dir, {
      devices: [
        { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: pjlink.port, poll_s: 0.2 },
        { id: 'epson', kind: 'projector', driver: 'escvp21', serial: { path: epsonPty.a, baud_rate: 9600 }, poll_s: 0.2, usage: false },
        { id: 'nec', kind: 'projector', driver: 'nec', host: '127.0.0.1', port: necPort, poll_s: 0.2, usage: false },
        { id: 'amplifier', kind: 'amplifier', driver: 'modbus_relay', serial: bus, unit_id: 1, coil: 0, poll_s: 0.2 },
        { id: 'led', kind: 'led_display', driver: 'modbus_relay', serial: bus, unit_id: 2, coil: 0, poll_s: 0.2 },
        // A set-top box on the third relay, its `playing` from the MediaMTX API: a slow API answer is a request under way too.
        { id: 'stb', kind: 'settopbox', driver: 'modbus_relay', serial: bus, unit_id: 3, coil: 0, media_path: 'stb', poll_s: 0.2 },
      ],
      media: { mediamtx: { url: mediaUrl } },
      sessions: { min_s: 1, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 60 },
    });
    const socket = join(dir, 'ctl.sock');
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const states = async () => (await callDaemon(socket, 'devices')).data as DeviceState[];
    await waitFor(async () => (await states()).every((d) => d.online), 20_000);

    pjlink.setPower(1);
    const openSession = await waitFor(async () => ((await callDaemon(socket, 'status')).data as { open_session: string | null }).open_session, 10_000);

    // Now every device gets slow: a PJLink poll (six commands) takes six seconds, longer than the stop limit.
    const shapers: ReplyShaper[] = [pjlink.shaper, epson.shaper, nec.shaper, relays.shaper];
    for (const s of [pjlink.shaper, epson.shaper, nec.shaper]) s.replyDelayMs = 1000;
    // Below the relay driver's 500 ms timeout: slow, but answering.
    relays.shaper.replyDelayMs = 300;
    // SIGTERM once the set-top box's next MediaMTX request went out (it would hold for 6 s) and every
    // device is in the middle of a slow reply. Such a moment begins when the last device starts a reply,
    // so it is checked at each start (an event), not sampled: on a loaded machine a timer's samples
    // could keep missing the overlap. The deadline only bounds a failure.
    // A MediaMTX request is under way for the agent for 6 s after it arrives (its client's timeout; the
    // fake holds the answer far longer). Each arrival is noted as it happens, and checked then too.
    let lastAskedMs = 0;
    const push = mediamtx.requests.push.bind(mediamtx.requests);
    mediamtx.requests.push = (...items) => {
      lastAskedMs = Date.now();
      const n = push(...items);
      check();
      return n;
    };
    let check = (): void => undefined;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        for (const s of shapers) s.onDelay = undefined;
        check = () => undefined;
      };
      const deadline = setTimeout(() => {
        done();
        reject(new Error(`the devices were never all in the middle of a reply at once (delaying: ${shapers.map((s) => s.delaying).join(', ')}; last MediaMTX request ${Date.now() - lastAskedMs} ms ago)`));
      }, 60_000);
      check = (): void => {
        if (Date.now() - lastAskedMs > 4_000 || !shapers.every((s) => s.delaying > 0)) return;
        clearTimeout(deadline);
        done();
        resolve();
      };
      for (const s of shapers) s.onDelay = check;
    });
    expect(shapers.every((s) => s.delaying > 0)).toBe(true);

    expect(await agent.stop('SIGTERM')).toBe(0);
    expect(agent.output()).not.toMatch(/stop took longer/);

    const db = new Database(join(dir, 'data', 'station.db'), { readonly: true });
    try {
      const usage = (db.prepare("SELECT payload FROM records WHERE stream = 'usage'").all() as Array<{ payload: string }>).map((r) => JSON.parse(r.payload) as UsageRecord);
      expect(usage).toEqual([expect.objectContaining({ id: openSession, end_reason: 'agent_stop' })]);
      expect(usage[0]!.devices.map((d) => d.id)).toContain('projector');
      const types = (db.prepare("SELECT payload FROM records WHERE stream = 'events'").all() as Array<{ payload: string }>).map((r) => (JSON.parse(r.payload) as { type: string }).type);
      expect(types.at(-1)).toBe('agent_stop');
    } finally {
      db.close();
    }
    // About 25 s on an idle machine (the next MediaMTX request alone can be 6 s away): above the default
    // 30 s test limit, so a loaded machine is not cut off before the waits above can report.
  }, 120_000);
});
