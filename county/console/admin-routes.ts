/**
 * The admin's routes: accounts (list, add, change role and town, reset a password, remove after a
 * confirmation) and the audit log with its CSV. Each starts with its guard (guard.ts), every POST with
 * the CSRF check; each change is written through AccountFile and recorded in the audit log with who
 * made it and from where. Passwords go to the policy and the hash, never to a page or the log.
 */
import { AUDIT_MAX_READ, isAuditKind, type AuditFilter, type AuditKind } from '../audit.js';
import { AccountError, isRole, type Account, type AccountChange } from './accounts.js';
import { sendHtml, type Ctx } from './context.js';
import { requireAdmin, requireAudit } from './guard.js';
import { clientAddress, field, HttpError, param, redirect, send, securityHeaders } from './http.js';
import { pageNumber } from './layout.js';
import { AUDIT_PAGE_SIZE, auditCsv, renderAudit } from './pages/audit.js';
import { isDone, renderAccountEdit, renderAccountRemove, renderAccounts, type AccountProblem, type AccountsData } from './pages/accounts.js';
import { PasswordPolicyError } from './password-policy.js';
import { checkedForm } from './routes.js';
import { zonedMidnight } from '../../protocol/time-zone.js';
import { localTime } from './time.js';

type Route = (ctx: Ctx) => Promise<void>;

async function accountsData(ctx: Ctx): Promise<AccountsData> {
  const towns = new Map<string, number>();
  for (const s of await ctx.parts.store.stations()) if (s.town !== null) towns.set(s.town, (towns.get(s.town) ?? 0) + 1);
  return { accounts: ctx.parts.accounts.list(), towns };
}

/** A refused change in the reader's words (the password policy words its own reasons in both languages). */
function problemOf(ctx: Ctx, err: unknown, name: string): AccountProblem {
  if (err instanceof PasswordPolicyError) return { text: err.problem[ctx.lang] };
  if (err instanceof AccountError) return { key: `accounts.problem.${err.code}`, params: { name } };
  ctx.parts.log.error({ err: (err as Error).message }, 'console: the accounts file could not be changed');
  return { key: 'accounts.problem.file' };
}

/** The password fields: not trimmed (a space is a character), bounded, typed twice alike. */
function passwordOf(form: URLSearchParams): string {
  const p = form.get('password') ?? '';
  const again = form.get('password2') ?? '';
  if (p.length > 1024 || again.length > 1024) throw new HttpError(400, 'error.bad_request');
  if (p !== again) throw new AccountError('mismatch', 'the two passwords differ');
  return p;
}

function accountOf(ctx: Ctx, name: string): Account {
  const a = ctx.parts.accounts.get(name);
  if (!a) throw new HttpError(404, 'error.not_found');
  return a;
}

/** Records the change, then back to the list with what was done. */
async function done(ctx: Ctx, changes: AccountChange[], what: 'added' | 'role' | 'password' | 'removed', name: string): Promise<void> {
  await ctx.parts.audit.accountChanges(changes, ctx.signIn!.user, clientAddress(ctx.req, ctx.parts.trustProxy));
  redirect(ctx.res, `/accounts?done=${what}&name=${encodeURIComponent(name)}`);
}

const accountsPage: Route = async (ctx) => {
  requireAdmin(ctx);
  const what = param(ctx.url, 'done', 16);
  const name = param(ctx.url, 'name', 32);
  sendHtml(ctx, 200, renderAccounts(ctx, await accountsData(ctx), isDone(what) ? { done: { what, name } } : {}));
};

const accountAdd: Route = async (ctx) => {
  requireAdmin(ctx);
  const form = await checkedForm(ctx);
  const name = field(form, 'name', 64).toLowerCase();
  const role = field(form, 'role', 16);
  const town = field(form, 'town', 300);
  try {
    if (!isRole(role)) throw new HttpError(400, 'error.bad_request');
    const changes = await ctx.parts.accounts.add(name, role, role === 'town' ? town : null, passwordOf(form));
    await done(ctx, changes, 'added', name);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    sendHtml(ctx, 400, renderAccounts(ctx, await accountsData(ctx), { problem: problemOf(ctx, err, name), add: { name, role, town } }));
  }
};

const accountEditPage: Route = async (ctx) => {
  requireAdmin(ctx);
  sendHtml(ctx, 200, renderAccountEdit(ctx, await accountsData(ctx), accountOf(ctx, param(ctx.url, 'name', 32))));
};

/** An admin changes neither the role of nor removes the account signed in: the console keeps an admin. */
function notSelf(ctx: Ctx, name: string): void {
  if (ctx.signIn?.user === name) throw new AccountError('self', 'not your own account');
}

const accountRole: Route = async (ctx) => {
  requireAdmin(ctx);
  const form = await checkedForm(ctx);
  const a = accountOf(ctx, field(form, 'name', 32));
  const role = field(form, 'role', 16);
  const town = field(form, 'town', 300);
  try {
    if (!isRole(role)) throw new HttpError(400, 'error.bad_request');
    notSelf(ctx, a.name);
    await done(ctx, ctx.parts.accounts.setRole(a.name, role, role === 'town' ? town : null), 'role', a.name);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    sendHtml(ctx, 400, renderAccountEdit(ctx, await accountsData(ctx), a, problemOf(ctx, err, a.name), { role, town }));
  }
};

const accountPassword: Route = async (ctx) => {
  requireAdmin(ctx);
  const form = await checkedForm(ctx);
  const a = accountOf(ctx, field(form, 'name', 32));
  try {
    await done(ctx, await ctx.parts.accounts.setPassword(a.name, passwordOf(form)), 'password', a.name);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    sendHtml(ctx, 400, renderAccountEdit(ctx, await accountsData(ctx), a, problemOf(ctx, err, a.name)));
  }
};

const accountRemovePage: Route = async (ctx) => {
  requireAdmin(ctx);
  const a = accountOf(ctx, param(ctx.url, 'name', 32));
  if (ctx.signIn?.user === a.name) return sendHtml(ctx, 400, renderAccountEdit(ctx, await accountsData(ctx), a, { key: 'accounts.problem.self' }));
  sendHtml(ctx, 200, renderAccountRemove(ctx, a));
};

const accountRemove: Route = async (ctx) => {
  requireAdmin(ctx);
  const form = await checkedForm(ctx);
  const a = accountOf(ctx, field(form, 'name', 32));
  // Only the confirmation page's form says yes: a removal is never one click from the list.
  if (field(form, 'confirm', 8) !== 'yes') return sendHtml(ctx, 400, renderAccountRemove(ctx, a));
  try {
    notSelf(ctx, a.name);
    await done(ctx, ctx.parts.accounts.remove(a.name), 'removed', a.name);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    sendHtml(ctx, 400, renderAccountEdit(ctx, await accountsData(ctx), a, problemOf(ctx, err, a.name)));
  }
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A `YYYY-MM-DD` of the query as the UTC ISO time of that day's midnight (+`days`) in the county's zone. */
function dayStart(ctx: Ctx, value: string, days: number): string | undefined {
  if (value === '') return undefined;
  const m = DATE.exec(value);
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  if (!m || mo < 1 || mo > 12 || d < 1 || d > 31 || y < 2000 || y > 2200) throw new HttpError(400, 'error.bad_request');
  return new Date(zonedMidnight(y, mo, d + days, ctx.tz)).toISOString();
}

/** The filter of the query: dates (both included) in the county's zone, one kind or every kind. */
function auditFilter(ctx: Ctx): { filter: AuditFilter; from: string; to: string; kind: AuditKind | '' } {
  const from = param(ctx.url, 'from', 10);
  const to = param(ctx.url, 'to', 10);
  const raw = param(ctx.url, 'kind', 32);
  const kind = raw === '' ? '' : isAuditKind(raw) ? raw : undefined;
  if (kind === undefined) throw new HttpError(400, 'error.bad_request');
  const f = dayStart(ctx, from, 0);
  const t = dayStart(ctx, to, 1);
  return { filter: { ...(f ? { from: f } : {}), ...(t ? { to: t } : {}), ...(kind ? { kinds: [kind] } : {}) }, from, to, kind };
}

const auditPage: Route = async (ctx) => {
  requireAudit(ctx);
  const q = auditFilter(ctx);
  const total = await ctx.parts.store.countAudit(q.filter);
  const pages = Math.max(1, Math.ceil(total / AUDIT_PAGE_SIZE));
  const pageNo = pageNumber(param(ctx.url, 'page', 8), pages);
  const rows = await ctx.parts.store.auditLog({ ...q.filter, limit: AUDIT_PAGE_SIZE, offset: (pageNo - 1) * AUDIT_PAGE_SIZE });
  sendHtml(ctx, 200, renderAudit(ctx, { from: q.from, to: q.to, kind: q.kind, page: pageNo, pages, total, rows, days: ctx.parts.audit.days }));
};

const auditCsvDownload: Route = async (ctx) => {
  requireAudit(ctx);
  const q = auditFilter(ctx);
  const rows = await ctx.parts.store.auditLog({ ...q.filter, limit: AUDIT_MAX_READ + 1, offset: 0 });
  const more = rows.length > AUDIT_MAX_READ;
  const shown = rows.slice(0, AUDIT_MAX_READ);
  await ctx.parts.audit.record('audit_export', { actor: ctx.signIn!.user, address: clientAddress(ctx.req, ctx.parts.trustProxy), detail: { rows: shown.length, from: q.from, to: q.to, kind: q.kind } });
  const day = localTime(ctx.parts.now(), ctx.tz).slice(0, 10);
  const name = `${ctx.lang === 'zh' ? '操作日志' : 'audit-log'}-${day}.csv`;
  send(ctx.res, 200, auditCsv(ctx.t, shown, ctx.tz, more, AUDIT_MAX_READ), 'text/csv; charset=utf-8', {
    ...securityHeaders(ctx.parts.secure),
    'Cache-Control': 'no-store',
    'Content-Disposition': `attachment; filename="audit-log-${day}.csv"; filename*=UTF-8''${encodeURIComponent(name)}`,
  });
};

export const adminRoutes: Record<string, Route> = {
  'GET /accounts': accountsPage,
  'POST /accounts/add': accountAdd,
  'GET /accounts/edit': accountEditPage,
  'POST /accounts/role': accountRole,
  'POST /accounts/password': accountPassword,
  'GET /accounts/remove': accountRemovePage,
  'POST /accounts/remove': accountRemove,
  'GET /audit': auditPage,
  'GET /audit.csv': auditCsvDownload,
};
