/**
 * The fleet page: towns, then stations, and the list a technician takes out in the morning ("what needs a
 * visit today"): the open visit items (county/visit-store.ts) of each station, why (the visit rule,
 * county/visits.ts: a lost connection past its threshold in opening hours, device faults, lamps near their
 * limit, records piling up, a scheduled class that failed), where each stands, and for operators the
 * buttons that acknowledge or clear it. Devices by their configured names (device-names.ts) where the
 * page names them. Pure functions over the store's FleetRows and visit items.
 */
import type { FleetRow } from '../../store.js';
import type { VisitRow } from '../../visit-store.js';
import { causeOfRow } from '../../visit-lifecycle.js';
import { DEFAULT_VISIT_RULES, judgeStation, URGENCY, type StationState, type VisitCause, type VisitJudgement, type VisitRules } from '../../visits.js';
import { html, query, type Html } from '../html.js';
import { label, type ConsoleKey, type T } from '../i18n.js';
import { page, pageNumber, pager, type PageContext } from '../layout.js';
import type { DeviceLabel } from '../device-names.js';
import { capped, clip, faultsHtml, moreHtml, tHtml } from '../station-words.js';
import { localTime } from '../time.js';
import { age, causeText, kindLabel, pendingText, visitButtons, visitStateHtml, type DeviceWords } from '../visit-words.js';

export { age };
export type { StationState };
export const STATE_FILTERS = ['all', 'visit', 'online', 'in_class', 'offline', 'shutdown', 'silent', 'unknown', 'faults', 'lamps'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

const PAGE_SIZE = 100;
const VISIT_LIST_MAX = 50;

export interface FleetView {
  row: FleetRow;
  judgement: VisitJudgement;
  /** Its open visit items (active or acknowledged), oldest first. */
  visits: VisitRow[];
}

/** The station's judgement and open items; `live` may hold every station's live items. */
export function fleetViews(rows: readonly FleetRow[], nowMs: number, rules: VisitRules, countyTz: string, live: readonly VisitRow[] = []): FleetView[] {
  const open = new Map<string, VisitRow[]>();
  for (const v of live) if (v.cleared_at === null) (open.get(v.station_id) ?? open.set(v.station_id, []).get(v.station_id)!).push(v);
  return rows.map((row) => ({ row, judgement: judgeStation(row, nowMs, rules, countyTz), visits: open.get(row.station_id) ?? [] }));
}

/** One station's view (unit tests, the station page). */
export const judge = (row: FleetRow, nowMs: number, rules: VisitRules = DEFAULT_VISIT_RULES, countyTz = 'Asia/Shanghai', live: readonly VisitRow[] = []): FleetView =>
  fleetViews([row], nowMs, rules, countyTz, live)[0]!;

const OFFLINE: readonly StationState[] = ['offline', 'silent', 'unknown'];

export function matches(v: FleetView, filter: StateFilter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'visit':
      return v.visits.length > 0;
    case 'faults':
      return v.row.faults.length > 0;
    case 'lamps':
      return v.row.lamp_warnings.length > 0;
    default:
      return v.judgement.state === filter;
  }
}

export interface TownSummary {
  town: string | null;
  stations: number;
  /** Online, classes in progress included. */
  online: number;
  in_class: number;
  shutdown: number;
  /** Lost: offline by a Last Will, silent, or never seen. */
  offline: number;
  faults: number;
  lamps: number;
}

const emptyTown = (town: string | null): TownSummary => ({ town, stations: 0, online: 0, in_class: 0, shutdown: 0, offline: 0, faults: 0, lamps: 0 });

export function summarise(views: readonly FleetView[]): { towns: TownSummary[]; total: TownSummary } {
  const towns = new Map<string | null, TownSummary>();
  const total = emptyTown(null);
  for (const v of views) {
    let s = towns.get(v.row.town);
    if (!s) towns.set(v.row.town, (s = emptyTown(v.row.town)));
    const state = v.judgement.state;
    for (const x of [s, total]) {
      x.stations++;
      if (state === 'online' || state === 'in_class') x.online++;
      if (state === 'in_class') x.in_class++;
      if (state === 'shutdown') x.shutdown++;
      if (OFFLINE.includes(state)) x.offline++;
      if (v.row.faults.length) x.faults++;
      if (v.row.lamp_warnings.length) x.lamps++;
    }
  }
  return { towns: [...towns.values()], total };
}

/** Stations with open items: those nobody has acknowledged first, then the most urgent cause, then the oldest item. */
export function visitList(views: readonly FleetView[]): FleetView[] {
  const ranked = views
    .filter((v) => v.visits.length > 0)
    .map((v) => ({
      v,
      acked: v.visits.every((x) => x.acked_at !== null) ? 1 : 0,
      rank: Math.min(...v.visits.map((x) => URGENCY[x.kind as VisitCause['kind']] ?? 9)),
      since: v.visits.reduce((m, x) => (x.opened_at < m ? x.opened_at : m), v.visits[0]!.opened_at),
    }));
  return ranked.sort((a, b) => a.acked - b.acked || a.rank - b.rank || (a.since < b.since ? -1 : a.since > b.since ? 1 : 0)).map((x) => x.v);
}

/** The words of an item's cause: as the rule sees it now, else as it was when the item opened. */
export function itemCause(ctx: PageContext, item: VisitRow, j: VisitJudgement | undefined, tz: string, device?: DeviceWords): Html | string {
  const c = j?.causes.find((x) => x.key === item.cause) ?? causeOfRow(item);
  return c ? causeText(ctx, c, tz, false, device) : kindLabel(ctx.t, item.kind);
}

/** An open item: why, where it stands, and the operator's buttons. */
export function visitItem(ctx: PageContext, item: VisitRow, j: VisitJudgement | undefined, tz: string, back: string, device?: DeviceWords): Html {
  const c = j?.causes.find((x) => x.key === item.cause);
  const pending = c ? pendingText(ctx.t, c, j!.open) : '';
  return html`<li data-visit="${item.id}" data-cause="${item.cause}" data-visit-state="${item.acked_at === null ? 'active' : 'acknowledged'}"><span class="cause ${item.kind}">${itemCause(ctx, item, j, tz, device)}</span>${pending ? html` <span class="muted">${pending}</span>` : ''}
  · ${visitStateHtml(ctx, item, tz)} ${visitButtons(ctx, item, back)}</li>`;
}

export const stateBadge = (t: T, s: StationState): Html => html`<span class="badge ${s}">${label(t, 'state', s)}</span>`;
const townName = (t: T, town: string | null): string => (town === null ? t('monthly.no_town') : clip(town));
const stationLink = (r: FleetRow): Html => html`<a href="/station${query({ id: r.station_id })}">${clip(r.name ?? r.station_id)}</a>`;

/** Without the stations' inventories, a device reads as its id. */
const byId: DeviceLabel = (_station, device) => clip(device ?? '?');

/** A station's faulty devices, at most MAX_ITEMS of them (each with at most MAX_ITEMS faults), then "+k more". */
function deviceFaults(ctx: PageContext, faults: FleetRow['faults'], name: DeviceLabel): Html {
  const { shown, more } = capped(faults);
  return html`${shown.map((d, i) => html`${i ? ctx.t('list.sep') : ''}${tHtml(ctx.t, 'visit.fault', { device: name(d.station_id, d.device_id), text: faultsHtml(ctx, d.errors, d.errors_more) })}`)}${moreHtml(ctx.t, more)}`;
}

function lamps(t: T, station: string, warnings: FleetRow['lamp_warnings'], name: DeviceLabel): Html {
  const { shown, more } = capped(warnings);
  return html`${shown.map((l) => t('fleet.lamp', { device: name(station, l.device ?? '?'), hours: l.lamp_hours ?? '?' })).join(t('list.sep'))}${moreHtml(t, more)}`;
}

/** The visit column of the stations table: how many open items, and whether someone has them in hand. */
function visitCell(t: T, v: FleetView): Html | string {
  if (v.visits.length === 0) return t('none');
  const active = v.visits.filter((x) => x.acked_at === null).length;
  return active > 0 ? html`<span class="bad">${t('visit.count_active', { n: active })}</span>` : html`<span class="warn">${t('visit.count_acked', { n: v.visits.length })}</span>`;
}

export interface FleetQuery {
  town: string;
  state: StateFilter;
  q: string;
  page: string;
}

/** A station whose database was replaced (a new ledger, docs/mqtt.md "Ledgers"), with when: empty otherwise. */
export function ledgerNote(t: T, r: FleetRow, tz: string): Html | string {
  if (r.ledger_changed_at === null) return '';
  return html`<div class="warn ledger-replaced" title="${t('station.ledger_replaced_title')}">${t('station.ledger_replaced', { time: localTime(r.ledger_changed_at, tz) })}</div>`;
}

/** The station's state, and for a lost one that declares hours and is closed now, "outside opening hours" (why it is no visit). */
export const stateCell = (t: T, v: FleetView): Html =>
  html`${stateBadge(t, v.judgement.state)}${v.row.opening_hours && !v.judgement.open && OFFLINE.includes(v.judgement.state) ? html`<div class="muted closed-hours">${t('visit.closed_now')}</div>` : ''}`;

const filterLabel = (t: T, f: StateFilter): string =>
  f === 'all' || f === 'visit' || f === 'faults' || f === 'lamps' ? t(`filter.${f}` as ConsoleKey) : label(t, 'state', f);

/** What one fleet page shows: every station judged, the visit list, and the page of the filtered table. */
export function selectFleet(rows: readonly FleetRow[], q: FleetQuery, nowMs: number, rules: VisitRules, countyTz: string, live: readonly VisitRow[] = []) {
  const views = fleetViews(rows, nowMs, rules, countyTz, live);
  const visits = visitList(views);
  const needle = q.q.toLowerCase();
  const shown = views.filter(
    (v) =>
      (q.town === '' || (v.row.town ?? '') === q.town) &&
      matches(v, q.state) &&
      (needle === '' || v.row.station_id.toLowerCase().includes(needle) || (v.row.name ?? '').toLowerCase().includes(needle)),
  );
  const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const pageNo = pageNumber(q.page, pages);
  return { views, visits, shown, pages, pageNo, onPage: shown.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE) };
}

/**
 * The stations whose devices the page names (faults, lamps, items about a device, in the visit list and on
 * the table's page): their inventories give the names.
 */
export function namedStations(sel: ReturnType<typeof selectFleet>): string[] {
  const named = (v: FleetView) => v.row.faults.length > 0 || v.row.lamp_warnings.length > 0 || v.visits.some((x) => x.kind === 'fault' || x.kind === 'lamp');
  return [...new Set([...sel.visits.slice(0, VISIT_LIST_MAX), ...sel.onPage].filter(named).map((v) => v.row.station_id))];
}

export function renderFleet(
  ctx: PageContext,
  rows: readonly FleetRow[],
  q: FleetQuery,
  nowMs: number,
  rules: VisitRules = DEFAULT_VISIT_RULES,
  live: readonly VisitRow[] = [],
  deviceName: DeviceLabel = byId,
): string {
  const { t } = ctx;
  const { views, visits, shown, pages, pageNo, onPage } = selectFleet(rows, q, nowMs, rules, ctx.tz, live);
  const { towns, total } = summarise(views);
  const tzOf = (r: FleetRow) => r.timezone ?? ctx.tz;

  const visitItems = visits.slice(0, VISIT_LIST_MAX).map((v) => {
    const { shown: items, more } = capped(v.visits);
    const name = (d: string) => deviceName(v.row.station_id, d);
    return html`<li data-station="${v.row.station_id}">${stateBadge(t, v.judgement.state)} ${stationLink(v.row)} <span class="muted">${townName(t, v.row.town)} · ${v.row.station_id}</span>
      <ul class="reasons">${items.map((x) => visitItem(ctx, x, v.judgement, tzOf(v.row), ctx.path, name))}</ul>${moreHtml(t, more)}</li>`;
  });
  const townRows = towns.map(
    (s) => html`<tr><td><a href="/fleet${query({ town: s.town ?? '', state: q.state === 'all' ? undefined : q.state })}">${townName(t, s.town)}</a></td>
      <td class="num">${s.stations}</td><td class="num">${s.online}</td><td class="num">${s.shutdown}</td><td class="num${s.offline ? ' bad' : ''}">${s.offline}</td>
      <td class="num${s.faults ? ' bad' : ''}">${s.faults}</td><td class="num${s.lamps ? ' warn' : ''}">${s.lamps}</td></tr>`,
  );
  const stationRows = onPage.map((v) => {
    const r = v.row;
    return html`<tr data-station="${r.station_id}" data-state="${v.judgement.state}" data-visits="${v.visits.length}"><td>${stationLink(r)}<div class="muted">${r.station_id}</div>${ledgerNote(t, r, tzOf(r))}</td>
      <td>${townName(t, r.town)}</td><td>${stateCell(t, v)}</td><td>${visitCell(t, v)}</td>
      <td>${r.heartbeat_ts ? html`${localTime(r.heartbeat_ts, tzOf(r))}<div class="muted">${age(t, v.judgement.age_s ?? 0)}</div>` : t('none')}</td>
      <td>${r.agent_version === null ? t('none') : clip(r.agent_version)}</td><td class="num${(r.outbox_depth ?? 0) >= rules.outboxWarn ? ' warn' : ''}">${r.outbox_depth ?? t('none')}</td>
      <td>${r.faults.length ? html`<span class="bad">${deviceFaults(ctx, r.faults, deviceName)}</span>` : t('none')}</td>
      <td>${r.lamp_warnings.length ? html`<span class="warn">${lamps(t, r.station_id, r.lamp_warnings, deviceName)}</span>` : t('none')}</td></tr>`;
  });
  const townOptions = towns.map((s) => html`<option value="${s.town ?? ''}"${(s.town ?? '') === q.town && q.town !== '' ? ' selected' : ''}>${townName(t, s.town)}</option>`);
  const stateOptions = STATE_FILTERS.map((f) => html`<option value="${f}"${f === q.state ? ' selected' : ''}>${filterLabel(t, f)}</option>`);

  const body = html`
<p class="summary" id="fleet-summary" data-stations="${total.stations}" data-online="${total.online}" data-in-class="${total.in_class}" data-shutdown="${total.shutdown}" data-offline="${total.offline}" data-faults="${total.faults}" data-lamps="${total.lamps}">
  ${t('fleet.summary', { stations: total.stations, online: total.online, in_class: total.in_class, shutdown: total.shutdown, offline: total.offline, faults: total.faults, lamps: total.lamps })}</p>
<div class="columns">
<section class="visit" id="visit"><h2>${t('visit.title')}（${visits.length}）</h2>
  ${visits.length ? html`<ol>${visitItems}</ol>` : html`<p>${t('visit.none')}</p>`}
  ${visits.length > VISIT_LIST_MAX ? html`<p class="muted">${t('visit.more', { n: visits.length - VISIT_LIST_MAX })}</p>` : ''}
</section>
<section class="towns"><h2>${t('fleet.towns')}</h2>
<table><thead><tr><th>${t('col.town')}</th><th>${t('col.stations')}</th><th>${t('col.online')}</th><th>${t('col.shutdown')}</th><th>${t('col.offline')}</th><th>${t('col.faults')}</th><th>${t('col.lamps')}</th></tr></thead>
<tbody>${townRows}</tbody></table></section>
</div>
<section><h2>${t('fleet.stations')}</h2>
<form method="get" action="/fleet" class="filters">
  <label>${t('filter.town')} <select name="town"><option value="">${t('filter.all_towns')}</option>${townOptions}</select></label>
  <label>${t('filter.state')} <select name="state">${stateOptions}</select></label>
  <label><input type="search" name="q" maxlength="64" value="${q.q}" placeholder="${t('filter.search')}"></label>
  <button type="submit">${t('filter.apply')}</button>
</form>
<table class="stations" id="stations"><thead><tr><th>${t('col.station')}</th><th>${t('col.town')}</th><th>${t('col.state')}</th><th>${t('col.visit')}</th><th>${t('col.heartbeat')}</th>
  <th>${t('col.version')}</th><th>${t('col.outbox')}</th><th>${t('col.faults')}</th><th>${t('col.lamps')}</th></tr></thead>
<tbody>${stationRows}</tbody></table>
${pager(t, '/fleet', { town: q.town, state: q.state === 'all' ? undefined : q.state, q: q.q }, pageNo, pages, shown.length)}
</section>`;
  return page(ctx, { title: t('nav.fleet'), nav: 'fleet', body });
}
