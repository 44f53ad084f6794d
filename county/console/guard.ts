/**
 * The routes' guards over access.ts: each refuses what the signed-in account may not see or do, on the
 * server, whatever the page offered. Another town's station or town is refused with 403 and a message
 * naming the account's own town (error.other_town), in the reader's language.
 */
import type { StationRow } from '../store.js';
import { scopeOf, seesStation, seesTown, visible, type Scope } from './access.js';
import type { Ctx } from './context.js';
import { HttpError } from './http.js';

/** The request's scope. */
export const scope = (ctx: Ctx): Scope => scopeOf(ctx.signIn);

/** A refusal naming the account's town, in the reader's language (error.other_town). */
function otherTown(ctx: Ctx): HttpError {
  return new HttpError(403, 'error.other_town', { town: ctx.signIn?.town ?? '' });
}

/** Every station the request may see, by town then id (the store's order). */
export async function visibleStations(ctx: Ctx): Promise<StationRow[]> {
  return visible(scope(ctx), await ctx.parts.store.stations());
}

/** The station `id` when the request may see it: 404 when there is none, 403 when it is another town's. */
export async function requireStation(ctx: Ctx, id: string): Promise<StationRow> {
  const row = id === '' ? undefined : await ctx.parts.store.station(id);
  if (!row) throw new HttpError(404, 'error.not_found');
  if (!seesStation(scope(ctx), row)) throw otherTown(ctx);
  return row;
}

/** A `town` filter from a query (fleet, monthly, its CSV): '' for none; another town's is refused (403). */
export function requireTownFilter(ctx: Ctx, town: string): string {
  const s = scope(ctx);
  if (town !== '' && s.towns !== null && !s.towns.has(town)) throw otherTown(ctx);
  return town;
}

/**
 * Before anything is signed: the account may push, and to every one of `stationIds` (each must exist
 * and be in its towns). Refuses the whole push (403) when one is not; call with the resolved targets.
 */
export async function requirePush(ctx: Ctx, stationIds: readonly string[]): Promise<void> {
  const s = scope(ctx);
  if (!s.canPush) throw new HttpError(403, 'error.forbidden');
  if (s.towns === null) return;
  const towns = new Map((await ctx.parts.store.stations()).map((r) => [r.station_id, r.town]));
  if (stationIds.some((id) => !towns.has(id) || !seesTown(s, towns.get(id) ?? null))) throw otherTown(ctx);
}

export function requireAdmin(ctx: Ctx): void {
  if (!scope(ctx).canManageAccounts) throw new HttpError(403, 'error.forbidden');
}

export function requireAudit(ctx: Ctx): void {
  if (!scope(ctx).canReadAudit) throw new HttpError(403, 'error.forbidden');
}
