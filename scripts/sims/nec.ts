/**
 * An NEC projector speaking the binary protocol on a serial PTY or TCP 7142 (docs/reference/protocols.md
 * "Simulator notes"): checksum validated (bad frames are ignored, as real units stay silent), `2x` replies
 * on success and `Ax … ERR1 ERR2` on failure, commands refused during the power-on/off sequence and in
 * power-saving standby, error status bits, lamp/filter seconds, replies in fragments, garbage, silence.
 */
import { checksum, necRequestFramer } from '../../drivers/nec/protocol.js';
import type { LengthFramer } from '../../drivers/framing/length.js';
import { SerialOrTcpSim, type ConnectionHandler, type SimConnection } from './shared.js';

export interface NecSimOptions {
  serialPath?: string;
  tcpPort?: number;
  host?: string;
  warmupMs?: number;
  cooldownMs?: number;
  model?: string;
  /** Older models ignore commands in power-saving standby ("cannot use the control commands"). */
  powerSaving?: boolean;
  /** A laser model has no lamp counter: lamp info answers "not supported". */
  laser?: boolean;
}

/**
 * The simulator's own table, written from NEC's manual rather than shared with the driver, so that a
 * misreading on either side shows as a test failure: INPUT SW CHANGE terminal code → the "selection signal
 * type 1" (terminal number, 01h-05h) and "type 2" (kind: 01h COMPUTER, 02h VIDEO, 03h S-VIDEO, 04h COMPONENT,
 * 07h VIEWER, 21h HDMI, 22h DisplayPort) that 078-3/305-3 report ("Projector Control Command Reference
 * Manual", BDT140013, §3.35 p. 62).
 */
const TERMINALS: Readonly<Record<string, [type1: number, type2: number]>> = {
  '01': [0x01, 0x01], // COMPUTER 1
  '02': [0x02, 0x01], // COMPUTER 2
  '06': [0x01, 0x02], // VIDEO
  '0B': [0x01, 0x03], // S-VIDEO
  '10': [0x01, 0x04], // COMPONENT
  '1A': [0x01, 0x21], // HDMI 1
  '1B': [0x02, 0x21], // HDMI 2
  A6: [0x01, 0x22], // DisplayPort
  '1F': [0x01, 0x07], // VIEWER
};

const ID1 = 0x01; // control ID as set on the projector
const ID2 = 0x10; // model code

function reply(cmd1: number, cmd2: number, data: readonly number[]): Buffer {
  const body = [cmd1, cmd2, ID1, ID2, data.length, ...data];
  return Buffer.from([...body, checksum(Uint8Array.from(body))]);
}

export class NecSimulator extends SerialOrTcpSim {
  readonly opts: Required<Omit<NecSimOptions, 'serialPath' | 'tcpPort'>> & { serialPath?: string; tcpPort?: number };
  private readonly framers = new Map<SimConnection, LengthFramer>();
  power: 'off' | 'warming' | 'on' | 'cooling' = 'off';
  /** Terminal code of the selected input. */
  input = '1A';
  signal = true;
  pictureMute = false;
  soundMute = false;
  lampSeconds = 1500 * 3600 + 1800;
  filterSeconds = 200 * 3600;
  /** 12 bytes of ERROR STATUS bits. */
  readonly errorBits = new Uint8Array(12);
  silent = false;
  /** The next non-status command is refused with this ERR1/ERR2 pair (e.g. [0x02, 0x0f], no operation authority). */
  refuseNext: [number, number] | undefined;
  readonly received: Buffer[] = [];
  badChecksums = 0;

  constructor(options: NecSimOptions) {
    const opts = { host: '127.0.0.1', warmupMs: 1000, cooldownMs: 1000, model: 'NP-M311X', powerSaving: false, laser: false, ...options };
    super('nec', opts);
    this.opts = opts;
  }

  protected connectionHandler(): ConnectionHandler {
    return {
      onOpen: (c) => this.framers.set(c, necRequestFramer()),
      onData: (c, d) => this.onData(c, d),
      onClose: (c) => this.framers.delete(c),
    };
  }

  /** e.g. setErrorBit(0, 1) = temperature error (DATA01 bit1). */
  setErrorBit(byte: number, bit: number, on = true): void {
    this.errorBits[byte] = on ? this.errorBits[byte]! | (1 << bit) : this.errorBits[byte]! & ~(1 << bit);
  }

  setPower(p: NecSimulator['power']): void {
    clearTimeout(this.timer);
    this.power = p;
  }

  private onData(conn: SimConnection, chunk: Buffer): void {
    const framer = this.framers.get(conn);
    if (!framer) return;
    const before = framer.discarded;
    for (const frame of framer.push(chunk)) {
      this.received.push(frame);
      if (this.silent) continue;
      const r = this.answer(frame);
      if (r) void conn.send(r);
    }
    if (framer.discarded > before) this.badChecksums++;
  }

  private transition(during: 'warming' | 'cooling', after: 'on' | 'off', ms: number): void {
    clearTimeout(this.timer);
    this.power = during;
    this.timer = setTimeout(() => {
      this.power = after;
    }, ms);
  }

  private answer(f: Buffer): Buffer | undefined {
    const [cmd1, cmd2] = [f[0]!, f[1]!];
    const data = f.subarray(5, f.length - 1);
    const ok = (d: readonly number[]): Buffer => reply(cmd1 | 0x20, cmd2, d);
    const fail = (e1: number, e2: number): Buffer => reply(cmd1 | 0xa0, cmd2, [e1, e2]);
    const sequence = this.power === 'warming' || this.power === 'cooling';
    if (this.opts.powerSaving && this.power === 'off') return undefined;
    const key = `${cmd1.toString(16)}-${cmd2.toString(16)}-${data[0] ?? ''}`;
    // Status requests are answered in every state; anything else during a power sequence is refused.
    switch (key) {
      case '0-85-1': {
        const on = this.power === 'on' || this.power === 'warming';
        const op = this.power === 'on' ? 0x04 : this.power === 'cooling' ? 0x05 : 0x00;
        const d = new Array(16).fill(0);
        d[2] = on ? 1 : 0;
        d[3] = this.power === 'cooling' ? 1 : 0;
        d[4] = sequence ? 1 : 0;
        d[5] = op;
        return ok(d);
      }
      case '0-88-':
        return ok([...this.errorBits]);
      case '0-85-4': {
        const name = Buffer.alloc(32);
        name.write(this.opts.model, 'latin1');
        return ok([...name]);
      }
      case '0-85-3':
        return ok([this.pictureMute ? 1 : 0, this.soundMute ? 1 : 0, 0, 0, 0, ...new Array(11).fill(0)]);
      default:
        break;
    }
    if (sequence) return fail(0x02, 0x03);
    if (this.refuseNext) {
      const [e1, e2] = this.refuseNext;
      this.refuseNext = undefined;
      return fail(e1, e2);
    }
    switch (key) {
      case '2-0-':
        if (this.power === 'off') this.transition('warming', 'on', this.opts.warmupMs);
        return ok([]);
      case '2-1-':
        if (this.power === 'on') this.transition('cooling', 'off', this.opts.cooldownMs);
        return ok([]);
      case '0-bf-2': {
        if (this.power !== 'on') return fail(0x02, 0x03);
        // FFh FFh: "Not Source Input".
        const [t1, t2] = TERMINALS[this.input] ?? [0xff, 0xff];
        // 02h (echo), DATA01 operation status 04h (power on), DATA02 content, DATA03/04 selection signal
        // type 1/2, DATA05 display signal type (FFh: not a video input), DATA06-09 mutes and freeze.
        const d = [0x02, 0x04, this.signal ? 0x00 : 0x01, t1, t2, 0xff, this.pictureMute ? 1 : 0, this.soundMute ? 1 : 0, 0, 0, ...new Array(6).fill(0)];
        return ok(d);
      }
      case '2-3-1': {
        if (this.power !== 'on') return fail(0x02, 0x03);
        const terminal = (data[1] ?? 0).toString(16).toUpperCase().padStart(2, '0');
        if (!TERMINALS[terminal]) return ok([0xff]);
        this.input = terminal;
        return ok([0x00]);
      }
      case '2-10-':
      case '2-11-':
        if (this.power !== 'on') return fail(0x02, 0x03);
        this.pictureMute = cmd2 === 0x10;
        return ok([]);
      case '2-12-':
      case '2-13-':
        if (this.power !== 'on') return fail(0x02, 0x03);
        this.soundMute = cmd2 === 0x12;
        return ok([]);
      case '3-96-0': {
        if (this.opts.laser) return fail(0x00, 0x01);
        const b = Buffer.alloc(4);
        b.writeInt32LE(this.lampSeconds);
        return ok([0x00, 0x01, ...b]);
      }
      case '3-95-': {
        const b = Buffer.alloc(8);
        b.writeInt32LE(this.filterSeconds, 0);
        b.writeInt32LE(-1, 4);
        return ok([...b]);
      }
      default:
        return fail(0x00, 0x00);
    }
  }
}

