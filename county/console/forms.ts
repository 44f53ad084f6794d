/** Every POST the console takes: from our own origin, with the session's CSRF token (else 403). */
import type { Ctx } from './context.js';
import { field, HttpError, readForm, sameOrigin } from './http.js';
import { sameToken } from './sign-ins.js';

export async function checkedForm(ctx: Ctx): Promise<URLSearchParams> {
  const form = await readForm(ctx.req);
  if (!sameOrigin(ctx.req) || !sameToken(field(form, '_csrf', 128), ctx.signIn?.csrf)) throw new HttpError(403, 'error.csrf');
  return form;
}
