/**
 * A paced MQTT load for the collector benchmarks, in its own process. `--mode mix` (ceiling): valid
 * heartbeats (QoS 0) and durable records (QoS 1, per-station seqs from 1) in equal parts, round-robin
 * over N stations, built from templates of the fleet generator's payloads so the generator spends little
 * CPU per message. `--mode flood` (flood): one station's worth of attack traffic — garbage, records with
 * seqs near 2^53, forged `sessions.resend` answers — in equal parts. Prints one JSON line per second
 * `{t, sent}`; stops after --seconds.
 *
 *   node dist/scripts/bench/load-child.js --url mqtt://127.0.0.1:PORT --rate 20000 --seconds 15 [--stations 5000] [--id-prefix c-] [--mode mix|flood]
 */
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { Topics } from '../../protocol/topics.js';
import { DEFAULT_SHAPE, durableRecord, heartbeat, stationIdentity } from '../fleet/generate.js';

const SEQ = '987654321987';
const ST = '@@station@@';
const TS = '@@ts@@';

function templates(): { records: Array<{ stream: 'usage' | 'events'; text: string }>; heartbeat: string } {
  const id = stationIdentity(DEFAULT_SHAPE, 0);
  const records = Array.from({ length: 64 }, (_, i) => {
    const r = durableRecord(DEFAULT_SHAPE, id, i + 1, 1);
    return { stream: r.stream, text: JSON.stringify({ ...r.payload, station_id: ST, seq: Number(SEQ) }) };
  });
  const hb = JSON.stringify({ ...heartbeat(1, 60, { depth: 0, first_seq: null, last_seq: 0 }, 1, 0, 0), ts: TS });
  return { records, heartbeat: hb };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '10' },
      stations: { type: 'string', default: '5000' },
      'id-prefix': { type: 'string', default: 'c-' },
      mode: { type: 'string', default: 'mix' },
      prefix: { type: 'string', default: 'stations' },
    },
  });
  if (!values.url) throw new Error('--url is required');
  const rate = Number(values.rate);
  const n = Number(values.stations);
  const flood = values.mode === 'flood';
  const clients: MqttClient[] = await Promise.all([0, 1].map(() => mqtt.connectAsync(values.url!, { reconnectPeriod: 0, clean: true })));
  const t = templates();
  const ids = Array.from({ length: n }, (_, i) => `${values['id-prefix']}${i + 1}`);
  const topics = ids.map((id) => new Topics(values.prefix!, id));
  const seqs = new Array<number>(n).fill(0);
  let sent = 0;

  const one = (k: number): void => {
    const c = clients[k & 1]!;
    if (flood) {
      const tp = topics[0]!;
      const kind = k % 3;
      if (kind === 0) c.publish(tp.usage, `garbage ${k} {`, { qos: 0 });
      else if (kind === 1) {
        const r = t.records[k % t.records.length]!;
        c.publish(tp.stream(r.stream), r.text.replace(SEQ, String(Number.MAX_SAFE_INTEGER - k)).replace(ST, ids[0]!), { qos: 0 });
      } else {
        const answer = { v: 1, transaction: `resend:1:${Number.MAX_SAFE_INTEGER}:${k}`, status: 'ok', data: { from_seq: 1, to_seq: Number.MAX_SAFE_INTEGER - 1, count: 0 }, ts: new Date().toISOString(), clock: 'synced' };
        c.publish(tp.response('sessions.resend'), JSON.stringify(answer), { qos: 0 });
      }
      return;
    }
    const i = (k >> 1) % n;
    if (k & 1) {
      c.publish(topics[i]!.heartbeat, t.heartbeat.replace(TS, new Date().toISOString()), { qos: 0 });
    } else {
      const seq = ++seqs[i]!;
      const r = t.records[seq % t.records.length]!;
      c.publish(topics[i]!.stream(r.stream), r.text.replace(SEQ, String(seq)).replace(ST, ids[i]!), { qos: 1 });
    }
  };

  const start = performance.now();
  const endAt = start + Number(values.seconds) * 1000;
  const report = (final: boolean): void => {
    process.stdout.write(JSON.stringify({ t: Date.now(), final, sent, records: seqs.reduce((a, b) => a + b, 0) }) + '\n');
  };
  report(false);
  const every = setInterval(() => report(false), 1_000);
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      if (now >= endAt) return resolve();
      // Catch up to the pace, at most 50 ms worth at once (a stalled generator does not burst).
      const due = Math.min(Math.floor(((now - start) / 1000) * rate) - sent, Math.ceil(rate / 20));
      for (let i = 0; i < due; i++) one(sent++);
      setTimeout(tick, 5);
    };
    tick();
  });
  clearInterval(every);
  await Promise.all(clients.map((c) => c.endAsync(false)));
  report(true);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`load-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
