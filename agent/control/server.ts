/**
 * The control socket: newline-delimited JSON over a unix socket, mode 0660 (the agent's group may
 * talk to it; nobody else). Request `{id?, command, args?}` → response `{id, status, data|error}`.
 */
import { createServer, createConnection, type Server, type Socket } from 'node:net';
import { chmodSync, mkdirSync, unlinkSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { AgentError, ErrorCodes } from '../../drivers/errors.js';
import type { CommandRegistry } from '../commands.js';
import { MAX_LINE } from './protocol.js';


export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly registry: CommandRegistry,
    private readonly log: Logger,
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
    this.sockets.add(socket);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE && !buffer.includes('\n')) {
        this.reply(socket, { id: null, status: 'error', error: { code: ErrorCodes.too_large, message: 'request line over 1 MiB' } });
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) void this.dispatch(socket, line);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private async dispatch(socket: Socket, line: string): Promise<void> {
    let req: { id?: unknown; command?: unknown; args?: unknown };
    try {
      req = JSON.parse(line) as typeof req;
      if (typeof req !== 'object' || req === null || typeof req.command !== 'string') throw new Error('no command');
    } catch {
      this.reply(socket, { id: null, status: 'error', error: { code: ErrorCodes.bad_request, message: 'expected a JSON object with a "command" string' } });
      return;
    }
    const id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : null;
    const result = await this.registry.invoke(req.command, req.args, { source: 'socket', transaction: id === null ? undefined : String(id) });
    this.reply(socket, { id, ...result });
  }

  private reply(socket: Socket, message: unknown): void {
    if (!socket.destroyed) socket.write(`${JSON.stringify(message)}\n`);
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
