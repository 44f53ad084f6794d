/**
 * Building blocks for device simulators: a TCP endpoint that can be "unplugged" (connections refused,
 * like a projector whose mains socket is switched off), a serial endpoint on one end of a socat PTY pair,
 * and a reply writer that splits replies byte by byte, at random, or prepends garbage — the ways real
 * links deliver bytes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SerialTransport } from '../../drivers/transport/serial.js';

export type Chunking = 'whole' | 'bytes' | 'random';

export interface SimConnection {
  readonly id: number;
  /** Writes honouring the simulator's chunking and pending garbage. */
  send(data: Uint8Array | string): Promise<void>;
  /** Drops the connection (TCP) — on serial it is a no-op: a serial line cannot be "closed" by the device. */
  drop(): void;
  readonly closed: boolean;
}

export interface ConnectionHandler {
  onOpen?(conn: SimConnection): void;
  onData(conn: SimConnection, chunk: Buffer): void;
  onClose?(conn: SimConnection): void;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Shared write behaviour: chunking and one-shot garbage, coalesced with the next reply in one write. */
export class ReplyShaper {
  chunking: Chunking = 'whole';
  /** Delay between pieces when splitting (ms). */
  pieceDelayMs = 1;
  /** A slow device: every reply leaves this long after it was ready (ms). */
  replyDelayMs = 0;
  /** Replies held back by replyDelayMs right now: the device is in the middle of a request. */
  delaying = 0;
  /** Called each time a reply starts being held back, so a test can act at that moment instead of sampling `delaying`. */
  onDelay: (() => void) | undefined;
  private garbage: Buffer[] = [];

  injectGarbage(data: Uint8Array): void {
    this.garbage.push(Buffer.from(data));
  }

  async write(raw: (b: Buffer) => void, isClosed: () => boolean, data: Uint8Array | string): Promise<void> {
    if (this.replyDelayMs > 0) {
      this.delaying++;
      this.onDelay?.();
      try {
        await sleep(this.replyDelayMs);
      } finally {
        this.delaying--;
      }
    }
    let buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
    if (this.garbage.length) {
      buf = Buffer.concat([...this.garbage.splice(0), buf]);
    }
    if (this.chunking === 'whole' || buf.length <= 1) {
      if (!isClosed()) raw(buf);
      return;
    }
    let pos = 0;
    while (pos < buf.length) {
      const n = this.chunking === 'bytes' ? 1 : 1 + Math.floor(Math.random() * Math.min(8, buf.length - pos));
      if (isClosed()) return;
      raw(buf.subarray(pos, pos + n));
      pos += n;
      await sleep(this.pieceDelayMs);
    }
  }
}

/** TCP listener with unplug/replug on the same port. */
export class TcpEndpoint {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private nextId = 1;
  private boundPort = 0;
  connections = 0;

  constructor(
    private readonly handler: ConnectionHandler,
    private readonly shaper: ReplyShaper,
    private readonly host = '127.0.0.1',
  ) {}

  get port(): number {
    return this.boundPort;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  async start(port = 0): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port || this.boundPort, this.host, () => resolve());
    });
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
    this.server = server;
    return this.boundPort;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    this.connections++;
    let closed = false;
    const conn: SimConnection = {
      id: this.nextId++,
      send: (data) => this.shaper.write((b) => socket.write(b), () => closed || socket.destroyed, data),
      drop: () => socket.destroy(),
      get closed() {
        return closed;
      },
    };
    socket.on('data', (chunk: Buffer) => this.handler.onData(conn, chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closed = true;
      this.sockets.delete(socket);
      this.handler.onClose?.(conn);
    });
    this.handler.onOpen?.(conn);
  }

  /** Mains off: drop every connection and refuse new ones. */
  async unplug(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async replug(): Promise<void> {
    if (!this.server) await this.start(this.boundPort);
  }

  stop(): Promise<void> {
    return this.unplug();
  }
}

/**
 * The device end of a serial line (one side of a socat PTY pair). When the pair disappears (adapter
 * unplugged) it keeps retrying, like a device that stays powered and answers once the cable is back.
 */
export class SerialEndpoint {
  private transport: SerialTransport | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private conn: SimConnection | undefined;
  attached = false;

  constructor(
    private readonly path: string,
    private readonly handler: ConnectionHandler,
    private readonly shaper: ReplyShaper,
    private readonly retryMs = 100,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.attach();
  }

  private async attach(): Promise<void> {
    if (this.stopped) return;
    const t = new SerialTransport({ path: this.path, presenceCheckMs: 200, lock: false });
    try {
      await t.open();
    } catch {
      this.scheduleRetry();
      return;
    }
    this.transport = t;
    this.attached = true;
    let closed = false;
    const conn: SimConnection = {
      id: 1,
      send: (data) => this.shaper.write((b) => void t.write(b).catch(() => undefined), () => closed, data),
      drop: () => undefined,
      get closed() {
        return closed;
      },
    };
    this.conn = conn;
    t.onData((chunk) => this.handler.onData(conn, chunk));
    t.onClose(() => {
      closed = true;
      this.attached = false;
      this.handler.onClose?.(conn);
      void t.close();
      this.scheduleRetry();
    });
    this.handler.onOpen?.(conn);
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.attach(), this.retryMs);
  }

  /** Sends unsolicited bytes (e.g. a garbage stream) on the line. */
  send(data: Uint8Array | string): Promise<void> {
    return this.conn && !this.conn.closed ? this.conn.send(data) : Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.attached = false;
    await this.transport?.close();
    this.transport = undefined;
  }
}

/** `--name value` / `--flag` argv into a map (the sim dispatcher's tiny parser). */
export function parseFlags(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out.set(a.slice(2), argv[++i]!);
    else out.set(a.slice(2), 'true');
  }
  return out;
}

export function numFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
  return n;
}

/**
 * A device reachable on a serial PTY or on TCP (ESC/VP21 and ESC/VP.net, NEC serial and TCP 7142):
 * the endpoint plumbing and the fault knobs both kinds share. Subclasses bring the protocol.
 */
export abstract class SerialOrTcpSim {
  readonly shaper = new ReplyShaper();
  private tcpEndpoint: TcpEndpoint | undefined;
  private serialEndpoint: SerialEndpoint | undefined;
  protected timer: NodeJS.Timeout | undefined;

  constructor(
    name: string,
    protected readonly endpointOpts: { serialPath?: string | undefined; tcpPort?: number | undefined; host: string },
  ) {
    if ((endpointOpts.serialPath === undefined) === (endpointOpts.tcpPort === undefined)) throw new Error(`${name} sim needs serialPath or tcpPort`);
  }

  protected abstract connectionHandler(): ConnectionHandler;

  get port(): number {
    return this.tcpEndpoint?.port ?? 0;
  }

  /** The device end holds the serial line (false while the adapter is "unplugged"); always true on TCP. */
  get attached(): boolean {
    return this.serialEndpoint?.attached ?? true;
  }

  /** Starts listening; resolves with the TCP port (0 on serial). */
  async start(): Promise<number> {
    const handler = this.connectionHandler();
    const { serialPath, tcpPort, host } = this.endpointOpts;
    if (serialPath !== undefined) {
      this.serialEndpoint = new SerialEndpoint(serialPath, handler, this.shaper);
      await this.serialEndpoint.start();
      return 0;
    }
    this.tcpEndpoint = new TcpEndpoint(handler, this.shaper, host);
    return this.tcpEndpoint.start(tcpPort);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    await this.tcpEndpoint?.stop();
    await this.serialEndpoint?.stop();
  }

  /** TCP only: the device drops off the network (serial unplug is the PTY's, see scripts/lib/kit/pty.ts). */
  unplug(): Promise<void> {
    return this.tcpEndpoint?.unplug() ?? Promise.resolve();
  }

  replug(): Promise<void> {
    return this.tcpEndpoint?.replug() ?? Promise.resolve();
  }

  setChunking(mode: Chunking): void {
    this.shaper.chunking = mode;
  }

  injectGarbage(data: Uint8Array): void {
    this.shaper.injectGarbage(data);
  }

  /** Unsolicited bytes on the serial line right now (line noise, a wrong-baud device). */
  sendRaw(data: Uint8Array): Promise<void> {
    return this.serialEndpoint?.send(data) ?? Promise.resolve();
  }
}

/** A simulator in the table behind `npm run sim` (scripts/sims/index.ts). */
export interface RunningSim {
  /** One line for the console, e.g. "pjlink projector on 127.0.0.1:4352 (auth on, class 2)". */
  readonly describe: string;
  stop(): Promise<void>;
}

export interface SimEntry {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  start(flags: Map<string, string>): Promise<RunningSim>;
}
