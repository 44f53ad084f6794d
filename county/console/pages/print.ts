/**
 * The monthly 通报 ready to print on A4 (the browser's own print, or a PDF): the towns with the county
 * total, then each town's stations ranked with its subtotal, and the county total last. The pages are cut
 * here, PRINT_ROWS rows to a sheet, each sheet one printed page (print.css: `break-after: page`) with the
 * title, its section, the table header, its page number of all and the rounding rule: what a page holds
 * does not depend on the browser's pagination, and a clerk's printout reads the same as the test's PDF.
 */
import type { Bulletin, RankedStation } from '../../bulletin.js';
import { ROUNDING_RULE, hoursText, type MonthlyTotals } from '../../report.js';
import { html, query, type Html } from '../html.js';
import type { Lang, T } from '../i18n.js';
import type { PageContext } from '../layout.js';
import { clip } from '../station-words.js';

/** Table rows on one printed page (A4 or Letter, portrait, 9 pt rows of 6.2 mm). */
export const PRINT_ROWS = 30;
/** Stations in one document; a larger county prints town by town. */
export const MAX_PRINT_STATIONS = 3_000;

interface Section {
  heading: string;
  head: Html;
  rows: Html[];
}

const chunks = <X>(xs: readonly X[], n: number): X[][] => (xs.length === 0 ? [[]] : Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, (i + 1) * n)));

const figures = (x: MonthlyTotals): Html =>
  html`<td class="num">${x.sessions}</td><td class="num">${hoursText(x.hours_100)}</td><td class="num">${hoursText(x.signal_hours_100)}</td><td class="num">${x.short_sessions}</td><td class="num">${hoursText(x.short_hours_100)}</td>`;

/** Short headers (a printed column is 18 mm): the unit is in the header itself. */
function figureHeads(t: T): Html {
  return html`<th class="num">${t('print.sessions')}</th><th class="num">${t('print.hours')}</th><th class="num">${t('print.signal_hours')}</th><th class="num">${t('print.short_sessions')}</th><th class="num">${t('print.short_hours')}</th>`;
}

/** The sections of the 通报, before they are cut into pages. */
export function sections(t: T, b: Bulletin, withStations: boolean): Section[] {
  const target = b.target !== null;
  const townName = (town: string | null) => (town === null ? t('monthly.no_town') : clip(town));
  const tot = b.report.total;
  const towns: Section = {
    heading: t('bulletin.towns'),
    head: html`<tr><th class="name">${t('col.town')}</th><th class="num">${t('col.stations')}</th>${figureHeads(t)}<th class="num">${t('print.no_activity')}</th>${target ? html`<th class="num">${t('print.met_stations')}</th>` : ''}</tr>`,
    rows: [
      ...b.towns.map(
        (x) => html`<tr data-town="${x.town.town ?? ''}"><td class="name">${townName(x.town.town)}</td><td class="num">${x.town.stations}</td>${figures(x.town)}<td class="num">${x.town.stations_no_activity}</td>${target ? html`<td class="num">${x.met}</td>` : ''}</tr>`,
      ),
      html`<tr class="total" data-total="county"><th class="name">${t('monthly.total')}</th><td class="num">${tot.stations}</td>${figures(tot)}<td class="num">${tot.stations_no_activity}</td>${target ? html`<td class="num">${b.met}</td>` : ''}</tr>`,
    ],
  };
  if (!withStations) return [towns];
  const width = 7 + (target ? 3 : 0);
  const station = (s: RankedStation) =>
    html`<tr data-station="${s.row.station_id}"><td class="num">${s.rank}</td><td class="name">${clip(s.row.name ?? s.row.station_id)}</td>${figures(s.row)}${
      target ? html`<td class="num">${s.sessions_pct}%</td><td class="num">${s.hours_pct}%</td><td>${t(s.met ? 'yes' : 'no')}</td>` : ''
    }</tr>`;
  const rows = b.towns.flatMap((x) => [
    html`<tr class="town"><th colspan="${width}" class="name">${townName(x.town.town)}</th></tr>`,
    ...x.stations.map(station),
    html`<tr class="subtotal" data-subtotal="${x.town.town ?? ''}"><td></td><th class="name">${t('bulletin.subtotal', { town: townName(x.town.town) })}</th>${figures(x.town)}${target ? html`<td></td><td></td><td class="num">${x.met}</td>` : ''}</tr>`,
  ]);
  rows.push(html`<tr class="total" data-total="county"><td></td><th class="name">${t('monthly.total')}</th>${figures(tot)}${target ? html`<td></td><td></td><td class="num">${b.met}</td>` : ''}</tr>`);
  const stations: Section = {
    heading: t('bulletin.stations'),
    head: html`<tr><th class="num rank">${t('col.rank')}</th><th class="name">${t('col.station')}</th>${figureHeads(t)}${
      target ? html`<th class="num">${t('print.sessions_pct')}</th><th class="num">${t('print.hours_pct')}</th><th>${t('col.met')}</th>` : ''
    }</tr>`,
    rows,
  };
  return [towns, stations];
}

/** How many printed pages the 通报 takes (what the sheets below make). */
export const printedPages = (secs: readonly Section[]): number => secs.reduce((n, s) => n + chunks(s.rows, PRINT_ROWS).length, 0);

export interface PrintOptions {
  title: string;
  /** The town printed alone (`?town=`), '' for the county. */
  town: string;
  month: string;
}

export function renderPrint(ctx: PageContext, b: Bulletin, o: PrintOptions): string {
  const { t } = ctx;
  const tooMany = o.town === '' && b.report.stations.length > MAX_PRINT_STATIONS;
  const secs = sections(t, b, !tooMany);
  const pages = printedPages(secs);
  const rule = html`<p class="rule">${ROUNDING_RULE[ctx.lang]} ${
    b.target ? t('bulletin.target', { sessions: b.target.sessions, hours: (b.target.hours_100 / 100).toFixed(2) }) : t('bulletin.no_target')
  }</p>`;
  let n = 0;
  const sheets = secs.flatMap((s) =>
    chunks(s.rows, PRINT_ROWS).map((rows) => {
      n++;
      return html`<section class="sheet" data-page="${n}">
<header><h1>${o.title}</h1><p class="section"><span>${s.heading}</span><span class="page-no">${t('bulletin.page', { page: n, pages })}</span></p></header>
<div class="scroll"><table><thead>${s.head}</thead><tbody>${rows}</tbody></table></div>
${rule}
</section>`;
    }),
  );
  const other: Lang = ctx.lang === 'zh' ? 'en' : 'zh';
  const towns = tooMany
    ? html`<p class="warn" id="too-many">${t('bulletin.too_many', { n: b.report.stations.length })}</p><p class="towns">${b.towns.map(
        (x) => html`<a href="/monthly/print${query({ month: o.month, town: x.town.town ?? '' })}">${x.town.town === null ? t('monthly.no_town') : clip(x.town.town)}</a> `,
      )}</p>`
    : '';
  return (
    '<!doctype html>\n' +
    html`<html lang="${ctx.lang === 'zh' ? 'zh-CN' : 'en'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title}</title><link rel="icon" type="image/svg+xml" href="/static/favicon.svg"><link rel="stylesheet" href="/static/print.css"></head>
<body class="print" data-pages="${pages}">
<nav class="toolbar">
  <a href="/monthly${query({ month: o.month, town: o.town || undefined })}">${t('bulletin.back')}</a>
  <button type="button" data-print>${t('bulletin.print')}</button>
  <a href="/monthly.xlsx${query({ month: o.month, town: o.town || undefined })}">${t('monthly.xlsx')}</a>
  <a class="lang" href="/lang${query({ to: other, back: ctx.path })}" lang="${other}">${t('nav.lang')}</a>
  <p>${t('bulletin.print_hint')}</p>${towns}
</nav>
${sheets}
<script src="/static/console.js"></script>
</body></html>
`.text
  );
}
