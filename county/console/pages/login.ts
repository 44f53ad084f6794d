/** The sign-in page and the error page. */
import { html } from '../html.js';
import type { ConsoleKey } from '../i18n.js';
import { page, type PageContext } from '../layout.js';

/** `loginToken` is the double-submit CSRF token of the login form (its cookie is set with the page). */
export function renderLogin(ctx: PageContext, loginToken: string, back: string, problem?: { key: ConsoleKey; params?: Record<string, string | number> }, user = ''): string {
  const { t } = ctx;
  const body = html`
${problem ? html`<p class="problems" role="alert" id="login-problem">${t(problem.key, problem.params)}</p>` : ''}
<form method="post" action="/login" class="login" id="login">
  <input type="hidden" name="_csrf" value="${loginToken}">
  <input type="hidden" name="back" value="${back}">
  <label>${t('login.user')} <input name="user" value="${user}" autocomplete="username" maxlength="32" required autofocus></label>
  <label>${t('login.password')} <input type="password" name="password" autocomplete="current-password" maxlength="256" required></label>
  <button type="submit" class="primary">${t('login.submit')}</button>
</form>`;
  return page(ctx, { title: t('login.title'), nav: 'none', body });
}

export function renderError(ctx: PageContext, key: ConsoleKey, params?: Record<string, string | number>): string {
  return page(ctx, { title: ctx.t(key, params), nav: 'none', body: html`<p><a href="/fleet">${ctx.t('nav.fleet')}</a></p>` });
}
