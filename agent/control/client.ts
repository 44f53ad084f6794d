/** stationctl's side of the control socket. */
import { createConnection } from 'node:net';
import { AgentError, ErrorCodes } from '../../drivers/errors.js';

import type { ControlResponse } from './protocol.js';

export type { ControlResponse };

/** Sends one command; rejects with code `daemon_unreachable` when nothing listens on the socket. */
export function callDaemon(path: string, command: string, args: unknown = {}, timeoutMs = 30_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new AgentError(ErrorCodes.timeout, `no answer from the daemon within ${timeoutMs} ms`))),
      timeoutMs,
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify({ id: 1, command, args })}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl >= 0) {
        const line = buffer.slice(0, nl);
        finish(() => {
          try {
            resolve(JSON.parse(line) as ControlResponse);
          } catch {
            reject(new AgentError(ErrorCodes.protocol, 'the daemon sent an unreadable reply'));
          }
        });
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          // The agent runs but this user may not talk to it: saying "not running" would send a technician the wrong way.
          err.code === 'EACCES' || err.code === 'EPERM'
            ? new AgentError(ErrorCodes.permission_denied, `permission denied on the control socket ${path}`, { cause: err })
            : new AgentError(ErrorCodes.daemon_unreachable, `daemon not reachable at ${path} (${err.code ?? err.message})`, { cause: err }),
        ),
      ),
    );
    socket.on('close', () => finish(() => reject(new AgentError(ErrorCodes.daemon_unreachable, `daemon closed the connection at ${path}`))));
  });
}
