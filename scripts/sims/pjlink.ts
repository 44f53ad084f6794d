/**
 * A PJLink class 1/2 projector on real TCP (docs/reference/protocols.md "Simulator notes"): greeting with a
 * fresh token per connection, MD5 auth prefixed to the first command, PJLINK ERRA then close on a bad
 * digest, warm-up/cool-down state machine with ERR3 while busy or in standby, idle disconnect, ERST/LAMP
 * faults, laser (LAMP ERR1), non-standard CLSS replies, split/coalesced replies, silence, mains off.
 */
import { randomBytes } from 'node:crypto';
import { DelimiterFramer } from '../../drivers/framing/delimiter.js';
import { pjlinkDigest } from '../../drivers/pjlink/protocol.js';
import { ReplyShaper, TcpEndpoint, type Chunking, type SimConnection } from './shared.js';

export interface PjlinkSimOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  password?: string;
  projectorClass?: 1 | 2;
  warmupMs?: number;
  cooldownMs?: number;
  /** Spec: disconnect after 30 s without a command; old firmware used 4 s. */
  idleTimeoutMs?: number;
  /** `PJLink 1 …` instead of `PJLINK 1 …`. */
  mixedCaseGreeting?: boolean;
  /** e.g. 'Class 1' (Optoma) instead of '1'. */
  clssReply?: string;
  /** LAMP → ERR1 (no lamp). */
  laser?: boolean;
  /** INPT/AVMT/LAMP/IRES answer ERR3 in standby, as many projectors do. Default true. */
  standbyErr3?: boolean;
  manufacturer?: string;
  model?: string;
  serialNumber?: string;
  firmware?: string;
  inputs?: string[];
}

const ERST_POS = { fan: 0, lamp: 1, temperature: 2, cover: 3, filter: 4, other: 5 } as const;
export type ErstItem = keyof typeof ERST_POS;

interface ConnState {
  token: string | undefined;
  authed: boolean;
  idle: NodeJS.Timeout | undefined;
  framer: DelimiterFramer;
  chain: Promise<void>;
}

export class PjlinkSimulator {
  readonly opts: Required<Omit<PjlinkSimOptions, 'password'>> & { password: string | undefined };
  readonly shaper = new ReplyShaper();
  private readonly endpoint: TcpEndpoint;
  private readonly conns = new Map<SimConnection, ConnState>();
  private timer: NodeJS.Timeout | undefined;
  /** 0 standby, 1 on, 2 cooling, 3 warm-up. */
  power: 0 | 1 | 2 | 3 = 0;
  input = '31';
  avmt = '30';
  lampHours = 1200;
  filterHours = 300;
  erst = '000000';
  /** A source is connected on the current input (IRES). */
  signal = true;
  silent = false;
  /** Every command line received (digest stripped), for assertions. */
  readonly received: string[] = [];
  authFailures = 0;

  constructor(options: PjlinkSimOptions = {}) {
    this.opts = {
      host: '127.0.0.1',
      port: 0,
      projectorClass: 2,
      warmupMs: 1000,
      cooldownMs: 1000,
      idleTimeoutMs: 30_000,
      mixedCaseGreeting: false,
      clssReply: '',
      laser: false,
      standbyErr3: true,
      manufacturer: 'EPSON',
      model: 'EB-X51',
      serialNumber: 'X5SIM0001',
      firmware: '1.04',
      inputs: ['11', '21', '31', '32', '51'],
      ...options,
      password: options.password,
    };
    this.endpoint = new TcpEndpoint(
      {
        onOpen: (c) => this.onOpen(c),
        onData: (c, d) => this.onData(c, d),
        onClose: (c) => this.onClose(c),
      },
      this.shaper,
      this.opts.host,
    );
  }

  get port(): number {
    return this.endpoint.port;
  }

  /** TCP connections accepted so far. */
  get connections(): number {
    return this.endpoint.connections;
  }

  get openConnections(): number {
    return this.endpoint.openConnections;
  }

  start(): Promise<number> {
    return this.endpoint.start(this.opts.port);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    for (const s of this.conns.values()) clearTimeout(s.idle);
    await this.endpoint.stop();
  }

  unplug(): Promise<void> {
    return this.endpoint.unplug();
  }

  replug(): Promise<void> {
    return this.endpoint.replug();
  }

  setChunking(mode: Chunking): void {
    this.shaper.chunking = mode;
  }

  injectGarbage(data: Uint8Array): void {
    this.shaper.injectGarbage(data);
  }

  setError(item: ErstItem, level: 0 | 1 | 2): void {
    const d = this.erst.split('');
    d[ERST_POS[item]] = String(level);
    this.erst = d.join('');
  }

  /** Power set directly (bypassing warm-up), for test setup. */
  setPower(p: 0 | 1 | 2 | 3): void {
    clearTimeout(this.timer);
    this.power = p;
  }

  private onOpen(conn: SimConnection): void {
    const token = this.opts.password !== undefined ? randomBytes(4).toString('hex') : undefined;
    const state: ConnState = {
      token,
      authed: token === undefined,
      idle: undefined,
      framer: new DelimiterFramer({ delimiter: '\r', maxLength: 200 }),
      chain: Promise.resolve(),
    };
    this.conns.set(conn, state);
    this.armIdle(conn, state);
    if (this.silent) return;
    const word = this.opts.mixedCaseGreeting ? 'PJLink' : 'PJLINK';
    void conn.send(token ? `${word} 1 ${token}\r` : `${word} 0\r`);
  }

  private onClose(conn: SimConnection): void {
    const s = this.conns.get(conn);
    if (s) clearTimeout(s.idle);
    this.conns.delete(conn);
  }

  private armIdle(conn: SimConnection, s: ConnState): void {
    clearTimeout(s.idle);
    s.idle = setTimeout(() => conn.drop(), this.opts.idleTimeoutMs);
  }

  private onData(conn: SimConnection, chunk: Buffer): void {
    const s = this.conns.get(conn);
    if (!s) return;
    for (const frame of s.framer.push(chunk)) {
      // One command at a time: replies go out in order even when requests were pipelined.
      s.chain = s.chain.then(() => this.handleLine(conn, s, frame.toString('latin1')));
    }
  }

  private async handleLine(conn: SimConnection, s: ConnState, raw: string): Promise<void> {
    this.armIdle(conn, s);
    let line = raw.replace(/^\n+/, '');
    if (!s.authed) {
      const digest = line.slice(0, 32);
      if (s.token === undefined || digest !== pjlinkDigest(s.token, this.opts.password ?? '')) {
        this.authFailures++;
        this.received.push(line.slice(32));
        if (this.silent) return;
        await conn.send('PJLINK ERRA\r');
        conn.drop();
        return;
      }
      s.authed = true;
      line = line.slice(32);
    }
    this.received.push(line);
    if (this.silent) return;
    const m = /^%([12])([A-Z0-9]{4}) (.*)$/.exec(line);
    if (!m) {
      // Not a PJLink frame at all: real projectors ignore it (no reply to echo a prefix to).
      return;
    }
    const [, cls, cmd, param] = m as unknown as [string, string, string, string];
    const reply = this.answer(Number(cls) as 1 | 2, cmd, param.trim());
    await conn.send(`%${cls}${cmd}=${reply}\r`);
  }

  private answer(cls: 1 | 2, cmd: string, param: string): string {
    const class2 = this.opts.projectorClass === 2;
    if (cls === 2 && !class2) return 'ERR1';
    const standby = this.power !== 1;
    const busyInStandby = this.opts.standbyErr3 && standby;
    const query = param === '?';
    switch (cmd) {
      case 'POWR':
        if (query) return String(this.power);
        if (param !== '0' && param !== '1') return 'ERR2';
        if (this.power === 2 || this.power === 3) return 'ERR3';
        if (param === '1' && this.power === 0) this.transition(3, 1, this.opts.warmupMs);
        if (param === '0' && this.power === 1) this.transition(2, 0, this.opts.cooldownMs);
        return 'OK';
      case 'INPT':
        if (busyInStandby) return 'ERR3';
        if (query) return this.input;
        // Class 1 INPT takes types 1-5 with numbers 1-9; type 6 (INTERNAL) and A-Z are class 2 only
        // (PJLink 2.02; higashi3939/pjlink-python PJLink.py).
        if (cls === 1 && !/^[1-5][1-9]$/.test(param)) return 'ERR2';
        if (!this.opts.inputs.includes(param)) return 'ERR2';
        this.input = param;
        return 'OK';
      case 'AVMT':
        if (busyInStandby) return 'ERR3';
        if (query) return this.avmt;
        if (!/^[123][01]$/.test(param)) return 'ERR2';
        this.avmt = param;
        return 'OK';
      case 'ERST':
        return query ? this.erst : 'ERR2';
      case 'LAMP':
        if (this.opts.laser) return 'ERR1';
        if (busyInStandby) return 'ERR3';
        return `${this.lampHours} ${this.power === 1 ? 1 : 0}`;
      case 'INST':
        return this.opts.inputs.join(' ');
      case 'NAME':
        return 'village-projector';
      case 'INF1':
        return this.opts.manufacturer;
      case 'INF2':
        return this.opts.model;
      case 'INFO':
        return '';
      case 'CLSS':
        return this.opts.clssReply || String(this.opts.projectorClass);
      case 'SNUM':
        return class2 ? this.opts.serialNumber : 'ERR1';
      case 'SVER':
        return class2 ? this.opts.firmware : 'ERR1';
      case 'IRES':
        if (!class2) return 'ERR1';
        if (busyInStandby) return 'ERR3';
        return this.signal ? '1920x1080' : '-';
      case 'FILT':
        return class2 ? String(this.filterHours) : 'ERR1';
      default:
        return 'ERR1';
    }
  }

  private transition(during: 2 | 3, after: 0 | 1, ms: number): void {
    clearTimeout(this.timer);
    this.power = during;
    this.timer = setTimeout(() => {
      this.power = after;
    }, ms);
  }
}
