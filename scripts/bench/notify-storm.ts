/**
 * notify-storm (issue 24): a power cut across a county. `--stations` (2,000) simulated stations in 20
 * towns report to the county service (`dist/county/collector.js run --notify`, on `--store`, SQLite by
 * default) over a real mosquitto; the fleet's process is then killed (SIGKILL: every connection dies at
 * once, the broker publishes every Last Will). The notify file names 22 robots (loopback stand-ins that
 * answer like the vendors, 20 a minute each, 45009/130101 over it): the county's WeCom group and its
 * DingTalk group (加签), both hearing every town, and one WeCom group per town. Figures: how long until
 * every station is named at each robot (beside one message per station at 20 a minute, the same run's
 * reference), the most messages any robot got in a minute (beside the vendors' 20), messages sent beside
 * the notices queued, the robots' refusals, and what the queue holds at the end (nothing lost).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openCollectorStore } from '../../county/open-store.js';
import { PACKAGE_ROOT } from '../../agent/version.js';
import { stationIdentity, DEFAULT_SHAPE } from '../fleet/generate.js';
import { Cleanup, Mosquitto, sleep, tempDir, waitFor } from '../lib/kit/index.js';
import { spawnCaptured } from '../lib/kit/process.js';
import { RobotStandIns, type Received } from '../lib/kit/robots.js';
import { figure, round, type BenchOptions, type BenchResult } from './common.js';
import { BENCH_BROKER, benchStore, LineChild, type FleetLine, type StoreKind } from './county-kit.js';

const TOWNS = 20;
const THRESHOLD_S = 30;
const PER_MINUTE = 20;

/** The most messages in any 60 s window ending at one of `times`. */
export function maxPerMinute(times: readonly number[]): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= 60_000) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

export async function notifyStorm(opts: BenchOptions): Promise<BenchResult> {
  const t0 = Date.now();
  const store: StoreKind = opts.store ?? 'sqlite';
  const stations = opts.stations ?? 2000;
  const cleanup = new Cleanup();
  try {
    const broker = await Mosquitto.start({ extra: BENCH_BROKER });
    cleanup.add(() => broker.dispose());
    const { db } = await benchStore(store, cleanup);
    const robots = new RobotStandIns();
    await robots.start();
    cleanup.add(() => robots.stop());
    const dir = cleanup.dir(tempDir('bench-notify-'));
    const shape = { ...DEFAULT_SHAPE, seed: 'storm', towns: TOWNS };
    const ids = Array.from({ length: stations }, (_, i) => stationIdentity(shape, i));
    const towns = [...new Set(ids.map((s) => s.town))];
    const secret = 'SEC-storm-dingtalk-0123456789';
    const file = (name: string, text: string) => writeFileSync(join(dir, name), `${text}\n`, { mode: 0o600 });
    file('county-wecom.url', robots.add('wecom', 'county'));
    file('county-ding.url', robots.add('dingtalk', 'county', secret));
    file('county-ding.secret', secret);
    towns.forEach((town, i) => file(`town-${i}.url`, robots.add('wecom', `town-${i}`)));
    const beijing = new Date(Date.now() + 8 * 3_600_000);
    writeFileSync(
      join(dir, 'notify.yaml'),
      stringify({
        targets: [
          { id: 'county-wecom', kind: 'wecom', url_file: 'county-wecom.url', towns: 'all' },
          { id: 'county-ding', kind: 'dingtalk', url_file: 'county-ding.url', secret_file: 'county-ding.secret', towns: 'all' },
          ...towns.map((town, i) => ({ id: `town-${i}`, kind: 'wecom', url_file: `town-${i}.url`, towns: [town] })),
        ],
        // The offline news alone: no fault codes (the simulator's lamp events), the digest and the month's progress away from this run.
        rules: { station_offline_after_s: THRESHOLD_S, faults: [], daily_digest: `${String((beijing.getUTCHours() + 12) % 24).padStart(2, '0')}:00`, monthly: { day: ((beijing.getUTCDate() + 13) % 28) + 1, time: '09:00' } },
      }),
    );
    const county = spawnCaptured(process.execPath, [join(PACKAGE_ROOT, 'dist', 'county', 'collector.js'), 'run', '--url', broker.url, '--db', db, '--create', '--no-share', '--notify', join(dir, 'notify.yaml'), '--print-s', '0', '--log-level', 'warn'], process.env);
    cleanup.add(() => county.stop('SIGTERM'));
    // --log-level warn: "collector connected" is an info line; the store appearing is the sign of life.
    const reader = await waitFor('the county service to create its database', async () => {
      if (county.proc.exitCode !== null) throw new Error(`county service exited: ${county.output()}`);
      try {
        return await openCollectorStore(db, {}, { mustExist: true });
      } catch {
        return undefined;
      }
    }, 30_000, 200);
    cleanup.add(() => reader.close());
    // Heartbeats every 15 s (rate 4): well inside the 30 s offline rule, so nobody is silent before the cut.
    const fleet = new LineChild<FleetLine>('fleet-child.js', ['--url', broker.url, '--stations', String(stations), '--rate', '4', '--duration', '3600', '--seed', 'storm', '--towns', String(TOWNS), '--spread-ms', '10000'], cleanup);
    opts.log(`notify-storm: ${stations} stations in ${TOWNS} towns → county service on ${store}; 22 robots`);
    await waitFor('every station online at the county', async () => (await reader.stations()).filter((s) => s.online === true && s.town !== null).length >= stations, 180_000, 500);
    // Steady state for two offline thresholds: nothing is news yet.
    await sleep(2 * THRESHOLD_S * 1000);
    const before = robots.received.length;
    const cutAt = Date.now();
    fleet.child.kill('SIGKILL');
    opts.log(`notify-storm: power cut at ${new Date(cutAt).toISOString()} (${before} messages before it)`);

    const robotsOf = [
      { kind: 'wecom' as const, robot: 'county', hears: ids },
      { kind: 'dingtalk' as const, robot: 'county', hears: ids },
      ...towns.map((town, i) => ({ kind: 'wecom' as const, robot: `town-${i}`, hears: ids.filter((s) => s.town === town) })),
    ];
    const got = (r: (typeof robotsOf)[number]): Received[] => robots.received.slice(before).filter((x) => x.kind === r.kind && x.robot === r.robot);
    const allNamed = (r: (typeof robotsOf)[number]) => {
      const text = got(r).map((x) => x.text).join('\n');
      return r.hears.every((s) => text.includes(`${s.name}`));
    };
    await waitFor('every station named at every robot', () => robotsOf.every(allNamed), (THRESHOLD_S + 15 * 60) * 1000, 1_000).catch(() => undefined);
    await waitFor('the queue drained', async () => (await reader.notify.notifyCounts()).every((c) => c.queued === 0), 60_000, 500).catch(() => undefined);
    const counts = await reader.notify.notifyCounts();
    const queued = counts.reduce((n, c) => n + c.queued, 0);
    const failed = counts.reduce((n, c) => n + c.failed, 0);

    /** When each station of `r` was first named, s after the cut; NaN when never. */
    const namedAfter = (r: (typeof robotsOf)[number]): number[] => {
      const msgs = got(r);
      return r.hears.map((s) => {
        const m = msgs.find((x) => x.text.includes(s.name));
        return m ? (m.atMs - cutAt) / 1000 : Number.NaN;
      });
    };
    const last = (r: (typeof robotsOf)[number]) => Math.max(...namedAfter(r));
    const named = (r: (typeof robotsOf)[number]) => namedAfter(r).filter(Number.isFinite).length;
    const towns20 = robotsOf.slice(2);
    const worstTown = Math.max(...towns20.map(last));
    const messages = robotsOf.map((r) => got(r).length);
    const peak = Math.max(...robotsOf.map((r) => maxPerMinute(got(r).map((x) => x.atMs))));
    const refusals = robots.answers.filter((a) => !a.endsWith(' 0')).length;
    const notices = 2 * stations + stations; // county WeCom + county DingTalk + each station's town group
    const [wecom, ding] = robotsOf;
    const oneEach = stations / PER_MINUTE; // minutes for one message per station at the vendors' limit
    return {
      name: store === 'postgres' ? 'notify-storm-pg' : 'notify-storm',
      elapsed_s: round((Date.now() - t0) / 1000, 1),
      figures: [
        figure({ metric: 'named, county WeCom', value: named(wecom!), unit: 'stations', reference: 'stations cut', reference_value: stations, goal: 'all', pass: named(wecom!) === stations }),
        figure({ metric: 'named, county DingTalk', value: named(ding!), unit: 'stations', reference: 'stations cut', reference_value: stations, goal: 'all', pass: named(ding!) === stations }),
        figure({ metric: 'named, 20 town groups', value: towns20.reduce((n, r) => n + named(r), 0), unit: 'stations', reference: 'stations cut', reference_value: stations, goal: 'all', pass: towns20.every((r) => named(r) === r.hears.length) }),
        figure({ metric: 'last named, county WeCom', value: round(last(wecom!) / 60, 2), unit: 'min', reference: 'one msg per station at 20/min', reference_value: oneEach, goal: `≤ ${THRESHOLD_S / 60} + 10 min`, pass: last(wecom!) <= THRESHOLD_S + 600 }),
        figure({ metric: 'last named, county DingTalk', value: round(last(ding!) / 60, 2), unit: 'min', reference: 'one msg per station at 20/min', reference_value: oneEach, goal: `≤ ${THRESHOLD_S / 60} + 10 min`, pass: last(ding!) <= THRESHOLD_S + 600 }),
        figure({ metric: 'last named, worst town', value: round(worstTown / 60, 2), unit: 'min', reference: 'one msg per station at 20/min', reference_value: round(Math.max(...towns20.map((r) => r.hears.length)) / PER_MINUTE, 2), goal: `≤ ${THRESHOLD_S / 60} + 10 min`, pass: worstTown <= THRESHOLD_S + 600 }),
        figure({ metric: 'most msgs in a minute', value: peak, unit: 'msgs', reference: 'vendor limit per robot', reference_value: PER_MINUTE, goal: '≤ 20', pass: peak <= PER_MINUTE }),
        figure({ metric: 'messages sent', value: messages.reduce((a, b) => a + b, 0), unit: 'msgs', reference: 'notices queued', reference_value: notices }),
        figure({ metric: 'robot refusals', value: refusals, unit: 'answers', reference: 'messages sent', reference_value: messages.reduce((a, b) => a + b, 0), goal: '0', pass: refusals === 0 }),
        figure({ metric: 'left in the queue', value: queued + failed, unit: 'items', reference: 'notices queued', reference_value: notices, goal: '0 (nothing lost)', pass: queued + failed === 0 }),
      ],
      notes: [
        `${stations} stations in ${TOWNS} towns on ${store}, offline rule ${THRESHOLD_S} s; ${before} messages before the cut`,
        `messages per robot: county WeCom ${messages[0]}, county DingTalk ${messages[1]}, town groups ${Math.min(...messages.slice(2))}–${Math.max(...messages.slice(2))}`,
        `first named at the county WeCom ${round(Math.min(...namedAfter(wecom!)), 1)} s after the cut`,
      ],
    };
  } finally {
    await cleanup.run();
  }
}
