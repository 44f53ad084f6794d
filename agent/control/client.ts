/** stationctl's side of the control socket. */
import { createConnection } from 'node:net';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';

import type { DeviceState } from '../../drivers/types.js';
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
      () =>
        finish(() =>
          reject(new AgentError(ErrorCodes.timeout, `no answer from the daemon within ${timeoutMs} ms (the command may still be running: look with stationctl devices)`)),
        ),
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

export interface FollowOptions {
  /** How often the state is asked for. Default 1000 ms. */
  intervalMs?: number;
  /** Gives up (rejects with `timeout`) after this long. */
  timeoutMs: number;
  /** Told every answer, e.g. to show progress. */
  onState?: (state: DeviceState, elapsedMs: number) => void;
}

/**
 * Follows one device's state until `until(state)` holds, and resolves with that state. One short
 * `devices` request per interval: a long operation (a projector's warm-up of up to 100 s) never holds a
 * request open, so the per-request timeout above never cuts it short. Rejects with `timeout` after
 * `timeoutMs` (the device carries on by itself), and with the daemon's own errors.
 */
export async function followDevice(path: string, id: string, until: (s: DeviceState) => boolean, opts: FollowOptions): Promise<DeviceState> {
  const started = Date.now();
  const interval = opts.intervalMs ?? 1000;
  for (;;) {
    const res = await callDaemon(path, 'devices');
    if (res.status === 'error') throw new AgentError(ErrorCodes.internal, res.error?.message ?? 'devices failed');
    const state = (res.data as DeviceState[]).find((d) => d.id === id);
    if (!state) throw new AgentError(ErrorCodes.not_found, `no device ${id}`);
    const elapsed = Date.now() - started;
    opts.onState?.(state, elapsed);
    if (until(state)) return state;
    if (elapsed >= opts.timeoutMs) {
      throw new AgentError(ErrorCodes.timeout, `device ${id} is still ${state.power} after ${Math.round(elapsed / 1000)} s`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, opts.timeoutMs - elapsed))));
  }
}
