/**
 * Devices speaking the shipped frame profiles, over TCP or the device end of a socat PTY. Written by
 * hand from the protocol descriptions (not from the profiles), so a profile that does not match its
 * device fails the tests.
 *
 * PaAmplifierSimulator — config/profiles/pa-amplifier-hex.yaml (ITC T-series style, docs/reference/protocols.md §5.1):
 *   in  FF 15 <cmd> <cks> (01 standby, 02 power on + handshake, 03 status, 04 cancel standby,
 *       05 mute on, 06 mute off) and FF <ch 00..03> <attenuation 0..79> <cks>; cks = XOR of the
 *       frame seeded with 0x80. A frame with a wrong checksum is ignored.
 *   out FE 15 <power 00|01> <ch1 attenuation> <mute 00|01> <cks> after every accepted frame (the
 *       reply layout is this project's assumption, documented in the profile).
 * PowerSequencerSimulator — config/profiles/power-sequencer-ascii.yaml (PT-PSU12, §5.3):
 *   `All@.` → `All Open.`, `All$.` → `All Closed.`, `[x]@.`/`[x]$.`, `Status[x].` → `0x Open.`.
 */
import { LengthFramer } from '../../drivers/framing/length.js';
import { ReplyShaper, SerialEndpoint, TcpEndpoint, type ConnectionHandler, type SimConnection } from './shared.js';

const xor80 = (bytes: Uint8Array): number => bytes.reduce((x, b) => x ^ b, 0x80);

abstract class LineDevice {
  readonly shaper = new ReplyShaper();
  protected tcp: TcpEndpoint | undefined;
  protected serial: SerialEndpoint | undefined;

  protected abstract handler(): ConnectionHandler;

  /** Listens on TCP (e.g. behind a serial-to-Ethernet converter); returns the port. */
  async startTcp(port = 0): Promise<number> {
    this.tcp = new TcpEndpoint(this.handler(), this.shaper);
    return this.tcp.start(port);
  }

  /** Attaches to the device end of a PTY pair. */
  async startSerial(path: string): Promise<void> {
    this.serial = new SerialEndpoint(path, this.handler(), this.shaper);
    await this.serial.start();
  }

  async stop(): Promise<void> {
    await this.tcp?.stop();
    await this.serial?.stop();
  }
}

export class PaAmplifierSimulator extends LineDevice {
  power = false;
  /** Channel attenuation in dB, 0 (loudest) .. 79. */
  readonly attenuation = [20, 20, 20, 20];
  muted = false;
  /** Replies with a damaged checksum. */
  corruptChecksum = false;
  /** Accepts frames but never answers. */
  silent = false;
  badFrames = 0;
  readonly frames: Buffer[] = [];

  protected handler(): ConnectionHandler {
    const framer = new LengthFramer({
      headerLength: 1,
      frameLength: () => 4,
      maxLength: 4,
      isStart: (b) => b === 0xff,
      validate: (f) => {
        const ok = xor80(f.subarray(0, 3)) === f[3];
        if (!ok) this.badFrames++;
        return ok;
      },
    });
    return { onData: (conn, chunk) => framer.push(chunk).forEach((f) => this.onFrame(conn, f)) };
  }

  private onFrame(conn: SimConnection, f: Buffer): void {
    this.frames.push(f);
    const [, a, b] = f;
    if (a === 0x15) {
      switch (b) {
        case 0x01:
          this.power = false;
          break;
        case 0x02:
        case 0x04:
          this.power = true;
          break;
        case 0x05:
          this.muted = true;
          break;
        case 0x06:
          this.muted = false;
          break;
        case 0x03:
          break;
        default:
          return;
      }
    } else if (a !== undefined && a <= 0x03 && b !== undefined && b <= 79) {
      this.attenuation[a] = b;
    } else {
      return;
    }
    if (this.silent) return;
    const body = Buffer.of(0xfe, 0x15, this.power ? 1 : 0, this.attenuation[0]!, this.muted ? 1 : 0);
    let cks = xor80(body);
    if (this.corruptChecksum) cks ^= 0xff;
    void conn.send(Buffer.concat([body, Buffer.of(cks)]));
  }
}

export class PowerSequencerSimulator extends LineDevice {
  readonly outlets: boolean[] = Array(12).fill(false);
  readonly lines: string[] = [];

  protected handler(): ConnectionHandler {
    let buf = '';
    return {
      onData: (conn, chunk) => {
        buf += chunk.toString('latin1');
        if (buf.length > 256) buf = buf.slice(-256);
        let i: number;
        while ((i = buf.indexOf('.')) >= 0) {
          const line = buf.slice(0, i).trim();
          buf = buf.slice(i + 1);
          this.lines.push(line);
          const reply = this.answer(line);
          if (reply) void conn.send(reply);
        }
      },
    };
  }

  private answer(line: string): string | undefined {
    const word = (on: boolean | undefined): string => (on ? 'Open' : 'Closed');
    if (line === 'All@' || line === 'All$') {
      this.outlets.fill(line === 'All@');
      return `All ${word(line === 'All@')}.`;
    }
    let m = /^(\d{1,2})([@$])$/.exec(line);
    if (m) {
      const n = Number(m[1]);
      if (n < 1 || n > 12) return undefined;
      this.outlets[n - 1] = m[2] === '@';
      return `${m[1]} ${word(this.outlets[n - 1])}.`;
    }
    m = /^Status(\d{1,2})?$/.exec(line);
    if (m) {
      if (m[1] === undefined) return this.outlets.map((o, k) => `${String(k + 1).padStart(2, '0')} ${word(o)}.`).join('');
      const n = Number(m[1]);
      if (n < 1 || n > 12) return undefined;
      return `${String(n).padStart(2, '0')} ${word(this.outlets[n - 1])}.`;
    }
    return undefined;
  }
}
