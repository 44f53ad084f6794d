/**
 * `stationctl probe <port>`: which serial protocol and baud rate does the device on this port speak?
 * Only queries are sent (ESC/VP21 `PWR?`/`SNO?`, NEC running status and model name, Modbus read coils,
 * a frame profile's poll queries): never a power, input or write command, since the technician may be
 * probing a projector in the middle of a class. Built on the drivers' own encode/decode functions.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { EscvpFramer, NULL_COMMAND, encodeQuery, parsePower as escvpPower, parseValue } from '../../drivers/escvp21/protocol.js';
import { NecCommands, necReplyFramer, parseReply as necParse, parseRunningStatus } from '../../drivers/nec/protocol.js';
import { EXCEPTION_TEXT, decodeReply, encodeReadCoils } from '../../drivers/modbus/codec.js';
import { replyFramer as modbusReplyFramer } from '../../drivers/modbus/bus.js';
import { CompiledProfile, ReplyFramer } from '../../drivers/frame-profile/engine.js';
import { FrameProfileSchema, type FrameProfile } from '../../config/frame-profile.js';
import { MAX_PROFILE_BYTES, PROFILES_DIR, parseYaml, readBounded } from '../../config/load.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { CliContext } from './context.js';
import { renderTable } from '../../protocol/table.js';

export interface ProbeAnswer {
  protocol: 'escvp21' | 'nec' | 'modbus_relay' | 'frame_profile';
  baud_rate: number;
  /** What to put in the config's `driver:`. */
  driver: string;
  model: string | null;
  serial_number: string | null;
  power: string | null;
  unit_id?: number;
  profile?: string;
  detail: string;
}

export interface ProbeResult {
  port: string;
  answers: ProbeAnswer[];
  tried: Array<{ protocol: string; baud_rate: number }>;
}

/**
 * Modbus unit ids tried by default: 1-16. Relay boards ship as unit 1 and are re-addressed with DIP
 * switches or a register write (docs/reference/protocols.md §5.4), and a station has a handful of them,
 * so low ids cover the field; the whole range (1-247, 0 is broadcast and never answers) stays one option
 * away. Every silent id costs one unit timeout.
 */
export const DEFAULT_MODBUS_UNITS = { first: 1, last: 16 } as const;
/**
 * Per unit id: relay boards answer within tens of milliseconds; at 9600 baud the 8-byte request and the
 * 6-byte reply take 15 ms on the wire, so 100 ms leaves room without making a scan of 16 ids slow.
 */
export const DEFAULT_MODBUS_UNIT_TIMEOUT_MS = 100;

export type ProbeProgress =
  | { kind: 'step'; protocol: string; baud: number }
  | { kind: 'modbus_scan'; baud: number; first: number; last: number; seconds: number };

export interface ProbeOptions {
  timeoutMs: number;
  /** Unit ids scanned on a Modbus bus, inclusive. */
  modbusUnits: { first: number; last: number };
  /** Wait per Modbus unit id (a silent id costs this much). */
  modbusUnitTimeoutMs?: number;
  /** Try every protocol even after one answered. */
  all?: boolean;
  profiles?: Array<{ name: string; profile: FrameProfile }>;
  onStep?: ((step: ProbeProgress) => void) | undefined;
}

/** `--units`: `N` (1..N) or `A-B`, within 1..247; undefined when malformed. */
export function parseUnitRange(text: string): { first: number; last: number } | undefined {
  const m = /^\s*(\d{1,3})(?:\s*-\s*(\d{1,3}))?\s*$/.exec(text);
  if (!m) return undefined;
  const first = m[2] === undefined ? 1 : Number(m[1]);
  const last = Number(m[2] ?? m[1]);
  if (first < 1 || last > 247 || first > last) return undefined;
  return { first, last };
}

/** One open port at one baud rate; replies are collected between requests. */
class Line {
  private rx = Buffer.alloc(0);
  private waiter: (() => void) | undefined;

  private constructor(readonly transport: SerialTransport) {
    transport.onData((chunk) => {
      this.rx = Buffer.concat([this.rx, chunk]);
      this.waiter?.();
    });
  }

  static async open(path: string, baudRate: number): Promise<Line> {
    const transport = new SerialTransport({ path, baudRate, lock: true, presenceCheckMs: 0 });
    await transport.open();
    return new Line(transport);
  }

  /** Sends and waits until `done(received)` says the reply is complete, or the time is up. */
  async ask(bytes: Buffer, done: (rx: Buffer) => boolean, timeoutMs: number): Promise<Buffer> {
    this.rx = Buffer.alloc(0);
    await this.transport.write(bytes);
    const deadline = Date.now() + timeoutMs;
    while (!done(this.rx) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.rx;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

async function escvp21(line: Line, baud: number, timeoutMs: number): Promise<ProbeAnswer | undefined> {
  const query = async (bytes: Buffer, command?: string): Promise<string | undefined | null> => {
    let value: string | undefined;
    let prompt = false;
    await line.ask(
      bytes,
      (rx) => {
        value = undefined;
        prompt = false;
        for (const tok of new EscvpFramer().push(rx)) {
          if (tok.kind === 'prompt') prompt = true;
          else if (command && tok.kind === 'line') value = parseValue(tok.text, command) ?? value;
        }
        return prompt;
      },
      timeoutMs,
    );
    if (!prompt) return null;
    return value;
  };
  // The null command first: a ready projector answers ':' to a bare CR (pszafer's serial init).
  if ((await query(NULL_COMMAND)) === null) return undefined;
  const pwr = await query(encodeQuery('PWR'), 'PWR');
  if (pwr === null || pwr === undefined) return undefined;
  const sno = await query(encodeQuery('SNO'), 'SNO');
  return {
    protocol: 'escvp21',
    driver: 'escvp21',
    baud_rate: baud,
    model: null,
    serial_number: sno || null,
    power: escvpPower(pwr).power,
    detail: `PWR=${pwr}${sno ? ` SNO=${sno}` : ''}`,
  };
}

async function nec(line: Line, baud: number, timeoutMs: number): Promise<ProbeAnswer | undefined> {
  const ask = async (request: Buffer) => {
    let reply: ReturnType<typeof necParse>;
    await line.ask(
      request,
      (rx) => {
        for (const f of necReplyFramer().push(rx)) reply = necParse(f, request) ?? reply;
        return reply !== undefined;
      },
      timeoutMs,
    );
    return reply;
  };
  const status = await ask(NecCommands.runningStatus());
  if (!status) return undefined;
  const model = await ask(NecCommands.modelName());
  const modelName = model?.ok ? model.data.toString('latin1').replace(/\0.*$/s, '').trim() || null : null;
  return {
    protocol: 'nec',
    driver: 'nec',
    baud_rate: baud,
    model: modelName,
    serial_number: null,
    power: status.ok ? parseRunningStatus(status.data).power : null,
    detail: status.ok ? 'running status ok' : `error ${status.err1}/${status.err2}`,
  };
}

/** Renders 8 coils as the relays read left to right: coil 0 first. */
const coilBits = (packed: Uint8Array): string => [...packed].map((b) => b.toString(2).padStart(8, '0').split('').reverse().join('')).join('');

/**
 * Reads coils 0-7 of every unit id in the range, one after the other, and reports each unit that answers
 * (a Modbus exception is an answer too: the unit is there). Only the addressed unit's frame with a valid
 * CRC counts, so a late reply of the previous unit is not taken for this one.
 */
async function modbus(line: Line, baud: number, units: { first: number; last: number }, timeoutMs: number): Promise<ProbeAnswer[]> {
  // 3.5 character times of silence between frames (RTU framing rule), at least 2 ms.
  const gapMs = Math.max(2, Math.ceil((3.5 * 10 * 1000) / baud));
  const answers: ProbeAnswer[] = [];
  for (let unit = units.first; unit <= units.last; unit++) {
    let reply: ReturnType<typeof decodeReply> | undefined;
    const find = (rx: Buffer): boolean => {
      for (const f of modbusReplyFramer().push(rx)) {
        if (f[0] !== unit) continue;
        try {
          reply = decodeReply(f);
          return true;
        } catch {
          /* a corrupted reply: keep waiting */
        }
      }
      return false;
    };
    await line.ask(encodeReadCoils(unit, 0, 8), find, timeoutMs);
    await new Promise((r) => setTimeout(r, gapMs));
    if (!reply) continue;
    answers.push({
      protocol: 'modbus_relay',
      driver: 'modbus_relay',
      baud_rate: baud,
      unit_id: unit,
      model: null,
      serial_number: null,
      power: null,
      detail: 'exception' in reply ? `exception ${reply.exception} (${EXCEPTION_TEXT[reply.exception] ?? 'unknown'})` : 'coils' in reply ? `coils 0-7 ${coilBits(reply.coils)}` : 'answered',
    });
  }
  return answers;
}

async function frameProfile(line: Line, baud: number, name: string, profile: FrameProfile, timeoutMs: number): Promise<ProbeAnswer | undefined> {
  const compiled = new CompiledProfile(profile);
  const query = profile.poll.find((q) => compiled.has(q));
  if (!query) return undefined;
  const framer = () => new ReplyFramer(compiled.terminator, profile.reply_length);
  const rx = await line.ask(compiled.encode(query), (b) => framer().push(b).length > 0, Math.max(timeoutMs, 200));
  const frames = framer().push(rx);
  const frame = frames[0] ?? (framer().gapFramed && rx.length > 0 ? rx : undefined);
  if (!frame) return undefined;
  try {
    const reading = compiled.interpret(query, compiled.replyBody(frame));
    if (!reading) return undefined;
    return {
      protocol: 'frame_profile',
      driver: 'frame_profile',
      profile: name,
      baud_rate: baud,
      model: reading.model ?? null,
      serial_number: reading.serial_number ?? null,
      power: reading.power ?? null,
      detail: `${profile.name}: ${query}`,
    };
  } catch {
    return undefined;
  }
}

/** The shipped profiles (config/profiles/*.yaml) that have a query to send. */
export function shippedProfiles(dir = PROFILES_DIR): Array<{ name: string; profile: FrameProfile }> {
  const out: Array<{ name: string; profile: FrameProfile }> = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    let raw: unknown;
    try {
      // The same bounded read as the config's profiles: a FIFO or a huge file in the folder must not hang or fill the probe.
      raw = parseYaml(readBounded(join(dir, n), MAX_PROFILE_BYTES, 'frame profile'), join(dir, n), MAX_PROFILE_BYTES);
    } catch {
      continue;
    }
    const parsed = FrameProfileSchema.safeParse(raw);
    if (parsed.success && parsed.data.poll.length > 0) out.push({ name: n.replace(/\.yaml$/, ''), profile: parsed.data });
  }
  return out;
}

export async function probePort(path: string, options: ProbeOptions): Promise<ProbeResult> {
  const result: ProbeResult = { port: path, answers: [], tried: [] };
  const profiles = options.profiles ?? shippedProfiles();
  // Usual rates first: ESC/VP21 is fixed at 9600; NEC ships at 9600 or 38400; relay boards 9600 or 19200.
  const units = options.modbusUnits;
  const unitTimeoutMs = options.modbusUnitTimeoutMs ?? DEFAULT_MODBUS_UNIT_TIMEOUT_MS;
  const one = (p: Promise<ProbeAnswer | undefined>): Promise<ProbeAnswer[]> => p.then((a) => (a ? [a] : []));
  const modbusStep = (baud: number) => ({
    protocol: 'modbus_relay',
    baud,
    progress: { kind: 'modbus_scan', baud, first: units.first, last: units.last, seconds: Math.ceil(((units.last - units.first + 1) * unitTimeoutMs) / 1000) } as ProbeProgress,
    run: (l: Line) => modbus(l, baud, units, unitTimeoutMs),
  });
  const plan: Array<{ protocol: string; baud: number; progress?: ProbeProgress; run: (l: Line) => Promise<ProbeAnswer[]> }> = [
    { protocol: 'escvp21', baud: 9600, run: (l) => one(escvp21(l, 9600, options.timeoutMs)) },
    { protocol: 'nec', baud: 9600, run: (l) => one(nec(l, 9600, options.timeoutMs)) },
    { protocol: 'nec', baud: 38400, run: (l) => one(nec(l, 38400, options.timeoutMs)) },
    modbusStep(9600),
    modbusStep(19200),
    ...profiles.map(({ name, profile }) => ({ protocol: `frame_profile:${name}`, baud: 9600, run: (l: Line) => one(frameProfile(l, 9600, name, profile, options.timeoutMs)) })),
  ];
  for (const step of plan) {
    options.onStep?.(step.progress ?? { kind: 'step', protocol: step.protocol, baud: step.baud });
    result.tried.push({ protocol: step.protocol, baud_rate: step.baud });
    let line: Line;
    try {
      line = await Line.open(path, step.baud);
    } catch (err) {
      // Nothing else can be learnt from a port that will not open (missing, locked, no permission).
      throw err instanceof AgentError ? err : new AgentError(ErrorCodes.probe_failed, (err as Error).message, { cause: err });
    }
    try {
      result.answers.push(...(await step.run(line)));
    } finally {
      await line.close();
    }
    if (result.answers.length > 0 && !options.all) break;
  }
  return result;
}

export function renderProbe(ctx: CliContext, r: ProbeResult): string {
  const { t } = ctx;
  if (r.answers.length === 0) return [t('probe.nothing', { port: r.port, count: r.tried.length }), t('probe.nothing_hint')].join('\n');
  return [
    t('probe.found', { port: r.port }),
    renderTable(
      [t('col.protocol'), t('col.baud'), t('col.model'), t('col.serial_number'), t('col.detail')],
      r.answers.map((a) => [
        a.profile ? `${a.driver} (${a.profile})` : a.driver,
        String(a.baud_rate),
        a.model ?? '-',
        a.serial_number ?? '-',
        [a.power ? t('probe.power', { power: t(`power.${a.power}` as Parameters<typeof t>[0]) }) : '', a.unit_id !== undefined ? t('probe.unit', { unit: a.unit_id }) : '', a.detail]
          .filter(Boolean)
          .join(', '),
      ]),
    ),
    '',
    configHint(ctx, r.answers),
  ].join('\n');
}

function configHint(ctx: CliContext, answers: ProbeAnswer[]): string {
  const first = answers[0]!;
  const units = answers.filter((a) => a.driver === first.driver && a.baud_rate === first.baud_rate && a.unit_id !== undefined).map((a) => a.unit_id);
  if (units.length === 0) return ctx.t('probe.config_hint', { driver: first.driver, baud: first.baud_rate });
  return ctx.t('probe.config_hint_units', { driver: first.driver, baud: first.baud_rate, unit_key: 'unit_id', units: units.join(', ') });
}
