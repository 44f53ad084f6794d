/**
 * The county console's HTTP server: sign-in, the pages (routes.ts), static assets. Binds to loopback
 * unless told otherwise; every request is bounded (URL, headers, body, time), every page carries the
 * security headers, every POST is checked for origin and CSRF token. See docs/county.md "The web console".
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../log.js';
import { DEFAULT_TIMEZONE } from '../report.js';
import type { AccountFile } from './accounts.js';
import { adminRoutes } from './admin-routes.js';
import { AuditLog } from './audit-log.js';
import { CONSOLE_CSS, CONSOLE_JS, FAVICON_SVG, echartsBundle } from './assets.js';
import { PRINT_CSS } from './print-css.js';
import { sendHtml, type BulletinSettings, type ConsoleDb, type ConsoleParts, type Ctx } from './context.js';
import { clientAddress, cookies, field, HttpError, localPath, param, readForm, redirect, requestUrl, sameOrigin, send, setCookie } from './http.js';
import { consoleTranslator, isLang, type Lang } from './i18n.js';
import { DEFAULT_VISIT_RULES, type VisitRules } from '../visits.js';
import { renderError, renderLogin } from './pages/login.js';
import type { Pusher } from './pusher.js';
import * as routes from './routes.js';
import * as bulletinRoutes from './routes-bulletin.js';
import * as notifyRoutes from './notify-routes.js';
import { visitAction } from './visit-routes.js';
import { Lockout, sameToken, SignIns, token, type LockoutOptions, type SignInOptions } from './sign-ins.js';

export interface ConsoleOptions {
  store: ConsoleDb;
  accounts: AccountFile;
  /** Default 127.0.0.1: the console is put behind a TLS reverse proxy, not on the network itself. */
  host?: string;
  port?: number;
  /** The county's time zone (stations without one are shown in it). Default Asia/Shanghai. */
  timezone?: string;
  /** Cookies marked Secure (`__Host-` prefix) and HSTS: set when users reach the console over TLS. */
  secureCookies?: boolean;
  pusher?: Pusher;
  lockout?: LockoutOptions;
  signIns?: SignInOptions;
  /**
   * Take the client address from X-Real-IP (set by the reverse proxy). Without it, behind a proxy every
   * sign-in comes from the proxy's address, and the per-address lockout would lock everyone out at once.
   */
  trustProxy?: boolean;
  /** The visit rule's thresholds; `offlineAfterS` is `visits.offline_after_s` (--offline-after-s). */
  rules?: Partial<VisitRules>;
  historyDays?: number;
  /** The monthly 通报's county name and target. Default: the stations' county name, no target. */
  bulletin?: Partial<BulletinSettings>;
  /** Days the audit log is kept: at least (and by default) 180 (county/audit.ts). */
  auditDays?: number;
  log?: Logger;
  now?: () => number;
}

export interface ConsoleServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const STATIC: Record<string, { type: string; body: () => string | Buffer; maxAge: number }> = {
  '/static/console.css': { type: 'text/css; charset=utf-8', body: () => CONSOLE_CSS, maxAge: 3600 },
  '/static/print.css': { type: 'text/css; charset=utf-8', body: () => PRINT_CSS, maxAge: 3600 },
  '/static/console.js': { type: 'text/javascript; charset=utf-8', body: () => CONSOLE_JS, maxAge: 3600 },
  '/static/echarts.min.js': { type: 'text/javascript; charset=utf-8', body: echartsBundle, maxAge: 86_400 },
  '/static/favicon.svg': { type: 'image/svg+xml', body: () => FAVICON_SVG, maxAge: 86_400 },
  // Browsers ask for /favicon.ico whatever the page says; they take an SVG there too.
  '/favicon.ico': { type: 'image/svg+xml', body: () => FAVICON_SVG, maxAge: 86_400 },
};

/**
 * Assets gzipped once, before the console listens, off the event loop (zlib's thread pool): ECharts is
 * 1.1 MB and about a third of that gzipped, which a township's line notices. Served gzipped to every
 * client that says it takes gzip.
 */
const gzipped = new Map<string, Buffer>();
const gzipAsync = promisify(gzip);
async function compressAssets(): Promise<void> {
  await Promise.all(Object.entries(STATIC).map(async ([path, a]) => gzipped.has(path) || gzipped.set(path, await gzipAsync(a.body(), { level: 9 }))));
}
function assetBody(path: string, body: string | Buffer, acceptEncoding: string | undefined): { body: string | Buffer; headers: Record<string, string> } {
  const gz = gzipped.get(path);
  if (!gz || !/\bgzip\b/i.test(acceptEncoding ?? '')) return { body, headers: { Vary: 'Accept-Encoding' } };
  return { body: gz, headers: { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } };
}

type Route = (ctx: Ctx) => Promise<void>;
/** Every signed-in route (tests/integration/console/town-scope.test.ts checks each one refuses another town). */
export const PAGES: Record<string, Route> = {
  'GET /fleet': routes.fleetPage,
  'GET /station': routes.stationPage,
  'GET /monthly': routes.monthlyPage,
  'GET /monthly.csv': routes.monthlyCsvDownload,
  'GET /monthly.xlsx': bulletinRoutes.monthlyXlsxDownload,
  'GET /monthly/print': bulletinRoutes.monthlyPrintPage,
  'GET /schedules': routes.schedulesPage,
  'POST /schedules': routes.pushSchedule,
  'GET /push': routes.pushPage,
  'GET /push.json': routes.pushProgress,
  'POST /visit': visitAction,
  'GET /notify': notifyRoutes.notifyPage,
  'POST /notify/test': notifyRoutes.notifyTest,
  ...adminRoutes,
};

export async function startConsole(o: ConsoleOptions): Promise<ConsoleServer> {
  await compressAssets();
  const secure = o.secureCookies ?? false;
  const log = o.log ?? silentLogger;
  const now = o.now ?? Date.now;
  const audit = new AuditLog(o.store, log, now, o.auditDays);
  const parts: ConsoleParts = {
    store: o.store,
    accounts: o.accounts,
    signIns: new SignIns({ ...o.signIns, ...(o.now ? { now: o.now } : {}) }),
    lockout: new Lockout({ ...o.lockout, ...(o.now ? { now: o.now } : {}) }),
    // One address may hold several accounts (a town office): it gets more tries than one account.
    addressLockout: new Lockout({ ...o.lockout, maxFailures: 4 * (o.lockout?.maxFailures ?? 5), ...(o.now ? { now: o.now } : {}) }),
    pusher: o.pusher,
    rules: { ...DEFAULT_VISIT_RULES, ...o.rules },
    historyDays: o.historyDays ?? 3,
    bulletin: { countyName: o.bulletin?.countyName, target: o.bulletin?.target ?? null },
    secure,
    trustProxy: o.trustProxy ?? false,
    audit,
    log,
    now,
  };
  // Changes made in the file (the command line, an edit by hand) reach the audit log when the console sees them.
  o.accounts.onOutsideChange = (changes) => void audit.accountChanges(changes, null, null);
  audit.startRetention();
  const tz = o.timezone ?? DEFAULT_TIMEZONE;
  const SESSION = secure ? '__Host-sa_session' : 'sa_session';
  const LOGIN = secure ? '__Host-sa_login' : 'sa_login';
  const cookie = (name: string, value: string, maxAgeS?: number) => setCookie(name, value, { secure, ...(maxAgeS !== undefined ? { maxAgeS } : {}) });

  async function login(ctx: Ctx, jar: Map<string, string>): Promise<void> {
    const form = await readForm(ctx.req, 4096);
    const back = localPath(field(form, 'back', 512));
    const user = field(form, 'user', 64).toLowerCase();
    const fresh = token();
    const again = (status: number, key: 'login.failed' | 'login.locked' | 'login.expired', params?: Record<string, number>) =>
      sendHtml(ctx, status, renderLogin(ctx, fresh, back, { key, ...(params ? { params } : {}) }, user), { 'Set-Cookie': cookie(LOGIN, fresh) });
    if (!sameOrigin(ctx.req) || !sameToken(field(form, '_csrf', 128), jar.get(LOGIN))) return again(403, 'login.expired');
    const addr = clientAddress(ctx.req, parts.trustProxy);
    const locks = [
      [parts.lockout, user],
      [parts.addressLockout, addr],
    ] as const;
    const locked = Math.max(...locks.map(([l, k]) => l.lockedFor(k)));
    if (locked > 0) return again(429, 'login.locked', { min: Math.ceil(locked / 60_000) });
    // Counted before the scrypt await, in the same tick as the check above: attempts in flight count, so
    // a burst sent at once gets at most the limit checked (issue row 1), not all of it.
    const locking = locks.map(([l, k]) => l.attempt(k));
    const password = form.get('password') ?? '';
    const account = password.length <= 256 ? await parts.accounts.verify(user, password) : null;
    if (!account) {
      parts.log.warn({ user, addr }, 'console sign-in refused');
      // The name typed is kept only when it is an account's: a password typed into the name field stays out of the log.
      const known = parts.accounts.get(user) !== undefined;
      await parts.audit.failure('sign_in_failed', { actor: known ? user : null, address: addr, detail: { reason: known ? 'wrong_password' : 'unknown_account' } });
      const min = Math.ceil(parts.lockout.lockMs / 60_000);
      if (locking[0]) await parts.audit.failure('lockout', { actor: known ? user : null, address: addr, detail: { what: 'account', min } });
      if (locking[1]) await parts.audit.failure('lockout', { address: addr, detail: { what: 'address', min: Math.ceil(parts.addressLockout.lockMs / 60_000) } });
      return again(401, 'login.failed');
    }
    parts.lockout.succeed(user);
    parts.addressLockout.forgive(addr);
    parts.signIns.delete(jar.get(SESSION));
    const s = parts.signIns.create(account.name, account.role, account.hash, account.town);
    parts.log.info({ user: account.name, role: account.role }, 'console sign-in');
    await parts.audit.record('sign_in', { actor: account.name, address: addr, detail: { role: account.role, ...(account.town === null ? {} : { town: account.town }) } });
    redirect(ctx.res, back, { 'Set-Cookie': [cookie(SESSION, s.id), cookie(LOGIN, '', 0)] });
  }

  /**
   * The request's sign-in, checked against the account as it is now (issue row 2): one whose account was
   * removed, or whose role or password changed since, ends here, and the request is treated as signed out.
   */
  function currentSignIn(id: string | undefined) {
    const s = parts.signIns.get(id);
    if (!s || parts.accounts.stillValid(s)) return s;
    parts.signIns.delete(s.id);
    parts.log.info({ user: s.user, role: s.role }, 'console sign-in ended: the account was changed or removed');
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = requestUrl(req);
    const jar = cookies(req);
    const langCookie = jar.get('sa_lang');
    const lang: Lang = isLang(langCookie) ? langCookie : 'zh';
    const signIn = currentSignIn(jar.get(SESSION));
    const ctx: Ctx = { req, res, url, parts, t: consoleTranslator(lang), lang, path: url.pathname + url.search, signIn, tz, started };
    const route = `${req.method} ${url.pathname}`;
    try {
      const asset = req.method === 'GET' ? STATIC[url.pathname] : undefined;
      if (asset) {
        const out = assetBody(url.pathname, asset.body(), req.headers['accept-encoding']);
        return send(res, 200, out.body, asset.type, { 'Cache-Control': `public, max-age=${asset.maxAge}`, 'X-Content-Type-Options': 'nosniff', ...out.headers });
      }
      if (route === 'GET /healthz') return send(res, 200, 'ok\n', 'text/plain; charset=utf-8');
      if (route === 'GET /lang') {
        const to = param(url, 'to', 2);
        return redirect(res, localPath(param(url, 'back', 512)), isLang(to) ? { 'Set-Cookie': setCookie('sa_lang', to, { secure, maxAgeS: 365 * 86_400 }) } : {});
      }
      if (route === 'GET /login') {
        if (signIn) return redirect(res, '/fleet');
        // Kept when present: a second tab (or the browser's favicon request) must not void the first form.
        const have = jar.get(LOGIN);
        const fresh = have && /^[A-Za-z0-9_-]{43}$/.test(have) ? have : token();
        return sendHtml(ctx, 200, renderLogin(ctx, fresh, localPath(param(url, 'back', 512))), { 'Set-Cookie': cookie(LOGIN, fresh) });
      }
      if (route === 'POST /login') return await login(ctx, jar);
      if (!signIn) {
        if (req.method === 'GET' && (route === 'GET /' || PAGES[route]) && !url.pathname.endsWith('.json')) return redirect(res, `/login?back=${encodeURIComponent(ctx.path)}`);
        throw PAGES[route] || route === 'POST /logout' ? new HttpError(403, 'error.forbidden') : new HttpError(404, 'error.not_found');
      }
      if (route === 'POST /logout') {
        await routes.checkedForm(ctx);
        parts.signIns.delete(signIn.id);
        await parts.audit.record('sign_out', { actor: signIn.user, address: clientAddress(req, parts.trustProxy) });
        return redirect(res, '/login', { 'Set-Cookie': cookie(SESSION, '', 0) });
      }
      if (route === 'GET /') return redirect(res, '/fleet');
      const page = PAGES[route];
      if (!page) throw new HttpError(404, 'error.not_found');
      await page(ctx);
    } catch (err) {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) {
        if (url.pathname.endsWith('.json')) return send(res, err.status, JSON.stringify({ error: err.key, message: ctx.t(err.key, err.params) }), 'application/json; charset=utf-8');
        return sendHtml(ctx, err.status, renderError(ctx, err.key, err.params), err.status === 413 ? { Connection: 'close' } : {});
      }
      parts.log.error({ err: (err as Error).message, route }, 'console request failed');
      sendHtml(ctx, 500, renderError(ctx, 'error.server'));
    }
  }

  // An idle kept-alive connection stays open longer than a client or proxy keeps it (nginx's upstream
  // keepalive_timeout is 60 s, fetch's 4 s): the client closes first, so a request never races the
  // server closing under it (ECONNRESET, a 502 at nginx). Node's default is 5 s.
  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Only a bad URL gets here (before the context exists).
      if (!res.headersSent) send(res, err instanceof HttpError ? err.status : 500, 'bad request\n', 'text/plain; charset=utf-8');
    });
  });
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8080, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  parts.log.info({ url: `http://${host}:${port}`, accounts: o.accounts.count() }, 'console listening');
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }).then(() => audit.flush()),
  };
}
