/**
 * A station's visit history on its page: the items cleared lately, why each was opened (as it was then),
 * when, and how it ended — by the station's own recovery, or cleared by an operator, with who
 * acknowledged it and their note.
 */
import type { VisitRow } from '../../visit-store.js';
import { causeOfRow } from '../../visit-lifecycle.js';
import { html, type Html } from '../html.js';
import type { PageContext } from '../layout.js';
import { localTime } from '../time.js';
import { causeText, kindLabel, visitStateHtml, type DeviceWords } from '../visit-words.js';

/** Cleared items shown: the page is about now; the store keeps them for VISIT_HISTORY_DAYS. */
export const VISIT_HISTORY_SHOWN = 20;

export function visitHistoryHtml(ctx: PageContext, rows: readonly VisitRow[], tz: string, device?: DeviceWords): Html {
  const { t } = ctx;
  const cleared = rows.filter((r) => r.cleared_at !== null).slice(0, VISIT_HISTORY_SHOWN);
  if (cleared.length === 0) return html``;
  const lines = cleared.map((r) => {
    const c = causeOfRow(r);
    const acked = r.acked_at !== null ? html`<div class="muted">${t('visit.state.acknowledged', { by: r.acked_by ?? '', time: localTime(r.acked_at, tz) })}</div>` : '';
    return html`<tr data-visit="${r.id}" data-visit-state="cleared"><td>${localTime(r.opened_at, tz)}</td><td>${c ? causeText(ctx, c, tz, true, device) : kindLabel(t, r.kind)}</td><td>${visitStateHtml(ctx, r, tz)}${acked}</td></tr>`;
  });
  return html`<h3>${t('station.visit_history')}</h3><table id="visit-history"><thead><tr><th>${t('col.opened')}</th><th>${t('col.cause')}</th><th>${t('col.outcome')}</th></tr></thead><tbody>${lines}</tbody></table>`;
}
