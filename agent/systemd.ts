/**
 * sd_notify without libsystemd: a datagram to $NOTIFY_SOCKET (READY=1, WATCHDOG=1, STOPPING=1, STATUS=…).
 * Node has no unix datagram sockets, hence the small `unix-dgram` addon; one socket is kept open, so a
 * watchdog ping spawns nothing and allocates little.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';

interface DgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', fn: (err: Error) => void): void;
  close(): void;
}

export class SystemdNotifier {
  private socket: DgramSocket | undefined;
  private readonly path: string | undefined;
  private watchdogTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const raw = env.NOTIFY_SOCKET;
    // An abstract socket is written with a leading '@' in the environment.
    this.path = raw ? (raw.startsWith('@') ? `\0${raw.slice(1)}` : raw) : undefined;
    const usec = Number(env.WATCHDOG_USEC ?? '0');
    const pid = env.WATCHDOG_PID ? Number(env.WATCHDOG_PID) : process.pid;
    this.watchdogIntervalMs = usec > 0 && pid === process.pid ? Math.max(100, Math.floor(usec / 2000)) : 0;
  }

  /** Half of WatchdogSec, or 0 when systemd did not ask for pings. */
  readonly watchdogIntervalMs: number;

  get enabled(): boolean {
    return this.path !== undefined;
  }

  notify(state: string): void {
    if (!this.path) return;
    try {
      if (!this.socket) {
        const require = createRequire(import.meta.url);
        const unix = require('unix-dgram') as { createSocket(type: 'unix_dgram'): DgramSocket };
        this.socket = unix.createSocket('unix_dgram');
        this.socket.on('error', (err) => this.log.warn({ err }, 'sd_notify socket error'));
      }
      const buf = Buffer.from(state);
      this.socket.send(buf, 0, buf.length, this.path, (err) => {
        if (err) this.log.warn({ err, state }, 'sd_notify failed');
      });
    } catch (err) {
      this.log.warn({ err, state }, 'sd_notify failed');
    }
  }

  ready(status?: string): void {
    this.notify(status ? `READY=1\nSTATUS=${status}` : 'READY=1');
    if (this.watchdogIntervalMs > 0 && !this.watchdogTimer) {
      // Pinged from the event loop on purpose: a wedged loop stops the pings and systemd restarts us.
      this.watchdogTimer = setInterval(() => this.notify('WATCHDOG=1'), this.watchdogIntervalMs);
      this.watchdogTimer.unref();
    }
  }

  stopping(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
    this.notify('STOPPING=1');
  }

  close(): void {
    if (this.watchdogTimer) clearInterval(this.watchdogTimer);
    this.watchdogTimer = undefined;
    this.socket?.close();
    this.socket = undefined;
  }
}
