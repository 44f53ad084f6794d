/**
 * The group notifications page (通知, pages/notify.ts) and its test button. Who sees what (access.ts
 * `notifications`): operators and admins everything (the robots, masked, with their last result and a
 * test button, the queue, what will never be sent); viewers the history of what was sent; town accounts
 * nothing: the history and the targets name every town's groups and stations, and a town's clerk reads
 * the town's own messages in the town's group.
 */
import type { Ctx } from './context.js';
import { sendHtml } from './context.js';
import { checkedForm } from './forms.js';
import { scope } from './guard.js';
import { clientAddress, field, HttpError, param, redirect } from './http.js';
import { NOTIFY_ROWS, renderNotify } from './pages/notify.js';

const TARGET_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export async function notifyPage(ctx: Ctx): Promise<void> {
  const level = scope(ctx).notifications;
  if (level === 'none') throw new HttpError(403, 'error.forbidden');
  const q = ctx.parts.store.notify;
  const operator = level === 'all';
  const history = await q.notifyHistory(NOTIFY_ROWS);
  if (!operator) {
    sendHtml(ctx, 200, renderNotify(ctx, { operator, targets: [], counts: [], queued: [], failed: [], history, tested: null }));
    return;
  }
  const [targets, counts, queued, failed] = await Promise.all([q.notifyTargets(), q.notifyCounts(), q.notifyQueued(NOTIFY_ROWS), q.notifyFailed(NOTIFY_ROWS)]);
  const tested = param(ctx.url, 'tested', 64);
  sendHtml(ctx, 200, renderNotify(ctx, { operator, targets, counts, queued, failed, history, tested: targets.some((t) => t.id === tested) ? tested : null }));
}

/** "Send a test message": queued for the collector to send, to one target the notify file names; in the audit log. */
export async function notifyTest(ctx: Ctx): Promise<void> {
  const form = await checkedForm(ctx);
  if (scope(ctx).notifications !== 'all' || !ctx.signIn) throw new HttpError(403, 'error.forbidden');
  const id = field(form, 'target', 64);
  const q = ctx.parts.store.notify;
  if (!TARGET_ID.test(id) || !(await q.notifyTargets()).some((t) => t.id === id)) throw new HttpError(400, 'error.bad_request');
  await q.enqueue([{ target: id, notice: { kind: 'test', town: null, station_id: null, station_name: null } }], ctx.parts.now());
  ctx.parts.log.info({ target: id, user: ctx.signIn.user }, 'test message queued');
  await ctx.parts.audit.notifyTest(id, ctx.signIn.user, clientAddress(ctx.req, ctx.parts.trustProxy));
  redirect(ctx.res, `/notify?tested=${encodeURIComponent(id)}`);
}
