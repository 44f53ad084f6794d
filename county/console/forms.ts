/** The door every POST of a signed-in page goes through. */
import type { Ctx } from './context.js';
import { field, HttpError, readForm, sameOrigin } from './http.js';
import { sameToken } from './sign-ins.js';

/** Every POST: from our own origin, with the session's CSRF token. */
export async function checkedForm(ctx: Ctx): Promise<URLSearchParams> {
  const form = await readForm(ctx.req);
  if (!sameOrigin(ctx.req) || !sameToken(field(form, '_csrf', 128), ctx.signIn?.csrf)) throw new HttpError(403, 'error.csrf');
  return form;
}
