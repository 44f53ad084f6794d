/**
 * An Epson ESC/VP21 projector on a serial PTY or ESC/VP.net TCP (docs/reference/protocols.md "Simulator notes"):
 * `:` prompt, `CMD=vv\r:` answers, `ERR\r:` for invalid or refused commands, `PWR ON` answering only after
 * the warm-up, `PWR OFF` refused until fully on, abnormal states (lamp failure, over-temperature: PWR=05),
 * silence (no colon at all), the 16-byte ESC/VP.net hello on TCP, split/coalesced replies and garbage.
 */
import { SerialOrTcpSim, sleep, type ConnectionHandler, type SimConnection } from './shared.js';

/**
 * ESC/VP.net as pszafer/epson_projector lays it out (escvpnet/message.py, headers.py), written here
 * independently of the driver's encoder: 16 fixed bytes (`ESC/VP.net`, version, type, 2 reserved, status,
 * header count), then 18-byte headers (id, attribute, 16 bytes of NUL-padded ASCII); id 1 = Password.
 */
const ESCVP_NET = Buffer.from('ESC/VP.net', 'latin1');
const HEADER = 18;

export interface Escvp21SimOptions {
  /** One end of a socat PTY pair… */
  serialPath?: string;
  /** …or ESC/VP.net on TCP (0 = any free port). */
  tcpPort?: number;
  host?: string;
  warmupMs?: number;
  cooldownMs?: number;
  /** Models without SIGNAL? answer ERR. */
  signalSupported?: boolean;
  serialNumber?: string;
  /** ESC/VP.net status byte to answer the hello with (0x20 OK); overrides the password check. */
  helloStatus?: number;
  /** Projector password for ESC/VP.net: CONNECT without it is 0x41, with a wrong one 0x43. */
  password?: string;
}

interface Conn {
  hello: Buffer | undefined;
  line: string;
  chain: Promise<void>;
}

export class Escvp21Simulator extends SerialOrTcpSim {
  readonly opts: Required<Omit<Escvp21SimOptions, 'serialPath' | 'tcpPort' | 'password'>> & { serialPath?: string; tcpPort?: number; password?: string };
  private readonly conns = new Map<SimConnection, Conn>();
  power: '00' | '01' | '02' | '03' | '05' = '00';
  source = '30';
  muted = false;
  lampHours = 2100;
  errorCode = '00';
  signal = true;
  silent = false;
  readonly received: string[] = [];
  /** Every ESC/VP.net CONNECT seen, with the password of its Password header. */
  readonly connects: Array<{ password: string | undefined }> = [];

  constructor(options: Escvp21SimOptions) {
    const opts = { host: '127.0.0.1', warmupMs: 1000, cooldownMs: 1000, signalSupported: true, serialNumber: 'PCSIM21A0001', helloStatus: 0x20, ...options };
    super('escvp21', opts);
    this.opts = opts;
  }

  protected connectionHandler(): ConnectionHandler {
    return {
      onOpen: (c) => this.conns.set(c, { hello: this.opts.serialPath ? undefined : Buffer.alloc(0), line: '', chain: Promise.resolve() }),
      onData: (c, d) => this.onData(c, d),
      onClose: (c) => this.conns.delete(c),
    };
  }

  /** Lamp failure or over-temperature: abnormal standby with the matching ERR? code. */
  injectFault(fault: 'lamp' | 'temperature' | 'fan'): void {
    clearTimeout(this.timer);
    this.power = '05';
    this.errorCode = fault === 'lamp' ? '06' : fault === 'temperature' ? '04' : '01';
  }

  clearFault(): void {
    this.power = '00';
    this.errorCode = '00';
  }

  setPower(p: '00' | '01' | '02' | '03'): void {
    clearTimeout(this.timer);
    this.power = p;
  }

  private onData(conn: SimConnection, chunk: Buffer): void {
    const s = this.conns.get(conn);
    if (!s) return;
    let data = chunk;
    if (s.hello !== undefined) {
      s.hello = Buffer.concat([s.hello, data]);
      data = Buffer.alloc(0);
      if (s.hello.length < 16) return;
      if (!s.hello.subarray(0, 10).equals(ESCVP_NET)) {
        conn.drop();
        return;
      }
      const need = 16 + s.hello[15]! * HEADER;
      if (s.hello.length < need) return;
      const request = s.hello.subarray(0, need);
      data = s.hello.subarray(need);
      s.hello = undefined;
      const status = this.connectStatus(request);
      const reply = Buffer.concat([ESCVP_NET, Buffer.from([0x10, 0x03, 0x00, 0x00, status, 0x00])]);
      s.chain = s.chain.then(() => conn.send(reply));
      if (status !== 0x20) {
        s.chain = s.chain.then(() => conn.drop());
        return;
      }
    }
    for (const byte of data) {
      if (byte === 0x0d) {
        const line = s.line;
        s.line = '';
        s.chain = s.chain.then(() => this.handle(conn, line));
      } else if (s.line.length < 256) {
        s.line += String.fromCharCode(byte);
      }
    }
  }

  /** The status byte for a CONNECT request: the password check of a real projector. */
  private connectStatus(request: Buffer): number {
    let password: string | undefined;
    for (let i = 16; i + HEADER <= request.length; i += HEADER) {
      if (request[i] === 0x01) password = request.subarray(i + 2, i + HEADER).toString('latin1').replace(/\0+$/, '');
    }
    this.connects.push({ password });
    if (this.opts.helloStatus !== 0x20) return this.opts.helloStatus;
    if (this.opts.password === undefined || this.opts.password === '') return 0x20;
    if (password === undefined) return 0x41; // password is required
    return password === this.opts.password ? 0x20 : 0x43; // password is wrong
  }

  private async handle(conn: SimConnection, line: string): Promise<void> {
    this.received.push(line);
    if (this.silent) return;
    const reply = await this.answer(line.trim());
    if (this.silent) return;
    await conn.send(reply);
  }

  private async answer(cmd: string): Promise<string> {
    if (cmd === '') return ':';
    const on = this.power === '01';
    const q = /^([A-Z]+)\?$/.exec(cmd);
    if (q) {
      switch (q[1]) {
        case 'PWR':
          return `PWR=${this.power}\r:`;
        case 'ERR':
          return `ERR=${this.errorCode}\r:`;
        case 'LAMP':
          return `LAMP=${this.lampHours}\r:`;
        case 'SNO':
          return `SNO=${this.opts.serialNumber}\r:`;
        case 'SOURCE':
          return on ? `SOURCE=${this.source}\r:` : 'ERR\r:';
        case 'MUTE':
          return on ? `MUTE=${this.muted ? 'ON' : 'OFF'}\r:` : 'ERR\r:';
        case 'SIGNAL':
          return on && this.opts.signalSupported ? `SIGNAL=${this.signal ? '01' : '00'}\r:` : 'ERR\r:';
        default:
          return 'ERR\r:';
      }
    }
    const set = /^([A-Z]+) ([A-Z0-9]+)$/.exec(cmd);
    if (!set) return 'ERR\r:';
    const [, name, param] = set as unknown as [string, string, string];
    switch (name) {
      case 'PWR':
        if (param === 'ON') {
          if (this.power === '01') return ':';
          if (this.power !== '00') return 'ERR\r:';
          this.power = '02';
          // The colon comes back only after ignition (40/70/100 s on real lamps).
          await sleep(this.opts.warmupMs);
          if (this.power !== '02') return 'ERR\r:';
          this.power = '01';
          return ':';
        }
        if (param === 'OFF') {
          if (this.power === '00' || this.power === '03') return ':';
          if (this.power !== '01') return 'ERR\r:'; // executed only after the projector has fully started
          this.power = '03';
          clearTimeout(this.timer);
          this.timer = setTimeout(() => {
            if (this.power === '03') this.power = '00';
          }, this.opts.cooldownMs);
          return ':';
        }
        return 'ERR\r:';
      case 'SOURCE':
        if (!on || !/^[0-9A-F]{2}$/.test(param)) return 'ERR\r:';
        this.source = param;
        return ':';
      case 'MUTE':
        if (!on || (param !== 'ON' && param !== 'OFF')) return 'ERR\r:';
        this.muted = param === 'ON';
        return ':';
      default:
        return 'ERR\r:';
    }
  }
}
