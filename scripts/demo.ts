/**
 * npm run demo: a whole village station on this machine. Simulators for the four device kinds, an
 * embedded MQTT broker standing in for the county's, the agent itself (a child process with
 * config/demo.yaml), and a county view that prints what arrives and acknowledges durable records.
 * The scene: the county pushes the weekly class (`schedule.set`, cron in station time) and asks for a
 * trial run of it now (`schedule.run`), so the scene does not wait for a cron minute: the agent's own
 * scheduler powers the room on in order, the session is recorded, the room is powered off and the usage
 * record is delivered, within 90 s of start whatever the clock says. Then it keeps running for stationctl
 * to explore; Ctrl-C stops everything. A default port that is taken is replaced by a free one, and said so.
 *
 *   node dist/scripts/demo.js [--dir FOLDER] [--exit-when-done]
 *
 * `--dir` keeps the demo's state and PTYs in FOLDER (default .demo/ and /tmp/station-demo); with
 * `--exit-when-done` it stops once the scene is complete (exit 0) or has run out of time (exit 1).
 *
 * The folder is kept between runs, as a station's data is, so a second run meets what the first left:
 * the agent's ledger (its seqs go on), its replay cache of county transactions (kept ten minutes), and
 * records the first run's county never acked (replayed, marked historical). So each run asks with
 * transaction ids of its own, the county view keeps its ack watermark in the folder (the embedded broker
 * forgets its retained acks when it stops) and publishes it again at start, and only a live record of
 * this run's class completes the scene — not one replayed from a run before.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, openSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse, stringify } from 'yaml';
import mqtt from 'mqtt';
import { PACKAGE_ROOT, AGENT_NODE_FLAGS } from '../agent/version.js';
import { FleetTopics } from '../protocol/topics.js';
import { PjlinkSimulator } from './sims/pjlink.js';
import { Escvp21Simulator } from './sims/escvp21.js';
import { ModbusRelaySimulator } from './sims/modbus-relay.js';
import { PaAmplifierSimulator, PowerSequencerSimulator } from './sims/frame-profile-device.js';
import { MediaMtxFake } from './sims/mediamtx-fake.js';
import { startEmbeddedBroker } from './broker.js';
import { callDaemon } from '../agent/control/client.js';
import type { DeviceState } from '../drivers/types.js';

const STARTED = performance.now();
const ARGS = parseArgs({ options: { dir: { type: 'string' }, 'exit-when-done': { type: 'boolean', default: false } }, strict: true }).values;
const DEMO_DIR = ARGS.dir ? resolve(ARGS.dir) : join(PACKAGE_ROOT, '.demo');
/** The serial paths config/demo.yaml names live here; with --dir they move into it. */
const CONFIG_PTY_DIR = '/tmp/station-demo';
const PTY_DIR = ARGS.dir ? join(DEMO_DIR, 'pty') : CONFIG_PTY_DIR;
const CONFIG = join(PACKAGE_ROOT, 'config', 'demo.yaml');
/** From start to the usage record at the county, whatever the wall clock says. */
const SCENE_LIMIT_MS = 90_000;
/** The trial run's length: long enough to see the room on, short enough for the scene's limit. */
const CLASS_MIN = 0.5;
/** This run's county transactions: the agent refuses a transaction id it has seen (for ten minutes). */
const RUN_ID = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
/** The county view's ack watermark per station, kept across runs like a county's. */
const ACKS_FILE = join(DEMO_DIR, 'county-acks.json');
const DEMO_SCHEDULE_ID = 'demo-class';

/** The county view's ack watermark per station, with the ledger (station database) it belongs to. */
type Ack = { seq: number; ledger: string };

function loadAcks(): Map<string, Ack> {
  try {
    const saved = JSON.parse(readFileSync(ACKS_FILE, 'utf8')) as Record<string, Partial<Ack>>;
    return new Map(
      Object.entries(saved).filter((e): e is [string, Ack] => Number.isSafeInteger(e[1]?.seq) && (e[1].seq as number) > 0 && typeof e[1].ledger === 'string' && e[1].ledger.length > 0),
    );
  } catch {
    return new Map(); // a first run, or a file that is not ours to trust: start from nothing
  }
}

const c = {
  dim: (s: string) => `\x1b[2m${s}\x1b[0m`,
  bold: (s: string) => `\x1b[1m${s}\x1b[0m`,
  green: (s: string) => `\x1b[32m${s}\x1b[0m`,
  yellow: (s: string) => `\x1b[33m${s}\x1b[0m`,
  cyan: (s: string) => `\x1b[36m${s}\x1b[0m`,
};
const time = () => new Date().toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
const elapsed = () => Math.round((performance.now() - STARTED) / 1000);
/** A record's UTC time as the station reads it. */
const stationTime = (iso: string) => new Date(iso).toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
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

/**
 * Starts a listener on its default port, or on a free one when the default is taken (another demo, a
 * real broker on the machine …), and says so. `start` binds the given port (0: any) and returns the port.
 */
async function onPort(what: string, preferred: number, start: (port: number) => Promise<number>): Promise<number> {
  try {
    return await start(preferred);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    const port = await start(0);
    demo(c.yellow(`port ${preferred} (${what}) is taken: using ${port} instead`));
    return port;
  }
}

/** Resolves once the agent answers with every device online (or after `ms`, with what it has). */
async function agentReady(socket: string, agent: ChildProcess, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (agent.exitCode !== null) return;
    const res = await callDaemon(socket, 'devices', {}, 2000).catch(() => undefined);
    if (res?.status === 'ok' && (res.data as DeviceState[]).every((d) => d.online)) return;
    // Polls the control socket while the agent starts; not a wait standing in for an event.
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  mkdirSync(DEMO_DIR, { recursive: true });
  mkdirSync(PTY_DIR, { recursive: true });
  const config = parse(readFileSync(CONFIG, 'utf8')) as Record<string, any>;
  config.data_dir = join(DEMO_DIR, 'data');
  config.control = { socket: join(DEMO_DIR, 'control.sock') };
  const devices = config.devices as Array<Record<string, any>>;
  const device = (id: string) => devices.find((d) => d.id === id)!;
  for (const d of devices) {
    if (typeof d.serial?.path === 'string' && d.serial.path.startsWith(`${CONFIG_PTY_DIR}/`)) d.serial.path = join(PTY_DIR, basename(d.serial.path));
  }

  demo(c.bold('示范村远程教育站点 / demo village station — starting'));

  // Devices.
  let projector!: PjlinkSimulator;
  const projectorPort = await onPort('PJLink projector', device('projector').port, (port) => {
    projector = new PjlinkSimulator({ port, warmupMs: 4000, cooldownMs: 3000, model: 'EB-X51' });
    return projector.start();
  });
  stops.push(() => projector.stop());
  device('projector').port = projectorPort;
  demo(`projector (PJLink) on 127.0.0.1:${projectorPort}`);

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
    let epson!: Escvp21Simulator;
    const epsonPort = await onPort('Epson ESC/VP.net', 13629, (tcpPort) => {
      epson = new Escvp21Simulator({ tcpPort, warmupMs: 4000, cooldownMs: 3000 });
      return epson.start();
    });
    stops.push(() => epson.stop());
    const amp = new PaAmplifierSimulator();
    const ampPort = await onPort('amplifier', 14001, (port) => amp.startTcp(port));
    stops.push(() => amp.stop());
    const seq = new PowerSequencerSimulator();
    const seqPort = await onPort('LED power sequencer', 14002, (port) => seq.startTcp(port));
    stops.push(() => seq.stop());
    for (const d of devices) {
      if (d.id === 'projector-epson') Object.assign(d, { serial: undefined, host: '127.0.0.1', port: epsonPort });
      if (d.id === 'amplifier') Object.assign(d, { driver: 'frame_profile', serial: undefined, unit_id: undefined, coil: undefined, host: '127.0.0.1', port: ampPort, profile: 'pa-amplifier-hex' });
      if (d.id === 'led') Object.assign(d, { driver: 'frame_profile', serial: undefined, unit_id: undefined, coil: undefined, host: '127.0.0.1', port: seqPort, profile: 'power-sequencer-ascii' });
    }
    demo(c.yellow('socat not found: Epson on ESC/VP.net TCP, amplifier and LED on frame-profile TCP devices'));
  }
  let mediamtx!: MediaMtxFake;
  const mediaPort = await onPort('MediaMTX API', device('settopbox').port, async (port) => {
    mediamtx = new MediaMtxFake();
    return Number(new URL(await mediamtx.start(port)).port);
  });
  mediamtx.configurePath('stb');
  // The set-top box's picture reaches the stream only while the class is on (see the county view below).
  mediamtx.setStream('stb', 'offline');
  stops.push(() => mediamtx.close());
  device('settopbox').port = mediaPort;
  config.media.mediamtx.url = `http://127.0.0.1:${mediaPort}`;
  demo(`set-top box stream (fake MediaMTX API) on 127.0.0.1:${mediaPort}, path stb`);

  // The county.
  let broker!: Awaited<ReturnType<typeof startEmbeddedBroker>>;
  const brokerPort = await onPort('MQTT broker', Number(new URL(config.county.url).port), async (port) => {
    broker = await startEmbeddedBroker({ port, host: '127.0.0.1' });
    return broker.port;
  });
  stops.push(() => broker.close());
  config.county.url = `mqtt://127.0.0.1:${brokerPort}`;
  demo(`embedded MQTT broker on 127.0.0.1:${brokerPort}`);
  const fleet = new FleetTopics(config.county.topic_prefix);
  const client = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, { clientId: 'county-view', clean: true });
  stops.push(() => client.endAsync(true));
  const acked = loadAcks();
  const saveAcks = () => writeFileSync(ACKS_FILE, JSON.stringify(Object.fromEntries(acked)), { mode: 0o600 });
  let classDone: (() => void) | undefined;
  let runEnded: (() => void) | undefined;
  const answered = new Map<string, (reply: { status: string; error?: { code?: string } }) => void>();
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
    } else if (kind === 'events') {
      county(`${station} event #${msg.seq} ${msg.type}: ${msg.message}${msg.historical ? ' (replayed)' : ''}`);
      if (!msg.historical && msg.type === 'schedule_run' && msg.data?.schedule_id === DEMO_SCHEDULE_ID && msg.data?.phase === 'end') runEnded?.();
    }
    else if (kind === 'usage') {
      county(
        c.green(
          `${station} USAGE #${msg.seq} ${stationTime(msg.start)} → ${stationTime(msg.end)}: ${Math.round(msg.duration_s)} s, signal ${Math.round(msg.signal_s)} s, trigger ${msg.trigger}, end ${msg.end_reason}${msg.historical ? ' (replayed)' : ''}`,
        ),
      );
      // A record replayed from an earlier run is not this run's class.
      if (!msg.historical && msg.trigger === `schedule:${DEMO_SCHEDULE_ID}`) classDone?.();
    } else if (t.kind === 'response') {
      county(`${station} response ${t.action}: ${msg.status}${msg.error ? ` ${msg.error.message}` : ''}`);
      answered.get(msg.transaction)?.(msg);
    }
    // Acknowledge durable records: the watermark only moves over contiguous seqs (here: in order).
    if ((kind === 'usage' || kind === 'events') && typeof msg.seq === 'number') {
      const known = acked.get(station);
      // Another ledger: the station's data was removed (the county's file kept), its seqs start over.
      let prev = known && known.ledger === msg.ledger ? known.seq : 0;
      if (!msg.historical && msg.seq <= prev) prev = msg.seq - 1;
      if (msg.seq === prev + 1 || msg.historical) {
        const ack: Ack = { seq: Math.max(prev, msg.seq), ledger: String(msg.ledger) };
        acked.set(station, ack);
        saveAcks();
        // The ack names the ledger (station database) the records come from (docs/mqtt.md "Ledgers").
        client.publish(fleet.station(station).ack, JSON.stringify(ack), { qos: 1, retain: true });
      }
    }
  });
  await client.subscribeAsync([fleet.all], { qos: 1 });
  // The embedded broker starts empty: the watermarks of earlier runs go back on the retained acks
  // before the agent connects, so it does not wait for acks of records the county already has.
  for (const [station, ack] of acked) await client.publishAsync(fleet.station(station).ack, JSON.stringify(ack), { qos: 1, retain: true });

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

  await agentReady(config.control.socket, agent, 20_000);
  if (agent.exitCode !== null) throw new Error(`the agent exited (${agent.exitCode}); see ${logFile}`);

  // The scene: the county pushes the weekly class, then asks for a trial run of it now.
  const schedule = {
    id: DEMO_SCHEDULE_ID,
    name: '示范党员学习课',
    cron: '0 20 * * 2',
    duration_min: 90,
    steps: [
      { device: 'projector', action: 'power', value: 'on', wait_for: 'on', timeout_s: 60 },
      { device: 'projector', action: 'input', value: '31' },
      { device: 'amplifier', action: 'power', value: 'on' },
      { device: 'led', action: 'power', value: 'on' },
    ],
  };
  const topics = fleet.station(config.station.id);
  const ask = async (action: string, transaction: string, args: unknown): Promise<{ status: string; error?: { code?: string } }> => {
    const reply = new Promise<{ status: string; error?: { code?: string } }>((r) => answered.set(transaction, r));
    client.publish(topics.request(action), JSON.stringify({ transaction, args, ts: new Date().toISOString() }), { qos: 1 });
    return reply;
  };
  const done = new Promise<void>((r) => (classDone = r));
  const left = Math.max(0, SCENE_LIMIT_MS - (performance.now() - STARTED));
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left).unref());
  // A demo stopped mid-class leaves its run to the agent, which resumes it at start (to power the room
  // off at its end): the trial run waits for that run's end, reported as a schedule_run event.
  const previousRunEnded = new Promise<void>((r) => (runEnded = r));
  county(`pushes the weekly class "${schedule.name}": cron "${schedule.cron}" (Tuesdays 20:00 station time), ${schedule.duration_min} min`);
  await ask('schedule.set', `demo-${RUN_ID}-set`, { schedule });
  county(`asks for a trial run of it now (schedule.run, ${CLASS_MIN * 60} s): the agent's scheduler runs the class's steps`);
  const run = await ask('schedule.run', `demo-${RUN_ID}-run`, { id: schedule.id, duration_min: CLASS_MIN });
  if (run.status === 'error' && run.error?.code === 'busy') {
    demo(c.yellow('the class of the last demo (stopped mid-class) is still finishing: the trial run follows once it ends'));
    if ((await Promise.race([previousRunEnded, timeout])) !== 'timeout') {
      await ask('schedule.run', `demo-${RUN_ID}-run-again`, { id: schedule.id, duration_min: CLASS_MIN });
    }
  }
  const complete = (await Promise.race([done, timeout])) !== 'timeout';
  if (!complete) {
    demo(c.yellow(`the class did not produce a usage record within ${SCENE_LIMIT_MS / 1000} s of start; see the agent log`));
  } else {
    demo(c.bold(c.green(`scene complete in ${elapsed()} s: a scheduled class ran, was recorded as a usage session and delivered to the county.`)));
  }
  if (ARGS['exit-when-done']) {
    await shutdown(complete ? 0 : 1);
    return;
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
  // With --dir the caller owns the folder; the control socket and the runtime files go with the agent.
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
