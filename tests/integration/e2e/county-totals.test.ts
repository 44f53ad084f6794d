/**
 * The county's monthly table against the stations' own evidence: two real agents (child processes)
 * with simulated projectors report to a real mosquitto; the reference collector stores and acks their
 * records; its monthly CSV must agree with each station's `stationctl sessions` export for the month.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { join } from 'node:path';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { hoursText, hundredthsOfHour } from '../../../county/report.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { UsageRecord } from '../../../protocol/usage-record.js';
import { Mosquitto, tempDir, removeDir, sleep, waitFor } from '../../../scripts/lib/kit/index.js';
import { writeConfig, startAgent, waitReady, ctl } from '../../helpers/agent.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function station(id: string, town: string, brokerPort: number) {
  const sim = new PjlinkSimulator({ warmupMs: 50, cooldownMs: 50 });
  await sim.start();
  cleanups.push(() => sim.stop());
  const dir = tempDir(`totals-${id}-`);
  cleanups.push(() => removeDir(dir));
  const file = writeConfig(dir, {
    station: { id, name: `${id} 站点`, town, timezone: 'Asia/Shanghai' },
    county: { url: `mqtt://127.0.0.1:${brokerPort}`, heartbeat_s: 5, require_ack: true, allowed_commands: ['sessions.resend'] },
    devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: sim.port, poll_s: 0.25 }],
    sessions: { min_s: 2, merge_gap_s: 0, idle_cutoff_s: 600, checkpoint_s: 1 },
  });
  const agent = startAgent(file);
  cleanups.push(() => agent.stop('SIGKILL'));
  await waitReady(agent, file);
  const socket = join(dir, 'ctl.sock');
  await waitFor(async () => ((await callDaemon(socket, 'status')).data as { devices: Array<{ online: boolean }> }).devices[0]?.online, 10_000);
  return { sim, file, socket, agent };
}

/** One class: the projector on for `ms` once the agent has seen it on, then off until the session is closed. */
async function classOf(s: Awaited<ReturnType<typeof station>>, ms: number): Promise<void> {
  const before = ((await callDaemon(s.socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' })).data as { sessions: unknown[] }).sessions.length;
  s.sim.setPower(1);
  await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { open_session: string | null }).open_session, 10_000);
  // The class itself: its length is what the totals count (a short test power-on vs a real class),
  // and only wall time on the real agent can make it; this is not waiting for anything to happen.
  await sleep(ms);
  s.sim.setPower(0);
  await waitFor(async () => ((await callDaemon(s.socket, 'sessions.list', { since: '2000-01-01', until: '2100-01-01' })).data as { sessions: unknown[] }).sessions.length > before, 10_000);
}

function totals(records: UsageRecord[]) {
  const counted = records.filter((r) => !r.short);
  const shorts = records.filter((r) => r.short);
  const sum = (rs: UsageRecord[], k: 'duration_s' | 'signal_s') => rs.reduce((a, r) => a + r[k], 0);
  return { sessions: counted.length, duration_s: sum(counted, 'duration_s'), signal_s: sum(counted, 'signal_s'), short_sessions: shorts.length, short_duration_s: sum(shorts, 'duration_s') };
}

describe('county monthly totals', () => {
  it('match the stations’ own stationctl sessions exports for the month', async () => {
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.dispose());
    const dbDir = tempDir('collector-');
    cleanups.push(() => removeDir(dbDir));
    const collector: Collector = await startCollector({ url: `mqtt://127.0.0.1:${broker.port}`, db: join(dbDir, 'county.db'), gapGraceMs: 500, ackIntervalMs: 50 });
    cleanups.push(() => collector.stop());

    const a = await station('village-a', '城关镇', broker.port);
    const b = await station('village-b', '东山乡', broker.port);
    await Promise.all([
      (async () => {
        await classOf(a, 3000);
        await classOf(a, 600); // a test power-on: short
        await classOf(a, 2500);
      })(),
      classOf(b, 2500),
    ]);

    // Every record delivered and acknowledged: both outboxes drain.
    for (const s of [a, b]) {
      await waitFor(async () => ((await callDaemon(s.socket, 'status')).data as { county: { connected: boolean; outbox_depth: number } }).county.outbox_depth === 0, 20_000);
    }
    await collector.flush();

    const now = new Date();
    const month = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' }).format(now).slice(0, 7);
    const report = await collector.monthlyReport(month);
    const csv = (await collector.monthlyCsv(month)).trim().split('\n').map((l) => l.split(','));
    const header = csv[0]!;
    const col = (row: string[], name: string) => row[header.indexOf(name)]!;

    for (const [s, id] of [[a, 'village-a'], [b, 'village-b']] as const) {
      const res = await ctl(['--json', '--config', s.file, 'sessions', '--since', `${month}-01`]);
      expect(res.code, res.stderr).toBe(0);
      const records = JSON.parse(res.stdout) as UsageRecord[];
      const mine = totals(records);
      const row = report.stations.find((r) => r.station_id === id)!;
      expect(row.sessions).toBe(mine.sessions);
      expect(row.short_sessions).toBe(mine.short_sessions);
      expect(row.duration_s).toBeCloseTo(mine.duration_s, 3);
      expect(row.signal_s).toBeCloseTo(mine.signal_s, 3);
      expect(row.short_duration_s).toBeCloseTo(mine.short_duration_s, 3);
      const line = csv.find((r) => r[1] === 'station' && col(r, 'station_id') === id)!;
      expect(Number(col(line, 'sessions'))).toBe(mine.sessions);
      expect(Number(col(line, 'short_sessions'))).toBe(mine.short_sessions);
      expect(col(line, 'hours')).toBe(hoursText(hundredthsOfHour(mine.duration_s)));
    }
    expect(report.stations.find((r) => r.station_id === 'village-a')).toMatchObject({ sessions: 2, short_sessions: 1, town: '城关镇' });
    expect(report.stations.find((r) => r.station_id === 'village-b')).toMatchObject({ sessions: 1, short_sessions: 0 });
    expect(report.total.sessions).toBe(3);
    expect(collector.stats().stored).toBeGreaterThanOrEqual(4);
  });
});
