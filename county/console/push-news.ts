/**
 * A viewing schedule the console pushed to a town or to every station, told to the groups of the towns
 * it went to (county/notify/): queued in the same durable queue the collector sends from, routed by the
 * targets the collector wrote into the database from its notify file. The schedule as people read it
 * (days, time, what to play), in both languages; each group gets its own.
 */
import type { News } from '../notify/queue.js';
import { route } from '../notify/config.js';
import type { Notice } from '../notify/messages.js';
import type { NotifyStore } from '../notify/queue.js';
import type { StationRow } from '../store.js';
import type { Ctx } from './context.js';
import { consoleTranslator } from './i18n.js';
import { pushWords } from './pages/audit.js';

export type PushTarget = { target: 'station' | 'town' | 'all'; town: string };

/** The notices of one push: one for the town, or for "all" each town's for its groups and one for the county's. */
export function pushNotices(to: PushTarget, args: Record<string, unknown>, sent: readonly Pick<StationRow, 'station_id' | 'town'>[]): Notice[] {
  if (to.target === 'station' || sent.length === 0) return [];
  const what = { what_zh: pushWords(consoleTranslator('zh'), args), what_en: pushWords(consoleTranslator('en'), args) };
  const notice = (town: string | null, stations: number, townGroupsOnly: boolean): Notice => ({
    kind: 'schedule_pushed',
    town,
    station_id: null,
    station_name: null,
    ...(townGroupsOnly ? { town_groups_only: true } : {}),
    detail: { stations, ...what },
  });
  if (to.target === 'town') return [notice(to.town === '' ? null : to.town, sent.length, false)];
  const towns = new Map<string | null, number>();
  for (const s of sent) towns.set(s.town, (towns.get(s.town) ?? 0) + 1);
  return [...[...towns].filter(([town]) => town !== null).map(([town, n]) => notice(town, n, true)), notice(null, sent.length, false)];
}

/** Queues the push's news for every target that hears it; resolves with how many messages were queued. */
export async function queuePushNews(store: NotifyStore, to: PushTarget, args: Record<string, unknown>, sent: readonly Pick<StationRow, 'station_id' | 'town'>[], nowMs: number): Promise<number> {
  const notices = pushNotices(to, args, sent);
  if (notices.length === 0) return 0;
  const items = route(await store.notifyTargets(), notices);
  const news: News = { items };
  if (items.length) await store.enqueueNews([news], nowMs);
  return items.length;
}

/**
 * After a push was sent (and written to the audit log): the towns' groups hear of it, through the queue the
 * collector sends from. The push stands whatever happens here: a failure is logged, not shown.
 */
export async function tellGroupsOfPush(ctx: Ctx, chosen: PushTarget, args: Record<string, unknown>, sent: readonly string[]): Promise<void> {
  try {
    const ids = new Set(sent);
    const stations = (await ctx.parts.store.stations()).filter((s) => ids.has(s.station_id));
    // A town account's "all stations" is all of its town's: told as a push to that town, not to the county.
    const town = ctx.signIn?.role === 'town' && chosen.target === 'all' ? ctx.signIn.town : null;
    const to: PushTarget = town !== null ? { target: 'town', town } : chosen;
    await queuePushNews(ctx.parts.store.notify, to, args, stations, ctx.parts.now());
  } catch (err) {
    ctx.parts.log.error({ err: (err as Error).message }, 'could not queue the group notifications of a push');
  }
}
