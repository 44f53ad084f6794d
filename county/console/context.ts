/** What every route handler gets: the request, the response, the signed-in session and the console's parts. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { CollectorStore, ConsoleStore } from '../store.js';
import type { MonthlyTarget } from '../bulletin.js';
import type { AccountFile } from './accounts.js';
import type { AuditLog } from './audit-log.js';
import { securityHeaders, send } from './http.js';
import type { T } from './i18n.js';
import type { PageContext } from './layout.js';
import type { VisitRules } from '../visits.js';
import type { Pusher } from './pusher.js';
import type { Lockout, SignIns } from './sign-ins.js';

export type ConsoleDb = CollectorStore & ConsoleStore;

export interface ConsoleParts {
  store: ConsoleDb;
  accounts: AccountFile;
  signIns: SignIns;
  /** Failed sign-ins per account name. */
  lockout: Lockout;
  /** Failed sign-ins per client address. */
  addressLockout: Lockout;
  pusher: Pusher | undefined;
  /** The visit rule's thresholds (county/visits.ts). */
  rules: VisitRules;
  historyDays: number;
  /** The monthly 通报's title and target (`county_name`, `monthly_target_*`). */
  bulletin: BulletinSettings;
  secure: boolean;
  /** Client addresses from X-Real-IP (clientAddress in http.ts). */
  trustProxy: boolean;
  audit: AuditLog;
  log: Logger;
  now: () => number;
}

export interface BulletinSettings {
  /** Else the name most stations report. */
  countyName: string | undefined;
  /** What each station should reach in a month; null: none set, no completion shown. */
  target: MonthlyTarget | null;
}

export interface Ctx extends PageContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  parts: ConsoleParts;
  t: T;
  /** When handling began (Server-Timing). */
  started: bigint;
}

export function serverTiming(ctx: Ctx): string {
  return `app;dur=${(Number(process.hrtime.bigint() - ctx.started) / 1e6).toFixed(1)}`;
}

/** A page: HTML, never cached (it shows live state and carries the CSRF token), with the security headers. */
export function sendHtml(ctx: Ctx, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
  send(ctx.res, status, body, 'text/html; charset=utf-8', {
    ...securityHeaders(ctx.parts.secure),
    'Cache-Control': 'no-store',
    'Server-Timing': serverTiming(ctx),
    ...headers,
  });
}

export function sendJson(ctx: Ctx, status: number, data: unknown): void {
  send(ctx.res, status, JSON.stringify(data), 'application/json; charset=utf-8', {
    ...securityHeaders(ctx.parts.secure),
    'Cache-Control': 'no-store',
    'Server-Timing': serverTiming(ctx),
  });
}
