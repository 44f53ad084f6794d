/** The frame every console page shares: header with navigation, user and language switch; footer. */
import { scopeOf } from './access.js';
import { html, query, type Html } from './html.js';
import { label, type Lang, type T } from './i18n.js';
import type { SignIn } from './sign-ins.js';
import { zoneWords } from './time.js';

export type NavKey = 'fleet' | 'monthly' | 'schedules' | 'notify' | 'accounts' | 'audit' | 'none';

export interface PageContext {
  t: T;
  lang: Lang;
  /** The path and query of this page (the language switch comes back to it). */
  path: string;
  signIn: SignIn | undefined;
  /** The county's time zone (footer note; default for stations without one). */
  tz: string;
}

export interface PageOptions {
  title: string;
  nav: NavKey;
  body: Html;
  /** Loads ECharts and the chart code. */
  charts?: boolean;
  /** Loads the client script without charts (push progress). */
  script?: boolean;
}

/** A time zone in the reader's words (北京时间, 乌鲁木齐时间), never its IANA name. */
export const zoneOf = (ctx: Pick<PageContext, 't' | 'lang'>, tz: string): string => zoneWords(ctx.t('zone.beijing'), ctx.lang, tz);

/** The CSRF field every form carries (bound to the session). */
export const csrfField = (ctx: PageContext): Html => html`<input type="hidden" name="_csrf" value="${ctx.signIn?.csrf ?? ''}">`;

export function page(ctx: PageContext, o: PageOptions): string {
  const { t } = ctx;
  const item = (key: Exclude<NavKey, 'none'>, href: string) =>
    html`<a href="${href}"${o.nav === key ? html` class="active" aria-current="page"` : ''}>${t(`nav.${key}`)}</a>`;
  const other: Lang = ctx.lang === 'zh' ? 'en' : 'zh';
  const s = ctx.signIn;
  const who = s && (s.town === null ? t('header.who', { user: s.user, role: label(t, 'role', s.role) }) : t('header.who_town', { user: s.user, role: label(t, 'role', s.role), town: s.town }));
  const scope = scopeOf(s);
  const user = s
    ? html`<span class="who">${who}</span>
        <form method="post" action="/logout" class="inline">${csrfField(ctx)}<button type="submit" class="link">${t('nav.logout')}</button></form>`
    : '';
  const scripts = o.charts
    ? html`<script src="/static/echarts.min.js"></script><script src="/static/console.js"></script>`
    : o.script
      ? html`<script src="/static/console.js"></script>`
      : '';
  return (
    '<!doctype html>\n' +
    html`<html lang="${ctx.lang === 'zh' ? 'zh-CN' : 'en'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · ${t('app.title')}</title><link rel="icon" type="image/svg+xml" href="/static/favicon.svg"><link rel="stylesheet" href="/static/console.css"></head>
<body>
<header class="top">
  <div class="brand">${t('app.title')}</div>
  <nav>${s ? [item('fleet', '/fleet'), item('monthly', '/monthly'), item('schedules', '/schedules'), scope.notifications !== 'none' ? item('notify', '/notify') : '', scope.canManageAccounts ? item('accounts', '/accounts') : '', scope.canReadAudit ? item('audit', '/audit') : ''] : ''}</nav>
  <div class="user">${user}<a class="lang" href="/lang${query({ to: other, back: ctx.path })}" lang="${other}">${t('nav.lang')}</a></div>
</header>
<main>
<h1>${o.title}</h1>
${o.body}
</main>
<footer>${zoneOf(ctx, ctx.tz) === t('zone.beijing') ? t('times.beijing') : t('times.note', { tz: zoneOf(ctx, ctx.tz) })}</footer>
${scripts}
</body></html>
`.text
  );
}

/** Page links of a paginated table, keeping the other query parameters. */
export function pager(t: T, base: string, params: Record<string, string | number | undefined>, pageNo: number, pages: number, rows: number): Html {
  if (pages <= 1) return html``;
  const link = (p: number, text: string) => html`<a href="${base}${query({ ...params, page: p })}">${text}</a>`;
  return html`<p class="pager">${pageNo > 1 ? link(pageNo - 1, t('page.prev')) : ''}
    <span>${t('page.info', { page: pageNo, pages, n: rows })}</span>
    ${pageNo < pages ? link(pageNo + 1, t('page.next')) : ''}</p>`;
}

/** A page number from the query: 1 when absent or not a positive integer, at most `pages`. */
export function pageNumber(raw: string, pages: number): number {
  const n = /^\d{1,6}$/.test(raw) ? Number(raw) : 1;
  return Math.min(Math.max(1, n), Math.max(1, pages));
}
