/**
 * 2. latency: PJLink projector power flipped in the simulator (bypassing warm-up), timestamped there;
 * arrival of `devices/projector/state` with the new power at a subscriber on mosquitto; and, in
 * parallel, the first `devices` answer over the control socket (stationctl's path) that shows it.
 * Flips are spaced by a random 1.2–2.2 s so they land at every phase of the poll cycle.
 */
import mqtt from 'mqtt';
import { callDaemon } from '../../agent/control/client.js';
import { Topics } from '../../protocol/topics.js';
import { PjlinkSimulator } from '../sims/pjlink.js';
import { Mosquitto, Cleanup, baseStation, figure, percentile, round, sleep, startAgent, tempDir, waitFor, type BenchOptions, type BenchResult } from './common.js';

const FLIPS = 40;
const POLL_S = 1;
const CTL_POLL_MS = 20;

export async function latency(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  try {
    const pj = new PjlinkSimulator({ warmupMs: 0, cooldownMs: 0 });
    const pjPort = await pj.start();
    cleanup.add(() => pj.stop());
    const broker = await Mosquitto.start();
    cleanup.add(() => broker.dispose());
    const station = 'bench-latency';
    const agent = await startAgent(cleanup.dir(tempDir('bench-latency-')), {
      station: baseStation(station),
      county: { url: broker.url, heartbeat_s: 60 },
      devices: [{ id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: pjPort, poll_s: POLL_S }],
    });
    cleanup.add(() => agent.stop());

    const sub = await mqtt.connectAsync(broker.url, { clientId: 'bench-latency-sub', clean: true });
    cleanup.add(() => sub.endAsync(true));
    let last: { power: string; at: number } | undefined;
    let waiter: ((at: number) => void) | undefined;
    let want = '';
    sub.on('message', (_t, buf) => {
      const at = performance.now();
      let msg: { power?: string; online?: boolean };
      try {
        msg = JSON.parse(buf.toString());
      } catch {
        return;
      }
      last = { power: String(msg.power), at };
      if (waiter && msg.online && msg.power === want) {
        const w = waiter;
        waiter = undefined;
        w(at);
      }
    });
    // The agent's default county.topic_prefix.
    await sub.subscribeAsync(new Topics('stations', station).deviceState('projector'), { qos: 1 });
    await waitFor('the projector online and off', () => last?.power === 'off', 20_000);
    await sleep(1500);

    const mqttMs: number[] = [];
    const ctlMs: number[] = [];
    let timeouts = 0;
    opts.log(`latency: ${FLIPS} flips, poll_s ${POLL_S}`);
    for (let i = 0; i < FLIPS; i++) {
      await sleep(1200 + Math.random() * 1000);
      want = i % 2 === 0 ? 'on' : 'off';
      const arrived = new Promise<number>((resolve) => (waiter = resolve));
      const flipAt = performance.now();
      pj.setPower(want === 'on' ? 1 : 0);
      const ctl = (async () => {
        const deadline = flipAt + 5_000;
        while (performance.now() < deadline) {
          const r = await callDaemon(agent.socket, 'devices', {}, 2_000).catch(() => undefined);
          const p = (r?.data as Array<{ id: string; power: string }> | undefined)?.find((d) => d.id === 'projector');
          if (p?.power === want) return performance.now() - flipAt;
          await sleep(CTL_POLL_MS);
        }
        return Number.NaN;
      })();
      const got = await Promise.race([arrived, sleep(5_000).then(() => Number.NaN)]);
      waiter = undefined;
      if (Number.isNaN(got)) timeouts++;
      else mqttMs.push(got - flipAt);
      const c = await ctl;
      if (!Number.isNaN(c)) ctlMs.push(c);
    }
    const budget = POLL_S * 1000 + 50;
    const p99 = percentile(mqttMs, 99);
    return {
      name: 'latency',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'state→mqtt p50', value: round(percentile(mqttMs, 50), 1), unit: 'ms', reference: 'poll interval', reference_value: POLL_S * 1000 }),
        figure({ metric: 'state→mqtt p99', value: round(p99, 1), unit: 'ms', reference: 'poll interval', reference_value: POLL_S * 1000, goal: `≤ ${budget} ms`, pass: p99 <= budget && timeouts === 0 }),
        figure({ metric: 'state→mqtt max', value: round(Math.max(...mqttMs), 1), unit: 'ms' }),
        figure({ metric: 'state→stationctl p50', value: round(percentile(ctlMs, 50), 1), unit: 'ms', reference: 'poll interval', reference_value: POLL_S * 1000 }),
        figure({ metric: 'state→stationctl p99', value: round(percentile(ctlMs, 99), 1), unit: 'ms', reference: 'poll interval', reference_value: POLL_S * 1000 }),
      ],
      notes: [
        `${FLIPS} PJLink power flips (${mqttMs.length} arrived, ${timeouts} timed out), poll_s ${POLL_S}; the floor of this figure is the poll phase (uniform 0–${POLL_S * 1000} ms)`,
        `stationctl figure: callDaemon('devices') polled every ${CTL_POLL_MS} ms (adds ≤ ${CTL_POLL_MS} ms + one round trip)`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
