/**
 * A power cut mid-class, on real parts: the daemon (a real child process with a real database file) is
 * killed with SIGKILL while a session is open; the next start closes that session at its last
 * checkpoint as `power_loss`, and every earlier record is still there, once.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { ModbusRelaySimulator } from '../../../scripts/sims/modbus-relay.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { UsageRecord } from '../../../protocol/usage-record.js';
import { PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { writeConfig, startAgent, waitReady } from '../../helpers/agent.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function status(socket: string): Promise<{ open_session: string | null; devices: Array<{ power: string; online: boolean }> }> {
  return (await callDaemon(socket, 'status')).data as never;
}

async function sessions(socket: string): Promise<UsageRecord[]> {
  const res = await callDaemon(socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' });
  expect(res.status).toBe('ok');
  return (res.data as { sessions: UsageRecord[] }).sessions;
}

/** A session's row as it stands in the database now (its last checkpoint while open), read-only. */
function checkpointed(dir: string, id: string): UsageRecord | undefined {
  const db = new Database(join(dir, 'data', 'station.db'), { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT record FROM sessions WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as UsageRecord) : undefined;
  } finally {
    db.close();
  }
}

describe('power loss', () => {
  it('closes a session open at SIGKILL as power_loss on the next start, losing and duplicating nothing', async () => {
    const sim = new PjlinkSimulator({ warmupMs: 100, cooldownMs: 100 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const dir = tempDir('powerloss-');
    cleanups.push(() => removeDir(dir));
    const file = writeConfig(dir, {
      devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.3 }],
      sessions: { min_s: 1, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
    });
    const socket = join(dir, 'ctl.sock');

    let agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    await waitFor(async () => (await status(socket)).devices[0]?.online, 10_000);

    // A first, complete class: on (until the agent's own checkpoint says it lasted min_s), then off.
    sim.setPower(1);
    const firstId = await waitFor(async () => (await status(socket)).open_session, 10_000);
    await waitFor(() => (checkpointed(dir, firstId)?.duration_s ?? 0) >= 1, 10_000);
    sim.setPower(0);
    await waitFor(async () => (await sessions(socket)).length === 1, 10_000);
    const [first] = await sessions(socket);
    expect(first).toMatchObject({ end_reason: 'devices_off', station_id: 'test-station' });

    // The second class is under way when the power goes.
    sim.setPower(1);
    const openId = await waitFor(async () => (await status(socket)).open_session, 10_000);
    // At least one checkpoint on disk with a duration, which is what the power cut leaves behind.
    await waitFor(() => (checkpointed(dir, openId)?.duration_s ?? 0) >= 1, 10_000);
    const killedAt = Date.now();
    expect(await agent.stop('SIGKILL')).toBe('SIGKILL');

    agent = startAgent(file);
    await waitReady(agent, file);
    const after = await waitFor(async () => {
      const list = await sessions(socket);
      return list.length >= 2 ? list : undefined;
    }, 10_000);
    const recovered = after.find((s) => s.id === openId)!;
    expect(recovered).toMatchObject({ end_reason: 'power_loss', boot: 1 });
    expect(Date.parse(recovered.end)).toBeLessThanOrEqual(killedAt);
    expect(Date.parse(recovered.end)).toBeGreaterThanOrEqual(Date.parse(recovered.start));
    expect(recovered.duration_s).toBeGreaterThanOrEqual(1);
    expect(after.find((s) => s.id === first!.id)).toEqual(first);

    // The projector is still on, so a new session opens in the new boot; stop cleanly to close it.
    await waitFor(async () => (await status(socket)).open_session, 10_000);
    expect(await agent.stop()).toBe(0);

    const db = new Database(join(dir, 'data', 'station.db'), { readonly: true });
    const usage = db.prepare("SELECT seq, id, payload FROM records WHERE stream = 'usage' ORDER BY seq").all() as Array<{ seq: number; id: string; payload: string }>;
    const payloads = usage.map((u) => JSON.parse(u.payload) as UsageRecord);
    db.close();
    expect(payloads.map((p) => p.end_reason)).toEqual(['devices_off', 'power_loss', 'agent_stop']);
    expect(new Set(usage.map((u) => u.seq)).size).toBe(3);
    expect(new Set(usage.map((u) => u.id)).size).toBe(3);
    expect(payloads[2]!.boot).toBe(2);
  });

  it('names the devices that were on even when the power goes before the first checkpoint', async () => {
    const sim = new PjlinkSimulator({ warmupMs: 100, cooldownMs: 100 });
    await sim.start();
    cleanups.push(() => sim.stop());
    const bus = await PtyPair.start();
    cleanups.push(() => bus.stop());
    const relays = new ModbusRelaySimulator({ path: bus.b, units: [1] });
    await relays.start();
    cleanups.push(() => relays.stop());
    const dir = tempDir('powerloss-early-');
    cleanups.push(() => removeDir(dir));
    const file = writeConfig(dir, {
      devices: [
        { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.3 },
        { id: 'amplifier', kind: 'amplifier', driver: 'modbus_relay', serial: { path: bus.a }, unit_id: 1, coil: 0, poll_s: 0.3 },
      ],
      // The longest checkpoint interval: the power goes long before the first one.
      sessions: { min_s: 1, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 60 },
    });
    const socket = join(dir, 'ctl.sock');
    let agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    await waitFor(async () => (await status(socket)).devices.every((d) => d.online), 10_000);

    sim.setPower(1);
    const openId = await waitFor(async () => (await status(socket)).open_session, 10_000);
    // The amplifier comes on a moment later, in the same class.
    relays.setCoil(1, 0, true);
    await waitFor(() => checkpointed(dir, openId)?.devices.some((d) => d.id === 'amplifier'), 10_000);
    expect(await agent.stop('SIGKILL')).toBe('SIGKILL');

    agent = startAgent(file);
    await waitReady(agent, file);
    const recovered = await waitFor(async () => (await sessions(socket)).find((s) => s.id === openId), 10_000);
    expect(recovered.end_reason).toBe('power_loss');
    expect(recovered.devices.map((d) => d.id)).toEqual(['projector', 'amplifier']);
    expect(await agent.stop()).toBe(0);
  });
});
