/**
 * Visits in the console: the lifecycle pass before the fleet or a station is shown (county/visit-sync.ts),
 * and `POST /visit`, an operator acknowledging (with an optional note) or clearing an open item. Viewers
 * see the items and get no buttons; a POST of theirs is refused on the server (403).
 */
import type { FleetRow } from '../store.js';
import { VISIT_NOTE_MAX, type VisitRow } from '../visit-store.js';
import { syncVisits } from '../visit-sync.js';
import type { Ctx } from './context.js';
import { checkedForm } from './forms.js';
import { field, HttpError, localPath, redirect } from './http.js';

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
  if (ctx.signIn?.role !== 'operator') throw new HttpError(403, 'error.forbidden');
  const station = field(form, 'station', 128);
  const idText = field(form, 'id', 16);
  const action = field(form, 'do', 8);
  const note = field(form, 'note', VISIT_NOTE_MAX);
  if (!STATION.test(station) || !/^[1-9]\d{0,14}$/.test(idText) || (action !== 'ack' && action !== 'clear') || !NOTE.test(note)) throw new HttpError(400, 'error.bad_request');
  const back = localPath(field(form, 'back', 512), `/station?id=${encodeURIComponent(station)}`);
  // Checked again after reading the form: an account changed or removed meanwhile does nothing.
  if (!ctx.parts.accounts.stillValid(ctx.signIn)) throw new HttpError(403, 'error.forbidden');
  const { user } = ctx.signIn;
  const { store, log } = ctx.parts;
  const at = new Date(ctx.parts.now()).toISOString();
  const id = Number(idText);
  const done = action === 'ack' ? await store.acknowledgeVisit(station, id, user, note === '' ? null : note, at) : await store.clearVisit(station, id, user, at);
  // Cleared meanwhile (the station recovered, or another operator), or not this station's.
  if (!done) throw new HttpError(409, 'error.visit_gone');
  log.info({ user, station, visit: id, action }, action === 'ack' ? 'visit acknowledged' : 'visit cleared');
  redirect(ctx.res, back);
}
