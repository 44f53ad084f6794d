/**
 * The control socket: newline-delimited JSON over a unix socket, mode 0660 (the agent's group may
 * talk to it; nobody else). Request `{id?, command, args?}` → response `{id, status, data|error}`
 * (agent/control/protocol.ts).
 *
 * Every client is bounded, so a careless script cannot take the daemon past its unit's MemoryMax: one
 * request at a time per connection, reading stops while a reply waits for the client to read it
 * (backpressure) and a reply left unread closes the connection, no line over MAX_LINE, at most
 * `max_clients` connections, idle ones closed, and no reply that grows with the ledger (list commands
 * answer in pages: agent/events.ts EVENTS_PAGE, agent/sessions/query.ts SESSIONS_PAGE).
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, mkdirSync, unlinkSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { CommandRegistry } from '../commands.js';
import { MAX_LINE, type ControlResponse } from './protocol.js';

export interface ControlLimits {
  maxClients: number;
  /** A connection with no complete request for this long is closed (bytes that make no line do not count). */
  idleTimeoutMs: number;
  /** A reply the client has not read within this long closes the connection; default idleTimeoutMs. */
  writeTimeoutMs?: number;
}

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private refusedLogged = 0;

  constructor(
    private readonly path: string,
    private readonly registry: CommandRegistry,
    private readonly log: Logger,
    private readonly limits: ControlLimits = { maxClients: 16, idleTimeoutMs: 60_000 },
  ) {}

  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o750 });
    if (existsSync(this.path)) {
      // A socket file left by a crash is replaced only when nothing answers on it: never steal the
      // socket of an agent that is still running.
      if (await isAlive(this.path)) {
        throw new AgentError(ErrorCodes.already_running, `another station-agent is listening on ${this.path}`);
      }
      this.log.warn({ path: this.path }, 'replacing stale control socket');
      unlinkSync(this.path);
    }
    const server = createServer((socket) => this.handle(socket));
    this.server = server;
    const oldMask = process.umask(0o117);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
    chmodSync(this.path, 0o660);
    server.on('error', (err) => this.log.error({ err }, 'control socket error'));
  }

  private handle(socket: Socket): void {
    if (this.sockets.size >= this.limits.maxClients) {
      // Logged once per burst: a script opening connections in a loop must not flood the journal.
      if (this.refusedLogged++ === 0) this.log.warn({ max_clients: this.limits.maxClients }, 'control socket: too many clients, refusing new ones');
      socket.on('error', () => socket.destroy());
      socket.end(line({ id: null, status: 'error', error: { code: ErrorCodes.busy, message: `too many control connections (max ${this.limits.maxClients})` } }));
      return;
    }
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    let buffer = '';
    let working = false;

    // Not socket.setTimeout: that counts from the last byte, and a client trickling one byte every 20 s
    // held its slot for ever (row 9). This timer counts from the connection or the last reply to a
    // complete request; while a command runs it is off; while a reply waits to be read it is the write timeout.
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => socket.destroy(), ms);
    };
    const disarm = (): void => clearTimeout(timer);
    arm(this.limits.idleTimeoutMs);

    const tooLarge = (): void => {
      socket.end(line({ id: null, status: 'error', error: { code: ErrorCodes.too_large, message: `request line over ${MAX_LINE} bytes` } }));
      socket.destroy();
    };

    /** Serves the complete lines in the buffer, one at a time, not reading more meanwhile. */
    const serve = async (): Promise<void> => {
      if (working) return;
      working = true;
      socket.pause();
      let served = false;
      try {
        let nl: number;
        while (!socket.destroyed && (nl = buffer.indexOf('\n')) >= 0) {
          if (nl > MAX_LINE) return tooLarge();
          const text = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!text) continue;
          disarm(); // a long command is not idleness
          const reply = await this.dispatch(text);
          if (socket.destroyed) return;
          served = true;
          // Backpressure: a client that does not read its replies gets no more requests read, and one
          // that leaves a reply unread for the write timeout loses its connection and the reply's memory.
          if (!socket.write(line(reply))) {
            arm(this.limits.writeTimeoutMs ?? this.limits.idleTimeoutMs);
            await drained(socket);
            disarm();
          }
        }
        if (buffer.length > MAX_LINE) return tooLarge();
      } finally {
        working = false;
        if (!socket.destroyed) {
          if (served) arm(this.limits.idleTimeoutMs);
          socket.resume();
        }
      }
    };

    socket.on('data', (chunk: string) => {
      buffer += chunk;
      void serve();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      disarm();
      this.sockets.delete(socket);
      if (this.sockets.size === 0) this.refusedLogged = 0;
    });
  }

  private async dispatch(text: string): Promise<ControlResponse> {
    let req: { id?: unknown; command?: unknown; args?: unknown };
    try {
      req = JSON.parse(text) as typeof req;
      if (typeof req !== 'object' || req === null || typeof req.command !== 'string') throw new Error('no command');
    } catch {
      return { id: null, status: 'error', error: { code: ErrorCodes.bad_request, message: 'expected a JSON object with a "command" string' } };
    }
    const id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : null;
    const result = await this.registry.invoke(req.command, req.args, { source: 'socket', transaction: id === null ? undefined : String(id) });
    return { id, ...result };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }
}

function line(message: ControlResponse): string {
  return `${JSON.stringify(message)}\n`;
}

/** Resolves when the socket can take more, or is gone. */
function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    const done = (alive: boolean) => {
      c.destroy();
      resolve(alive);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}
