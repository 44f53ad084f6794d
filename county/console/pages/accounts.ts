/**
 * 账号管理 (admins only: guard.ts requireAdmin): every account with its role and town, a form to add one,
 * and per account a page to change its role and town, reset its password, or remove it after a
 * confirmation page. Every form carries the session's CSRF token; no hash ever reaches a page.
 */
import { ROLES, type Account, type Role } from '../accounts.js';
import { html, query, type Html } from '../html.js';
import { label, type ConsoleKey } from '../i18n.js';
import { csrfField, page, type PageContext } from '../layout.js';
import { clip } from '../station-words.js';

/** A problem to show above a form: a catalogue key, or a text already in the reader's language (the password policy's). */
export type AccountProblem = { key: ConsoleKey; params?: Record<string, string | number> } | { text: string };

export interface AccountsData {
  accounts: readonly Account[];
  /** Stations per town (the towns stations report), for the town field and the list. */
  towns: ReadonlyMap<string, number>;
}

const DONE = ['added', 'role', 'password', 'removed'] as const;
export type Done = (typeof DONE)[number];
export const isDone = (v: string): v is Done => (DONE as readonly string[]).includes(v);

function problemsHtml(ctx: PageContext, problem: AccountProblem | undefined): Html | string {
  if (!problem) return '';
  const text = 'text' in problem ? problem.text : ctx.t(problem.key, problem.params);
  return html`<div class="problems" role="alert" id="account-problem"><p>${text}</p></div>`;
}

const roleOptions = (ctx: PageContext, selected: string): Html[] =>
  ROLES.map((r) => html`<option value="${r}"${r === selected ? html` selected` : ''}>${label(ctx.t, 'role', r)}</option>`);

function townField(ctx: PageContext, d: AccountsData, value: string): Html {
  return html`<label>${ctx.t('field.town_of')} <input name="town" value="${value}" maxlength="256" list="known-towns" autocomplete="off"></label>
<datalist id="known-towns">${[...d.towns.keys()].map((town) => html`<option value="${clip(town)}">`)}</datalist>`;
}

export interface AddValues {
  name: string;
  role: string;
  town: string;
}

export function renderAccounts(ctx: PageContext, d: AccountsData, o: { done?: { what: Done; name: string }; problem?: AccountProblem; add?: AddValues } = {}): string {
  const { t } = ctx;
  const me = ctx.signIn?.user;
  const add = o.add ?? { name: '', role: 'viewer', town: '' };
  const rows = d.accounts.map((a) => {
    const n = a.town === null ? undefined : (d.towns.get(a.town) ?? 0);
    return html`<tr data-account="${a.name}" data-role="${a.role}"><td>${a.name}${a.name === me ? html` <span class="muted">${t('accounts.you')}</span>` : ''}</td>
      <td>${label(t, 'role', a.role)}</td><td>${a.town === null ? t('none') : clip(a.town)}</td>
      <td class="num">${n === undefined ? '' : n === 0 ? html`<span class="warn" title="${t('accounts.town_none')}">0</span>` : n}</td>
      <td><a href="/accounts/edit${query({ name: a.name })}">${t('accounts.change')}</a></td></tr>`;
  });
  const done = o.done ? html`<p class="summary" role="status" id="account-done">${t(`accounts.done.${o.done.what}`, { name: o.done.name })}</p>` : '';
  const body = html`${done}
<section><h2>${t('accounts.list')}</h2>
<p class="muted">${t('accounts.roles_help')}</p>
<table id="accounts"><thead><tr><th>${t('col.account')}</th><th>${t('col.role')}</th><th>${t('col.town_bound')}</th><th>${t('col.town_stations')}</th><th></th></tr></thead>
<tbody>${rows}</tbody></table></section>
<section><h2>${t('accounts.add')}</h2>${problemsHtml(ctx, o.problem)}
<form method="post" action="/accounts/add" class="account-form" id="account-add">${csrfField(ctx)}
  <label>${t('field.user')} <input name="name" value="${add.name}" maxlength="32" pattern="[a-z0-9][a-z0-9_.\\-]{0,31}" required autocomplete="off"><span class="muted">${t('accounts.name_hint')}</span></label>
  <label>${t('field.role')} <select name="role">${roleOptions(ctx, add.role)}</select></label>
  ${townField(ctx, d, add.town)}
  <label>${t('field.password')} <input type="password" name="password" maxlength="256" required autocomplete="new-password"><span class="muted">${t('accounts.password_hint')}</span></label>
  <label>${t('field.password2')} <input type="password" name="password2" maxlength="256" required autocomplete="new-password"></label>
  <button type="submit" class="primary">${t('accounts.add_submit')}</button>
</form></section>`;
  return page(ctx, { title: t('accounts.title'), nav: 'accounts', body });
}

export function renderAccountEdit(ctx: PageContext, d: AccountsData, a: Account, problem?: AccountProblem, values?: { role: string; town: string }): string {
  const { t } = ctx;
  const v = values ?? { role: a.role, town: a.town ?? '' };
  const body = html`<p><a href="/accounts">${t('accounts.back')}</a></p>${problemsHtml(ctx, problem)}
<section><h2>${t('accounts.role_title')}</h2>
<form method="post" action="/accounts/role" class="account-form" id="account-role">${csrfField(ctx)}<input type="hidden" name="name" value="${a.name}">
  <label>${t('field.role')} <select name="role">${roleOptions(ctx, v.role)}</select></label>
  ${townField(ctx, d, v.town)}
  <button type="submit">${t('accounts.role_submit')}</button>
</form></section>
<section><h2>${t('accounts.reset')}</h2><p class="muted">${t('accounts.reset_note')}</p>
<form method="post" action="/accounts/password" class="account-form" id="account-password">${csrfField(ctx)}<input type="hidden" name="name" value="${a.name}">
  <label>${t('field.password')} <input type="password" name="password" maxlength="256" required autocomplete="new-password"><span class="muted">${t('accounts.password_hint')}</span></label>
  <label>${t('field.password2')} <input type="password" name="password2" maxlength="256" required autocomplete="new-password"></label>
  <button type="submit">${t('accounts.reset_submit')}</button>
</form></section>
<section><h2>${t('accounts.remove')}</h2>
<p><a class="button danger" id="account-remove" href="/accounts/remove${query({ name: a.name })}">${t('accounts.remove')}</a></p></section>`;
  return page(ctx, { title: t('accounts.edit_title', { name: a.name }), nav: 'accounts', body });
}

/** The confirmation before a removal: nothing is removed until this form is sent. */
export function renderAccountRemove(ctx: PageContext, a: Account): string {
  const { t } = ctx;
  const body = html`<div class="note" role="alert"><p>${t('accounts.remove_confirm', { name: a.name })}</p>
<p>${label(t, 'role', a.role)}${a.town === null ? '' : html` · ${clip(a.town)}`}</p>
<form method="post" action="/accounts/remove" class="inline" id="account-remove-confirm">${csrfField(ctx)}<input type="hidden" name="name" value="${a.name}"><input type="hidden" name="confirm" value="yes">
  <button type="submit" class="primary danger">${t('accounts.remove_submit')}</button></form>
<a class="button" href="/accounts/edit${query({ name: a.name })}">${t('accounts.cancel')}</a></div>`;
  return page(ctx, { title: t('accounts.remove_title', { name: a.name }), nav: 'accounts', body });
}

export const roleOf = (v: string): Role | undefined => (ROLES as readonly string[]).includes(v) ? (v as Role) : undefined;
