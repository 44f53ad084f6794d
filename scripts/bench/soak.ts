/**
 * 6. soak (only on request): `npm run bench -- soak --minutes 30`. The agent with a PJLink projector
 * (TCP), an Epson on a socat PTY, and an amplifier + LED on a Modbus relay bus on another PTY, all
 * polled every 2 s; devices flap on and off (short sessions close after a 3 s merge gap, so usage
 * records keep coming), the PTYs are killed and recreated in turn (serial adapter unplugged and
 * replugged under new pts numbers), the PJLink endpoint drops now and then, and mosquitto is restarted
 * every 5 minutes (every third of the run when that is shorter). An acking consumer plays the county.
 * Figures: RSS and open fds after warm-up (growth and range), and usage records lost (in the agent's
 * ledger but never at the consumer).
 */
import { join } from 'node:path';
import { Store } from '../../agent/store/store.js';
import { callDaemon } from '../../agent/control/client.js';
import { Escvp21Simulator } from '../sims/escvp21.js';
import { ModbusRelaySimulator } from '../sims/modbus-relay.js';
import { PjlinkSimulator } from '../sims/pjlink.js';
import { AckingConsumer } from './consumer.js';
import {
  Mosquitto,
  Cleanup,
  DEV_RUNTIME,
  PtyPair,
  baseStation,
  figure,
  percentile,
  round,
  sampleProcess,
  sleep,
  startAgent,
  tempDir,
  waitFor,
  type BenchOptions,
  type BenchResult,
  type ProcSample,
} from './common.js';

export async function soak(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const cleanup = new Cleanup();
  const totalMs = opts.minutes * 60_000;
  const warmupMs = Math.min(300_000, Math.max(30_000, totalMs * 0.2));
  const brokerEveryMs = Math.min(300_000, totalMs / 3);
  const counts = { flips: 0, unplugs: 0, tcpDrops: 0, brokerRestarts: 0 };
  try {
    const dir = cleanup.dir(tempDir('bench-soak-'));
    const epsonPty = await PtyPair.start({ dir, name: 'epson' });
    cleanup.add(() => epsonPty.stop());
    const busPty = await PtyPair.start({ dir, name: 'rs485' });
    cleanup.add(() => busPty.stop());
    const pj = new PjlinkSimulator({ warmupMs: 1500, cooldownMs: 1500 });
    const pjPort = await pj.start();
    cleanup.add(() => pj.stop());
    const epson = new Escvp21Simulator({ serialPath: epsonPty.b, warmupMs: 1500, cooldownMs: 1500 });
    await epson.start();
    cleanup.add(() => epson.stop());
    const relays = new ModbusRelaySimulator({ path: busPty.b, units: [1, 2] });
    await relays.start();
    cleanup.add(() => relays.stop());
    const broker = await Mosquitto.start();
    cleanup.add(() => broker.dispose());
    const station = 'bench-soak';
    const consumer = new AckingConsumer({ url: broker.url, station, ackEveryMs: 200, resendAfterMs: 3_000 });
    await consumer.start();
    cleanup.add(() => consumer.stop());

    const agent = await startAgent(dir, {
      station: baseStation(station),
      county: { url: broker.url, heartbeat_s: 30, allowed_commands: ['sessions.resend'] },
      devices: [
        { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: pjPort, poll_s: 2 },
        { id: 'epson', kind: 'projector', driver: 'escvp21', serial: { path: epsonPty.a, baud_rate: 9600 }, poll_s: 2 },
        { id: 'amplifier', kind: 'amplifier', driver: 'modbus_relay', serial: { path: busPty.a, baud_rate: 9600 }, unit_id: 1, coil: 0, poll_s: 2 },
        { id: 'led', kind: 'led_display', driver: 'modbus_relay', serial: { path: busPty.a, baud_rate: 9600 }, unit_id: 2, coil: 0, poll_s: 2 },
      ],
      sessions: { min_s: 5, merge_gap_s: 3, idle_cutoff_s: 60, checkpoint_s: 10 },
    }, undefined, opts.runtime);
    cleanup.add(() => agent.stop());
    const sampler = sampleProcess(agent.pid, 5_000);

    opts.log(`soak: ${opts.minutes} min (warm-up ${warmupMs / 1000} s, broker restart every ${Math.round(brokerEveryMs / 1000)} s), agent pid ${agent.pid}`);
    const end = Date.now() + totalMs;
    let nextFlip = Date.now() + 3_000;
    let nextUnplug = Date.now() + 40_000;
    let nextTcpDrop = Date.now() + 75_000;
    let nextBroker = Date.now() + brokerEveryMs;
    let on = false;
    let which = 0;
    let lastReport = Date.now();
    while (Date.now() < end) {
      const now = Date.now();
      if (now >= nextFlip) {
        on = !on;
        pj.setPower(on ? 1 : 0);
        epson.power = on ? '01' : '00';
        relays.setCoil(1, 0, on);
        relays.setCoil(2, 0, on);
        counts.flips++;
        nextFlip = now + (on ? 8_000 + Math.random() * 7_000 : 6_000 + Math.random() * 4_000);
      }
      if (now >= nextUnplug) {
        const pty = which++ % 2 === 0 ? epsonPty : busPty;
        await pty.unplug();
        await sleep(3_000);
        await pty.replug();
        counts.unplugs++;
        nextUnplug = Date.now() + 40_000;
      }
      if (now >= nextTcpDrop) {
        await pj.unplug();
        await sleep(5_000);
        await pj.replug();
        counts.tcpDrops++;
        nextTcpDrop = Date.now() + 75_000;
      }
      if (now >= nextBroker && end - now > 20_000) {
        await broker.restart(2_000);
        counts.brokerRestarts++;
        nextBroker = Date.now() + brokerEveryMs;
      }
      if (agent.child.exitCode !== null) throw new Error(`the agent exited during the soak; its log ends: ${agent.logTail()}`);
      if (now - lastReport >= 60_000) {
        lastReport = now;
        const s = sampler.samples[sampler.samples.length - 1];
        opts.log(`soak: ${Math.round((now - t0) / 1000)} s, rss ${round((s?.rss_kb ?? 0) / 1024, 1)} MB, fds ${s?.fds}, usage records at consumer ${consumer.usageSeqs.size}`);
      }
      await sleep(250);
    }
    const samples = sampler.stop();

    // Quiesce: everything off, sessions close after the merge gap, the outbox drains.
    pj.setPower(0);
    epson.power = '00';
    relays.setCoil(1, 0, false);
    relays.setCoil(2, 0, false);
    await sleep(12_000);
    const depth = async (): Promise<number> => {
      const r = await callDaemon(agent.socket, 'status', {}, 2_000);
      return (r.data as { county: { outbox_depth: number } }).county.outbox_depth;
    };
    let d = await depth().catch(() => Number.NaN);
    if (d !== 0) {
      // A record PUBACKed by a broker that then restarted before the consumer resubscribed is only
      // re-sent after the agent's 10-minute ack timeout; the county asks for it instead (as the collector does).
      await waitFor('the outbox to drain', async () => (d = await depth()) === 0, 10_000, 200).catch(() => undefined);
      if (d !== 0) {
        consumer.requestResend(consumer.watermark + 1);
        await waitFor('the outbox to drain after resend', async () => (d = await depth()) === 0, 30_000, 200).catch(() => undefined);
      }
    }
    consumer.flushAck();
    await sleep(500);
    await agent.stop();

    const store = Store.open(agent.dataDir, { readonly: true });
    // The agent_stop event is written while the agent stops, after its county link is down: it waits in
    // the outbox for the next start by design, so it is not counted as lost here.
    const rows = store.outbox.stored(1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER).filter((r) => r.type !== 'agent_stop');
    store.close();
    const usage = rows.filter((r) => r.stream === 'usage').map((r) => r.seq);
    const lostUsage = usage.filter((s) => !consumer.usageSeqs.has(s));
    const lostAny = rows.filter((r) => !consumer.seen.has(r.seq));

    const after = samples.filter((s) => s.t_s * 1000 >= warmupMs);
    const stat = (xs: ProcSample[], k: 'rss_kb' | 'fds', scale = 1) => {
      const head = xs.slice(0, Math.max(1, Math.floor(xs.length / 10))).map((s) => s[k]);
      const tail = xs.slice(-Math.max(1, Math.floor(xs.length / 10))).map((s) => s[k]);
      const vals = xs.map((s) => s[k]);
      return {
        start: percentile(head, 50) / scale,
        end: percentile(tail, 50) / scale,
        min: Math.min(...vals) / scale,
        max: Math.max(...vals) / scale,
      };
    };
    const rss = stat(after, 'rss_kb', 1024);
    const fds = stat(after, 'fds');
    const growth = rss.end - rss.start;
    return {
      name: 'soak',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'rss growth after warm-up', value: round(growth, 1), unit: 'MB', reference: 'rss at end of warm-up', reference_value: round(rss.start, 1), goal: '|growth| ≤ 5 MB', pass: Math.abs(growth) <= 5 }),
        figure({ metric: 'rss range after warm-up', value: round(rss.max - rss.min, 1), unit: 'MB', reference: 'rss max', reference_value: round(rss.max, 1) }),
        figure({ metric: 'open fds at end', value: fds.end, unit: 'fds', reference: 'fds at end of warm-up', reference_value: fds.start, goal: 'flat (≤ +2)', pass: fds.end - fds.start <= 2 }),
        figure({ metric: 'open fds max', value: fds.max, unit: 'fds', reference: 'fds min', reference_value: fds.min }),
        figure({ metric: 'usage records lost', value: lostUsage.length, unit: 'records', reference: 'usage records made', reference_value: usage.length, goal: '0', pass: lostUsage.length === 0 && usage.length > 0 }),
        figure({ metric: 'durable records lost', value: lostAny.length, unit: 'records', reference: 'durable records made', reference_value: rows.length }),
        figure({ metric: 'outbox depth at end', value: d, unit: 'records' }),
      ],
      notes: [
        `runtime: ${(opts.runtime ?? DEV_RUNTIME).label}`,
        `${opts.minutes} min: ${counts.flips} power flips, ${counts.unplugs} PTY unplug/replug, ${counts.tcpDrops} PJLink endpoint drops, ${counts.brokerRestarts} broker restarts (down 2 s each, no persistence); warm-up ${warmupMs / 1000} s; samples every 5 s`,
        `consumer asked sessions.resend ${consumer.resendRequests} time(s) (gaps from messages published while its subscription was not yet back after a broker restart)`,
        `rss after warm-up: start ${round(rss.start, 1)} MB, end ${round(rss.end, 1)} MB, min ${round(rss.min, 1)}, max ${round(rss.max, 1)}; fds start ${fds.start}, end ${fds.end}`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
