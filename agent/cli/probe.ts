/**
 * `stationctl probe <port>`: which serial protocol and baud rate does the device on this port speak?
 * Only queries are sent (ESC/VP21 `PWR?`/`SNO?`, NEC running status and model name, Modbus read coils,
 * a frame profile's poll queries): never a power, input or write command, since the technician may be
 * probing a projector in the middle of a class. Built on the drivers' own encode/decode functions.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { EscvpFramer, NULL_COMMAND, encodeQuery, parsePower as escvpPower, parseValue } from '../../drivers/escvp21/protocol.js';
import { NecCommands, necReplyFramer, parseReply as necParse, parseRunningStatus } from '../../drivers/nec/protocol.js';
import { decodeReply, encodeReadCoils, expectedReplyLength } from '../../drivers/modbus/codec.js';
import { CompiledProfile, ReplyFramer } from '../../drivers/frame-profile/engine.js';
import { FrameProfileSchema, type FrameProfile } from '../../config/frame-profile.js';
import { PROFILES_DIR } from '../../config/load.js';
import { AgentError, ErrorCodes } from '../../drivers/errors.js';
import type { CliContext } from './context.js';
import { renderTable } from './table.js';

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

export interface ProbeOptions {
  timeoutMs: number;
  modbusUnits: number;
  /** Try every protocol even after one answered. */
  all?: boolean;
  profiles?: Array<{ name: string; profile: FrameProfile }>;
  onStep?: ((step: { protocol: string; baud: number }) => void) | undefined;
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

async function modbus(line: Line, baud: number, units: number, timeoutMs: number): Promise<ProbeAnswer | undefined> {
  for (let unit = 1; unit <= units; unit++) {
    const rx = await line.ask(
      encodeReadCoils(unit, 0, 8),
      (b) => {
        const n = expectedReplyLength(b);
        return n !== undefined && b.length >= n;
      },
      timeoutMs,
    );
    const n = expectedReplyLength(rx);
    if (n === undefined || rx.length < n) continue;
    try {
      const reply = decodeReply(rx.subarray(0, n));
      if (reply.unit !== unit) continue;
      const coils = 'coils' in reply ? [...reply.coils].map((b) => b.toString(2).padStart(8, '0').split('').reverse().join('')).join('') : '';
      return {
        protocol: 'modbus_relay',
        driver: 'modbus_relay',
        baud_rate: baud,
        unit_id: unit,
        model: null,
        serial_number: null,
        power: null,
        detail: 'exception' in reply ? `unit ${unit} exception ${reply.exception}` : `unit ${unit} coils 0-7 ${coils}`,
      };
    } catch {
      /* a corrupted reply: not this unit/baud */
    }
  }
  return undefined;
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
    const parsed = FrameProfileSchema.safeParse(parseDocument(readFileSync(join(dir, n), 'utf8')).toJS());
    if (parsed.success && parsed.data.poll.length > 0) out.push({ name: n.replace(/\.yaml$/, ''), profile: parsed.data });
  }
  return out;
}

export async function probePort(path: string, options: ProbeOptions): Promise<ProbeResult> {
  const result: ProbeResult = { port: path, answers: [], tried: [] };
  const profiles = options.profiles ?? shippedProfiles();
  // Usual rates first: ESC/VP21 is fixed at 9600; NEC ships at 9600 or 38400; relay boards 9600 or 19200.
  const plan: Array<{ protocol: string; baud: number; run: (l: Line) => Promise<ProbeAnswer | undefined> }> = [
    { protocol: 'escvp21', baud: 9600, run: (l) => escvp21(l, 9600, options.timeoutMs) },
    { protocol: 'nec', baud: 9600, run: (l) => nec(l, 9600, options.timeoutMs) },
    { protocol: 'nec', baud: 38400, run: (l) => nec(l, 38400, options.timeoutMs) },
    { protocol: 'modbus_relay', baud: 9600, run: (l) => modbus(l, 9600, options.modbusUnits, options.timeoutMs) },
    { protocol: 'modbus_relay', baud: 19200, run: (l) => modbus(l, 19200, options.modbusUnits, options.timeoutMs) },
    ...profiles.map(({ name, profile }) => ({ protocol: `frame_profile:${name}`, baud: 9600, run: (l: Line) => frameProfile(l, 9600, name, profile, options.timeoutMs) })),
  ];
  for (const step of plan) {
    options.onStep?.({ protocol: step.protocol, baud: step.baud });
    result.tried.push({ protocol: step.protocol, baud_rate: step.baud });
    let line: Line;
    try {
      line = await Line.open(path, step.baud);
    } catch (err) {
      // Nothing else can be learnt from a port that will not open (missing, locked, no permission).
      throw err instanceof AgentError ? err : new AgentError(ErrorCodes.probe_failed, (err as Error).message, { cause: err });
    }
    try {
      const answer = await step.run(line);
      if (answer) result.answers.push(answer);
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
    t('probe.config_hint', { driver: r.answers[0]!.driver, baud: r.answers[0]!.baud_rate }),
  ].join('\n');
}
