/**
 * The monthly progress table (进度表): the CLI report's numbers (county/report.ts monthlyReport,
 * the same function), per town and per station, a chart per town, and the CSV download with Chinese
 * headers (the CLI's monthlyCsv with its header row and row kinds translated); links to the 通报 as an
 * .xlsx and as a print page (routes-bulletin.ts), of the county or of the town shown. Each town's own page
 * (?town=…) charts its stations; the overview charts the towns.
 */
import { MONTHLY_CSV_HEADER, ROUNDING_RULE, hoursText, monthlyCsv, type MonthlyReport, type MonthlyStationRow, type MonthlyTotals } from '../../report.js';
import { chart } from '../charts.js';
import { html, query } from '../html.js';
import type { ConsoleKey, Lang, T } from '../i18n.js';
import { page, pageNumber, pager, type PageContext } from '../layout.js';
import { DEFAULT_TIMEZONE } from '../../report.js';
import { clip } from '../station-words.js';

const PAGE_SIZE = 50;

/** `YYYY-MM` moved by `delta` months. */
export function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const i = y * 12 + (m - 1) + delta;
  return `${Math.floor(i / 12)}-${String((i % 12) + 1).padStart(2, '0')}`;
}

/** The months offered: the last 24 up to this month, and the one shown (a select works in every browser). */
export function monthChoices(shown: string, thisMonth: string): string[] {
  const months = Array.from({ length: 24 }, (_, i) => shiftMonth(thisMonth, -i));
  return months.includes(shown) ? months : [shown, ...months];
}

/** 2026年11月 / 2026-11. */
const monthLabel = (t: T, lang: Lang, m: string): string => t('monthly.option', { year: m.slice(0, 4), month: lang === 'zh' ? String(Number(m.slice(5))) : m.slice(5) });

/**
 * The report's CSV in the clerk's language: translated header and row kinds, a BOM in both languages
 * (Excel on a Chinese Windows reads a CSV without one in the local code page and garbles the names), and
 * the month as words Excel leaves as text (a bare 2026-12 becomes a date).
 */
export function localisedMonthlyCsv(report: MonthlyReport, t: T, lang: Lang): string {
  const csv = monthlyCsv(report);
  const header = MONTHLY_CSV_HEADER.map((h) => t(`csv.${h}` as ConsoleKey)).join(',');
  const kinds: Record<string, string> = { station: t('csv.row_station'), town: t('csv.row_town'), total: t('csv.row_total') };
  const month = t('csv.month_text', { year: report.month.slice(0, 4), mm: report.month.slice(5) });
  const body = csv
    .slice(csv.indexOf('\n') + 1)
    .replace(/^(\d{4}-\d{2}),(station|town|total),/gm, (_m, _month: string, kind: string) => `${month},${kinds[kind]},`);
  return '\uFEFF' + header + '\n' + body;
}

const cells = (x: MonthlyTotals) =>
  html`<td class="num">${x.sessions}</td><td class="num">${hoursText(x.hours_100)}</td><td class="num">${hoursText(x.signal_hours_100)}</td><td class="num">${x.short_sessions}</td><td class="num">${hoursText(x.short_hours_100)}</td>`;

export function renderMonthly(ctx: PageContext, report: MonthlyReport, townFilter: string, pageRaw: string, thisMonth: string): string {
  const { t } = ctx;
  const townName = (town: string | null) => (town === null ? t('monthly.no_town') : clip(town));
  const heads = html`<th>${t('col.sessions')}</th><th>${t('col.hours')}</th><th>${t('col.signal_hours')}</th><th>${t('col.short_sessions')}</th><th>${t('col.short_hours')}</th>`;
  const picked = townFilter === '' ? undefined : report.towns.find((x) => (x.town ?? '') === townFilter);
  const stations = picked ? report.stations.filter((s) => (s.town ?? '') === townFilter) : report.stations;
  const pages = Math.max(1, Math.ceil(stations.length / PAGE_SIZE));
  const pageNo = pageNumber(pageRaw, pages);

  const townRows = report.towns.map(
    (x) => html`<tr data-town="${x.town ?? ''}"${x === picked ? html` class="picked"` : ''}><td><a href="/monthly${query({ month: report.month, town: x.town ?? '' })}">${townName(x.town)}</a></td>
      <td class="num">${x.stations}</td>${cells(x)}<td class="num${x.stations_no_activity ? ' warn' : ''}">${x.stations_no_activity}</td></tr>`,
  );
  const tot = report.total;
  const stationRows = stations.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE).map(
    (s: MonthlyStationRow) => html`<tr data-station="${s.station_id}"${s.no_activity ? html` class="inactive"` : ''}>
      <td><a href="/station${query({ id: s.station_id })}">${clip(s.name ?? s.station_id)}</a><div class="muted">${s.station_id}</div></td><td>${townName(s.town)}</td>
      ${cells(s)}<td>${s.no_activity ? html`<span class="warn">${t('monthly.inactive')}</span>` : ''}${
        s.unknown_timezone === undefined ? '' : html`<div class="warn unknown-timezone">${t('timezone.unknown', { tz: clip(s.unknown_timezone), county: DEFAULT_TIMEZONE })}</div>`
      }</td></tr>`,
  );

  const charts = picked
    ? [
        chart(
          {
            type: 'bar',
            horizontal: true,
            title: t('monthly.chart_town', { town: townName(picked.town) }),
            labels: [...stations].sort((a, b) => b.duration_s - a.duration_s).map((s) => clip(s.name ?? s.station_id)),
            series: [{ name: t('col.hours'), data: [...stations].sort((a, b) => b.duration_s - a.duration_s).map((s) => s.hours_100 / 100) }],
          },
          'tall',
        ),
      ]
    : [
        chart({
          type: 'bar',
          title: t('monthly.chart_towns'),
          labels: report.towns.map((x) => townName(x.town)),
          series: [
            { name: t('col.hours'), data: report.towns.map((x) => x.hours_100 / 100) },
            { name: t('col.signal_hours'), data: report.towns.map((x) => x.signal_hours_100 / 100) },
          ],
        }),
        chart({
          type: 'bar',
          title: t('monthly.chart_activity'),
          labels: report.towns.map((x) => townName(x.town)),
          series: [
            { name: t('monthly.active'), stack: 'a', data: report.towns.map((x) => x.stations - x.stations_no_activity) },
            { name: t('monthly.inactive'), stack: 'a', data: report.towns.map((x) => x.stations_no_activity) },
          ],
        }),
      ];

  const body = html`
<form method="get" action="/monthly" class="filters">
  <label>${t('monthly.month')} <select name="month">${monthChoices(report.month, thisMonth).map((m) => html`<option value="${m}"${m === report.month ? html` selected` : ''}>${monthLabel(t, ctx.lang, m)}</option>`)}</select></label>
  ${picked ? html`<input type="hidden" name="town" value="${townFilter}">` : ''}
  <button type="submit">${t('monthly.show')}</button>
  <a href="/monthly${query({ month: shiftMonth(report.month, -1), town: townFilter || undefined })}">${t('monthly.prev')}</a>
  <a href="/monthly${query({ month: shiftMonth(report.month, 1), town: townFilter || undefined })}">${t('monthly.next')}</a>
  <a class="button" href="/monthly.csv${query({ month: report.month })}" download>${t('monthly.csv')}</a>
  <a class="button" id="xlsx" href="/monthly.xlsx${query({ month: report.month, town: townFilter || undefined })}" download>${t('monthly.xlsx')}</a>
  <a class="button" id="print" href="/monthly/print${query({ month: report.month, town: townFilter || undefined })}">${t('monthly.print')}</a>
</form>
<section><h2>${t('fleet.towns')}</h2>
<table id="towns"><thead><tr><th>${t('col.town')}</th><th>${t('col.stations')}</th>${heads}<th>${t('col.no_activity')}</th></tr></thead>
<tbody>${townRows}</tbody>
<tfoot><tr id="total" data-sessions="${tot.sessions}" data-duration-s="${tot.duration_s}"><th>${t('monthly.total')}</th><td class="num">${tot.stations}</td>${cells(tot)}<td class="num">${tot.stations_no_activity}</td></tr></tfoot></table>
<p class="muted" id="rounding">${ROUNDING_RULE[ctx.lang]}</p>
<div class="chart-pair">${charts}</div>
</section>
<section><h2>${picked ? townName(picked.town) : t('fleet.stations')}</h2>
<table id="monthly-stations"><thead><tr><th>${t('col.station')}</th><th>${t('col.town')}</th>${heads}<th></th></tr></thead><tbody>${stationRows}</tbody></table>
${pager(t, '/monthly', { month: report.month, town: townFilter || undefined }, pageNo, pages, stations.length)}
</section>`;
  const title = t('monthly.title', { month: report.month }) + (picked ? ` · ${townName(picked.town)}` : '');
  return page(ctx, { title, nav: 'monthly', body, charts: true });
}
