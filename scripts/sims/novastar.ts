/**
 * A NovaStar sending card on TCP (port 5200 in the field): validates the `55 AA` header and the
 * sum+0x5555 checksum, answers `AA 55` with ack 00 (success), 02 (checksum error) or 04 (invalid
 * command), keeps the brightness and display-mode registers, and answers the reads the agent makes at
 * connect (model id, firmware, DVI status). Reference: docs/reference/protocols.md §4.1 and "Simulator notes".
 *
 * Faults: `cabinetsOff` (reads to receiving cards answer ack 01 timeout), `silent` (accepts, never
 * answers), `dviSignal` false, and unplug/replug of the TCP endpoint (controller offline).
 */
import {
  DEV_RECEIVING_CARD,
  DEV_SENDING_CARD,
  REG,
  encodeReply,
  frameFields,
  requestParser,
  type NovaFrame,
  type NovaFrameParser,
} from '../../drivers/novastar/codec.js';
import { ReplyShaper, TcpEndpoint, type SimConnection } from './shared.js';

export interface NovastarSimOptions {
  /** Model id register value (default 0x0156). */
  modelId?: number;
  firmware?: [number, number, number, number];
}

export class NovastarSimulator {
  readonly shaper = new ReplyShaper();
  readonly endpoint: TcpEndpoint;
  /** 0–255 as the receiving cards hold it. */
  brightness = 255;
  /** 0 normal, 1 freeze, 2 black. */
  displayMode = 0;
  dviSignal = true;
  cabinetsOff = false;
  silent = false;
  /** Requests answered, for assertions. */
  readonly requests: NovaFrame[] = [];
  /** Valid requests received, answered or not (a silent controller still hears them). */
  heard = 0;
  badChecksums = 0;
  private readonly parsers = new Map<number, NovaFrameParser>();
  private readonly modelId: number;
  private readonly firmware: number[];

  constructor(opts: NovastarSimOptions = {}) {
    this.modelId = opts.modelId ?? 0x0156;
    this.firmware = opts.firmware ?? [4, 6, 1, 0];
    this.endpoint = new TcpEndpoint(
      {
        onData: (conn, chunk) => this.onData(conn, chunk),
        onClose: (conn) => this.parsers.delete(conn.id),
      },
      this.shaper,
    );
  }

  start(port = 0): Promise<number> {
    return this.endpoint.start(port);
  }

  stop(): Promise<void> {
    return this.endpoint.stop();
  }

  private onData(conn: SimConnection, chunk: Buffer): void {
    let parser = this.parsers.get(conn.id);
    if (!parser) {
      parser = requestParser((bad) => {
        this.badChecksums++;
        if (!this.silent) void conn.send(encodeReply(frameFields(bad), 2));
      });
      this.parsers.set(conn.id, parser);
    }
    for (const req of parser.push(chunk)) {
      this.heard++;
      if (this.silent) continue;
      this.requests.push(req);
      void conn.send(this.answer(req));
    }
  }

  private answer(req: NovaFrame): Buffer {
    const write = req.code === 1;
    if (req.devType === DEV_RECEIVING_CARD) {
      if (req.addr !== REG.brightness || req.length !== 1) return encodeReply(req, 4);
      if (this.cabinetsOff) return encodeReply(req, 1);
      if (write) {
        this.brightness = req.data[0]!;
        return encodeReply(req, 0);
      }
      return encodeReply(req, 0, Uint8Array.of(this.brightness));
    }
    if (req.devType !== DEV_SENDING_CARD) return encodeReply(req, 4);
    switch (req.addr) {
      case REG.displayMode:
        if (req.length !== 1) return encodeReply(req, 4);
        if (write) {
          if (req.data[0]! > 2) return encodeReply(req, 4);
          this.displayMode = req.data[0]!;
          return encodeReply(req, 0);
        }
        return encodeReply(req, 0, Uint8Array.of(this.displayMode));
      case REG.modelId: {
        if (write || req.length !== 2) return encodeReply(req, 4);
        const b = Buffer.alloc(2);
        b.writeUInt16LE(this.modelId);
        return encodeReply(req, 0, b);
      }
      case REG.firmware:
        if (write || req.length !== 4) return encodeReply(req, 4);
        return encodeReply(req, 0, Uint8Array.from(this.firmware));
      case REG.dviStatus:
        if (write || req.length !== 1) return encodeReply(req, 4);
        return encodeReply(req, 0, Uint8Array.of(this.dviSignal ? 1 : 0));
      default:
        return encodeReply(req, 4);
    }
  }
}
