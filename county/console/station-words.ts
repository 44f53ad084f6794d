/**
 * What stations send, in the clerk's language. Stations send English texts beside stable codes (a
 * device's `errors[].code`, an event's `type` and `data`); the console shows the words stationctl shows
 * for those codes, from the shared words (protocol/words/).
 * A code this console does not know falls back to the station's own text, marked as such, so a clerk
 * can tell a station's English from a translation; the station's text is kept as a tooltip otherwise.
 */
import { eventWords } from '../../protocol/words/events.js';
import { faultWords, type Words } from '../../protocol/words/faults.js';
import { wordsTranslator, type Translate } from '../../protocol/words/index.js';
import { esc, html, Html } from './html.js';
import type { ConsoleKey, Lang, T } from './i18n.js';
import { isTimeZone } from './time.js';

const WORDS_T: Record<Lang, Translate> = { zh: wordsTranslator('zh'), en: wordsTranslator('en') };

/** A station's text is shown up to this long: it is untrusted and a table cell is small. */
const MAX_STATION_TEXT = 300;
export const clip = (s: string): string => (s.length > MAX_STATION_TEXT ? `${s.slice(0, MAX_STATION_TEXT)}…` : s);

/**
 * Items of one kind (faults of a device, faulty devices of a station, devices on its page) shown per
 * station: whatever one station stores, it cannot make a page grow without bound. The rest is counted
 * in a "+k more" marker.
 */
export const MAX_ITEMS = 10;

/** The first `max` items and how many are left out. */
export function capped<X>(items: readonly X[], max: number = MAX_ITEMS): { shown: readonly X[]; more: number } {
  return items.length > max ? { shown: items.slice(0, max), more: items.length - max } : { shown: items, more: 0 };
}

/** The "+k more" marker (另有 k 项), or nothing when none is left out. */
export function moreHtml(t: T, more: number): Html {
  return more > 0 ? html` <span class="more" data-more="${more}">${t('list.more', { n: more })}</span>` : html``;
}

export interface WordsContext {
  t: T;
  lang: Lang;
}

/** The station's own text, visibly marked (a tag before it, the text in quotes, a note on hover). */
export function ownWords(t: T, text: string): Html {
  return html`<span class="own" title="${t('own.title')}"><span class="own-tag">${t('own.tag')}</span> <q>${clip(text)}</q></span>`;
}

/** Words as markup: ours plainly (with the station's text on hover when it differs), or the station's, marked. */
export function wordsHtml(t: T, w: Words, stationText?: string): Html {
  if (w.own) return ownWords(t, w.text);
  // Our words may quote the station's data (ids, values): clipped like its own text.
  return stationText && stationText !== w.text ? html`<span title="${clip(stationText)}">${clip(w.text)}</span>` : html`${clip(w.text)}`;
}

export type WireFault = { code: string; severity: string; text: string };

export function faultHtml(ctx: WordsContext, f: WireFault): Html {
  return wordsHtml(ctx.t, faultWords(WORDS_T[ctx.lang], f), f.text);
}

/** A device's faults, joined as the language joins a list: the first MAX_ITEMS and a "+k more" (with `unread`, those the store did not read). */
export function faultsHtml(ctx: WordsContext, faults: readonly WireFault[], unread = 0): Html {
  const { shown, more } = capped(faults);
  return html`${shown.map((f, i) => html`${i ? ctx.t('list.sep') : ''}${faultHtml(ctx, f)}`)}${moreHtml(ctx.t, more + unread)}`;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** An event row as stored (read off the wire: anything may be missing) in the reader's words. */
export function eventHtml(ctx: WordsContext, e: Record<string, unknown>, tz: string): Html {
  const data = e['data'] && typeof e['data'] === 'object' && !Array.isArray(e['data']) ? (e['data'] as Record<string, unknown>) : undefined;
  const boot = typeof e['boot'] === 'number' ? e['boot'] : undefined;
  const w = eventWords(WORDS_T[ctx.lang], ctx.lang, { type: str(e['type']), severity: str(e['severity']), message: str(e['message']), data, boot }, isTimeZone(tz) ? tz : 'Asia/Shanghai');
  return wordsHtml(ctx.t, w, str(e['message']));
}

/**
 * A catalogue text whose `{name}`s are filled with markup: `visit.fault` with a fault's words. The text
 * around the parameters is escaped, Html parameters are kept, others escaped.
 */
export function tHtml(t: T, key: ConsoleKey, params: Record<string, Html | string | number>): Html {
  const parts = t(key).split(/\{(\w+)\}/);
  return new Html(parts.map((p, i) => (i % 2 === 0 ? esc(p) : p in params ? html`${params[p]}`.text : esc(`{${p}}`))).join(''));
}
