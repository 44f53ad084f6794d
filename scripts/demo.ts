/**
 * npm run demo: a whole village station on this machine. Simulators for the four device kinds, an
 * embedded MQTT broker standing in for the county's, the agent itself (a child process with
 * config/demo.yaml), and a county view that prints what arrives and acknowledges durable records.
 * The scene: the county schedules a class for the next minute; the agent powers the room on in order,
 * records the session, powers it off and delivers the usage record. Then it keeps running for
 * stationctl to explore; Ctrl-C stops everything.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import mqtt from 'mqtt';
import { PACKAGE_ROOT, AGENT_NODE_FLAGS } from '../agent/version.js';
import { FleetTopics } from '../agent/county/topics.js';
import { PjlinkSimulator } from './sims/pjlink.js';
import { Escvp21Simulator } from './sims/escvp21.js';
import { ModbusRelaySimulator } from './sims/modbus-relay.js';
import { PaAmplifierSimulator, PowerSequencerSimulator } from './sims/frame-profile-device.js';
import { MediaMtxFake } from './sims/mediamtx-fake.js';
import { startEmbeddedBroker } from './broker.js';

const DEMO_DIR = join(PACKAGE_ROOT, '.demo');
const PTY_DIR = '/tmp/station-demo';
const CONFIG = join(PACKAGE_ROOT, 'config', 'demo.yaml');
const BROKER_PORT = 11883;

const c = {
  dim: (s: string) => `\x1b[2m${s}\x1b[0m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[0m`,
  green: (s: string) => `\x1b[32m${s}\x1b[0m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[0m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[0m`,
};
const time = () => new Date().toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
const say = (who: string, msg: string) => process.stdout.write(`${c.dim(time())} ${who} ${msg}\n`);
const county = (msg: string) => say(c.cyan('[county]'), msg);
const demo = (msg: string) => say(c.yellow('[demo]  '), msg);

const stops: Array<() => Promise<unknown> | unknown> = [];

function hasSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A socat PTY pair: `agent` is what the config names, `device` where the simulator sits. */
async function ptyPair(name: string): Promise<{ agent: string; device: string }> {
  const agent = join(PTY_DIR, name);
  const device = join(PTY_DIR, `${name}-device`);
  const proc = spawn('socat', [`pty,raw,echo=0,link=${agent}`, `pty,raw,echo=0,link=${device}`], { stdio: 'ignore' });
  stops.push(() => proc.kill('SIGTERM'));
  for (let i = 0; i < 100 && !(existsSync(agent) && existsSync(device)); i++) await new Promise((r) => setTimeout(r, 20));
  if (!existsSync(agent)) throw new Error(`socat did not create ${agent}`);
  return { agent, device };
}

/** Next whole minute at least 20 s away, as a five-field cron in Asia/Shanghai. */
function nextClassMinute(): { cron: string; at: Date } {
  const at = new Date(Date.now() + 20_000);
  at.setSeconds(0, 0);
  at.setMinutes(at.getMinutes() + 1);
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false })
    .formatToParts(at)
    .reduce<Record<string, string>>((acc, p) => ((acc[p.type] = p.value), acc), {});
  return { cron: `${Number(parts.minute)} ${Number(parts.hour)} * * *`, at };
}

async function main(): Promise<void> {
  mkdirSync(DEMO_DIR, { recursive: true });
  mkdirSync(PTY_DIR, { recursive: true });
  const config = parse(readFileSync(CONFIG, 'utf8')) as Record<string, any>;
  config.data_dir = join(DEMO_DIR, 'data');
  config.control = { socket: join(DEMO_DIR, 'control.sock') };

  demo(c.bold('示范村远程教育站点 / demo village station — starting'));

  // Devices.
  const projector = new PjlinkSimulator({ port: 14352, warmupMs: 4000, cooldownMs: 3000, model: 'EB-X51' });
  await projector.start();
  stops.push(() => projector.stop());
  demo(`projector (PJLink) on 127.0.0.1:14352`);

  const devices = config.devices as Array<Record<string, any>>;
  if (hasSocat()) {
    const epsonPty = await ptyPair('epson');
    const epson = new Escvp21Simulator({ serialPath: epsonPty.device, warmupMs: 4000, cooldownMs: 3000 });
    await epson.start();
    stops.push(() => epson.stop());
    const bus = await ptyPair('rs485');
    const relays = new ModbusRelaySimulator({ path: bus.device, units: [1, 2] });
    await relays.start();
    stops.push(() => relays.stop());
    demo(`spare projector (Epson ESC/VP21) on PTY ${epsonPty.agent}; relay boards (Modbus RTU units 1, 2) on PTY ${bus.agent}`);
  } else {
    // Without socat there are no PTYs: the Epson speaks ESC/VP.net on TCP, and the amplifier and LED
    // power come from frame-profile devices on TCP instead of the RS-485 relay bus.
    const epson = new Escvp21Simulator({ tcpPort: 13629, warmupMs: 4000, cooldownMs: 3000 });
    await epson.start();
    stops.push(() => epson.stop());
    const amp = new PaAmplifierSimulator();
    const ampPort = await amp.startTcp(14001);
    stops.push(() => amp.stop());
    const seq = new PowerSequencerSimulator();
    const seqPort = await seq.startTcp(14002);
    stops.push(() => seq.stop());
    for (const d of devices) {
      if (d.id === 'projector-epson') Object.assign(d, { serial: undefined, host: '127.0.0.1', port: 13629 });
      if (d.id === 'amplifier') Object.assign(d, { driver: 'frame_profile', serial: undefined, unit_id: undefined, coil: undefined, host: '127.0.0.1', port: ampPort, profile: 'pa-amplifier-hex' });
      if (d.id === 'led') Object.assign(d, { driver: 'frame_profile', serial: undefined, unit_id: undefined, coil: undefined, host: '127.0.0.1', port: seqPort, profile: 'power-sequencer-ascii' });
    }
    demo(c.yellow('socat not found: Epson on ESC/VP.net TCP, amplifier and LED on frame-profile TCP devices'));
  }
  const mediamtx = new MediaMtxFake();
  await mediamtx.start(19997);
  mediamtx.configurePath('stb');
  // The set-top box's picture reaches the stream only while the class is on (see the county view below).
  mediamtx.setStream('stb', 'offline');
  stops.push(() => mediamtx.close());
  demo('set-top box stream (fake MediaMTX API) on 127.0.0.1:19997, path stb');

  // The county.
  const broker = await startEmbeddedBroker({ port: BROKER_PORT, host: '127.0.0.1' });
  stops.push(() => broker.close());
  demo(`embedded MQTT broker on 127.0.0.1:${BROKER_PORT}`);
  const fleet = new FleetTopics(config.county.topic_prefix);
  const client = mqtt.connect(`mqtt://127.0.0.1:${BROKER_PORT}`, { clientId: 'county-view', clean: true });
  stops.push(() => client.endAsync(true));
  const acked = new Map<string, number>();
  let classDone: (() => void) | undefined;
  client.on('message', (topic, buf) => {
    let msg: any;
    try {
      msg = JSON.parse(buf.toString());
    } catch {
      county(`unreadable payload on ${topic}`);
      return;
    }
    const t = fleet.parse(topic);
    if (!t) return;
    const { station, kind } = t;
    if (kind === 'status') county(`${station} ${msg.online ? c.green('online') : c.yellow('offline')} (boot ${msg.boot})`);
    else if (kind === 'inventory') county(`${station} inventory: ${(msg.devices ?? []).map((d: any) => `${d.id}=${d.model ?? d.kind}`).join(', ')}`);
    else if (kind === 'heartbeat')
      county(c.dim(`${station} heartbeat: cpu ${msg.host?.cpu_pct ?? '?'}%, outbox ${msg.outbox?.depth ?? msg.outbox_depth ?? 0}, session ${msg.open_session ?? '-'}`));
    else if (t.kind === 'device_state') {
      if (t.device === 'projector') mediamtx.setStream('stb', msg.online && msg.power === 'on' ? 'publishing' : 'offline');
      county(`${station} ${t.device}: ${msg.online ? msg.power : 'offline'}${msg.input ? ` input ${msg.input}` : ''}${msg.signal != null ? ` signal ${msg.signal}` : ''}${msg.playing != null ? ` playing ${msg.playing}` : ''}${msg.volume != null ? ` volume ${msg.volume}` : ''}`);
    } else if (kind === 'events') county(`${station} event #${msg.seq} ${msg.type}: ${msg.message}${msg.historical ? ' (replayed)' : ''}`);
    else if (kind === 'usage') {
      county(
        c.green(
          `${station} USAGE #${msg.seq} ${msg.start} → ${msg.end}: ${Math.round(msg.duration_s)} s, signal ${Math.round(msg.signal_s)} s, trigger ${msg.trigger}, end ${msg.end_reason}`,
        ),
      );
      classDone?.();
    } else if (t.kind === 'response') county(`${station} response ${t.action}: ${msg.status}${msg.error ? ` ${msg.error.message}` : ''}`);
    // Acknowledge durable records: the watermark only moves over contiguous seqs (here: in order).
    if ((kind === 'usage' || kind === 'events') && typeof msg.seq === 'number') {
      const prev = acked.get(station) ?? 0;
      if (msg.seq === prev + 1 || msg.historical) {
        acked.set(station, Math.max(prev, msg.seq));
        client.publish(fleet.station(station).ack, JSON.stringify({ seq: Math.max(prev, msg.seq) }), { qos: 1, retain: true });
      }
    }
  });
  await client.subscribeAsync([fleet.all], { qos: 1 });

  // The agent.
  const runtimeConfig = join(DEMO_DIR, 'demo.runtime.yaml');
  writeFileSync(runtimeConfig, stringify(config));
  const logFile = join(DEMO_DIR, 'agent.log');
  const log = openSync(logFile, 'w');
  const agent: ChildProcess = spawn(process.execPath, [...AGENT_NODE_FLAGS, join(PACKAGE_ROOT, 'dist', 'agent', 'main.js'), '--config', runtimeConfig], {
    stdio: ['ignore', log, log],
  });
  const agentExit = new Promise<number | null>((r) => agent.once('exit', (code) => r(code)));
  stops.unshift(async () => {
    if (agent.exitCode === null) agent.kill('SIGTERM');
    await agentExit;
  });
  demo(`agent started (pid ${agent.pid}); its JSON log: ${logFile}`);
  demo(`explore: ${c.bold(`npm run -s ctl -- --config ${runtimeConfig} status`)}   (add --lang zh / --json)`);

  await new Promise((r) => setTimeout(r, 6000));
  if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}); see ${logFile}`);

  // The scene: the county schedules a class for the next minute.
  const { cron, at } = nextClassMinute();
  const schedule = {
    id: 'demo-class',
    name: '示范党员学习课',
    cron,
    duration_min: 1,
    steps: [
      { device: 'projector', action: 'power', value: 'on', wait_for: 'on', timeout_s: 60 },
      { device: 'projector', action: 'input', value: '31' },
      { device: 'amplifier', action: 'power', value: 'on' },
      { device: 'led', action: 'power', value: 'on' },
    ],
  };
  client.publish(fleet.station(config.station.id).request('schedule.set'), JSON.stringify({ transaction: 'demo-1', args: { schedule }, ts: new Date().toISOString() }), { qos: 1 });
  county(`scheduled class "${schedule.name}" at ${at.toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' })} (cron "${cron}", 1 min)`);
  const done = new Promise<void>((r) => (classDone = r));
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), (at.getTime() - Date.now()) + 3 * 60_000).unref());
  if ((await Promise.race([done, timeout])) === 'timeout') {
    demo(c.yellow('the class did not produce a usage record in time; see the agent log'));
  } else {
    demo(c.bold(c.green('scene complete: a scheduled class ran, was recorded as a usage session and delivered to the county.')));
  }
  demo(`still running — try: npm run -s ctl -- --config ${runtimeConfig} sessions   |   Ctrl-C to stop`);
  await agentExit;
  demo(c.yellow('the agent stopped'));
}

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\n');
  demo('stopping…');
  for (const stop of stops) {
    try {
      await stop();
    } catch {
      /* keep stopping the rest */
    }
  }
  rmSync(PTY_DIR, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

main().then(
  () => shutdown(0),
  (err: unknown) => {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    void shutdown(1);
  },
);
