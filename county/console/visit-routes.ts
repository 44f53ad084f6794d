/**
 * Visits in the console: the lifecycle pass before the fleet or a station is shown (county/visit-sync.ts),
 * and `POST /visit`, an operator, admin or town account acknowledging (with an optional note) or clearing
 * an open item of a station it sees (access.ts), written to the audit log. Viewers see the items and get
 * no buttons; a POST of theirs is refused on the server (403), and so is a town account's for another
 * town's station (error.other_town), before anything changes.
 */
import type { FleetRow } from '../store.js';
import { VISIT_NOTE_MAX, type VisitRow } from '../visit-store.js';
import { syncVisits } from '../visit-sync.js';
import type { Ctx } from './context.js';
import { checkedForm } from './forms.js';
import { requireStation, scope } from './guard.js';
import { clientAddress, field, HttpError, localPath, redirect } from './http.js';

/**
 * The live items after bringing those of `rows` up to date. A pass that cannot write (the database
 * refuses) still shows the page, with the items as stored.
 */
export async function currentVisits(ctx: Ctx, rows: readonly FleetRow[], nowMs: number, stationId?: string): Promise<VisitRow[]> {
  const { store, rules, log } = ctx.parts;
  try {
    return (await syncVisits(store, rows, { nowMs, rules, countyTz: ctx.tz, ...(stationId !== undefined ? { stationId } : {}) })).visits;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'visit pass failed; showing the items as stored');
    return store.liveVisits(stationId);
  }
}

const STATION = /^[^\u0000-\u001f\u007f/+#]{1,128}$/;
const NOTE = /^[^\u0000-\u001f\u007f]*$/;

export async function visitAction(ctx: Ctx): Promise<void> {
  const form = await checkedForm(ctx);
  // Checked on the server whatever the page showed: a viewer's forged POST ends here.
  if (!scope(ctx).canHandleVisits) throw new HttpError(403, 'error.forbidden');
  const station = field(form, 'station', 128);
  const idText = field(form, 'id', 16);
  const action = field(form, 'do', 8);
  const note = field(form, 'note', VISIT_NOTE_MAX);
  if (!STATION.test(station) || !/^[1-9]\d{0,14}$/.test(idText) || (action !== 'ack' && action !== 'clear') || !NOTE.test(note)) throw new HttpError(400, 'error.bad_request');
  const back = localPath(field(form, 'back', 512), `/station?id=${encodeURIComponent(station)}`);
  // A station the account may see: 404 when there is none, another town's refused (403) before anything changes.
  await requireStation(ctx, station);
  const { store, log } = ctx.parts;
  const id = Number(idText);
  const item = (await store.liveVisits(station)).find((v) => v.id === id);
  // Checked again after the awaits above: an account changed or removed meanwhile does nothing.
  if (!ctx.signIn || !ctx.parts.accounts.stillValid(ctx.signIn)) throw new HttpError(403, 'error.forbidden');
  const { user } = ctx.signIn;
  const at = new Date(ctx.parts.now()).toISOString();
  const text = note === '' ? null : note;
  const done = action === 'ack' ? await store.acknowledgeVisit(station, id, user, text, at) : await store.clearVisit(station, id, user, at);
  // Cleared meanwhile (the station recovered, or another operator), or not this station's.
  if (!done) throw new HttpError(409, 'error.visit_gone');
  log.info({ user, station, visit: id, action }, action === 'ack' ? 'visit acknowledged' : 'visit cleared');
  await ctx.parts.audit.visit({ action, station, id, kind: item?.kind ?? null, note: action === 'ack' ? text : null }, user, clientAddress(ctx.req, ctx.parts.trustProxy));
  redirect(ctx.res, back);
}
