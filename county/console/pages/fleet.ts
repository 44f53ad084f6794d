/**
 * The fleet page: towns, then stations, and the list a technician takes out in the morning ("what needs a
 * visit today": offline or silent stations, device faults, lamps near their limit, records piling up).
 * Pure functions over the store's FleetRows, so the same judgement is unit-tested and rendered.
 */
import type { DeviceRow, FleetRow } from '../../store.js';
import { html, query, type Html } from '../html.js';
import { label, type T } from '../i18n.js';
import { page, pageNumber, pager, type PageContext } from '../layout.js';
import type { DeviceLabel } from '../device-names.js';
import { capped, clip, faultsHtml, moreHtml, tHtml } from '../station-words.js';
import { ageParts, localTime } from '../time.js';

export type StationState = 'online' | 'offline' | 'silent' | 'unknown';
export const STATE_FILTERS = ['all', 'visit', 'online', 'offline', 'silent', 'unknown', 'faults', 'lamps'] as const;
export type StateFilter = (typeof STATE_FILTERS)[number];

export interface FleetRules {
  /** An online station without a heartbeat for this long is `silent`. */
  silentAfterS: number;
  /** This many undelivered records means the link needs a look. */
  outboxWarn: number;
}

export const DEFAULT_RULES: FleetRules = { silentAfterS: 15 * 60, outboxWarn: 100 };
const PAGE_SIZE = 100;
const VISIT_LIST_MAX = 50;

export type VisitReason =
  | { kind: 'offline'; ageS: number | null }
  | { kind: 'silent'; ageS: number }
  | { kind: 'fault'; device: string; errors: DeviceRow['errors']; unread: number }
  | { kind: 'lamp'; device: string; hours: number | null }
  | { kind: 'outbox'; n: number };

export interface FleetView {
  row: FleetRow;
  state: StationState;
  /** Seconds since the last heartbeat arrived; null when none has. */
  ageS: number | null;
  reasons: VisitReason[];
}

export function judge(row: FleetRow, nowMs: number, rules: FleetRules = DEFAULT_RULES): FleetView {
  const ageS = row.heartbeat_at === null ? null : Math.max(0, (nowMs - Date.parse(row.heartbeat_at)) / 1000);
  let state: StationState;
  if (row.online === false) state = 'offline';
  else if (ageS === null) state = row.online === true ? 'online' : 'unknown';
  else state = ageS > rules.silentAfterS ? 'silent' : 'online';
  const reasons: VisitReason[] = [];
  if (state === 'offline' || state === 'unknown') reasons.push({ kind: 'offline', ageS });
  if (state === 'silent') reasons.push({ kind: 'silent', ageS: ageS! });
  for (const d of row.faults) reasons.push({ kind: 'fault', device: d.device_id, errors: d.errors, unread: d.errors_more ?? 0 });
  for (const l of row.lamp_warnings) reasons.push({ kind: 'lamp', device: l.device ?? '?', hours: l.lamp_hours });
  if ((row.outbox_depth ?? 0) >= rules.outboxWarn) reasons.push({ kind: 'outbox', n: row.outbox_depth! });
  return { row, state, ageS, reasons };
}

export function matches(v: FleetView, filter: StateFilter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'visit':
      return v.reasons.length > 0;
    case 'faults':
      return v.row.faults.length > 0;
    case 'lamps':
      return v.row.lamp_warnings.length > 0;
    default:
      return v.state === filter;
  }
}

export interface TownSummary {
  town: string | null;
  stations: number;
  online: number;
  offline: number;
  faults: number;
  lamps: number;
}

export function summarise(views: readonly FleetView[]): { towns: TownSummary[]; total: TownSummary } {
  const towns = new Map<string | null, TownSummary>();
  const total: TownSummary = { town: null, stations: 0, online: 0, offline: 0, faults: 0, lamps: 0 };
  for (const v of views) {
    let s = towns.get(v.row.town);
    if (!s) towns.set(v.row.town, (s = { town: v.row.town, stations: 0, online: 0, offline: 0, faults: 0, lamps: 0 }));
    for (const x of [s, total]) {
      x.stations++;
      if (v.state === 'online') x.online++;
      else x.offline++;
      if (v.row.faults.length) x.faults++;
      if (v.row.lamp_warnings.length) x.lamps++;
    }
  }
  return { towns: [...towns.values()], total };
}

/** Most urgent first: no contact, then faults, lamps, undelivered records; longest silence first. */
const URGENCY: Record<VisitReason['kind'], number> = { offline: 0, silent: 1, fault: 2, lamp: 3, outbox: 4 };
export function visitList(views: readonly FleetView[]): FleetView[] {
  const ranked = views.filter((v) => v.reasons.length > 0).map((v) => ({ v, rank: Math.min(...v.reasons.map((r) => URGENCY[r.kind])), age: v.ageS ?? Infinity }));
  return ranked.sort((a, b) => a.rank - b.rank || b.age - a.age).map((x) => x.v);
}

export const age = (t: T, s: number): string => {
  const { n, unit } = ageParts(s);
  return t(`age.${unit}`, { n });
};

/** Without the stations' inventories, a device reads as its id. */
const byId: DeviceLabel = (_station, device) => clip(device ?? '?');

function reasonText(ctx: PageContext, r: VisitReason, name: (device: string) => string): Html | string {
  const { t } = ctx;
  switch (r.kind) {
    case 'offline':
      return r.ageS === null ? t('visit.never') : t('visit.offline', { age: age(t, r.ageS) });
    case 'silent':
      return t('visit.silent', { age: age(t, r.ageS) });
    case 'fault':
      return tHtml(t, 'visit.fault', { device: name(r.device), text: faultsHtml(ctx, r.errors, r.unread) });
    case 'lamp':
      return t('visit.lamp', { device: name(r.device), hours: r.hours ?? '?' });
    case 'outbox':
      return t('visit.outbox', { n: r.n });
  }
}

export const stateBadge = (t: T, s: StationState): Html => html`<span class="badge ${s}">${label(t, 'state', s)}</span>`;
const townName = (t: T, town: string | null): string => (town === null ? t('monthly.no_town') : clip(town));
const stationLink = (r: FleetRow): Html => html`<a href="/station${query({ id: r.station_id })}">${clip(r.name ?? r.station_id)}</a>`;

/** A station's faulty devices, at most MAX_ITEMS of them (each with at most MAX_ITEMS faults), then "+k more". */
function deviceFaults(ctx: PageContext, faults: FleetRow['faults'], name: DeviceLabel): Html {
  const { shown, more } = capped(faults);
  return html`${shown.map((d, i) => html`${i ? ctx.t('list.sep') : ''}${tHtml(ctx.t, 'visit.fault', { device: name(d.station_id, d.device_id), text: faultsHtml(ctx, d.errors, d.errors_more) })}`)}${moreHtml(ctx.t, more)}`;
}

function lamps(t: T, station: string, warnings: FleetRow['lamp_warnings'], name: DeviceLabel): Html {
  const { shown, more } = capped(warnings);
  return html`${shown.map((l) => t('fleet.lamp', { device: name(station, l.device ?? '?'), hours: l.lamp_hours ?? '?' })).join(t('list.sep'))}${moreHtml(t, more)}`;
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

/** What one fleet page shows: every station judged, the visit list, and the page of the filtered table. */
export function selectFleet(rows: readonly FleetRow[], q: FleetQuery, nowMs: number, rules: FleetRules = DEFAULT_RULES) {
  const views = rows.map((r) => judge(r, nowMs, rules));
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

/** The stations whose devices the page names (faults, lamps in the visit list and on the table's page): their inventories give the names. */
export function namedStations(sel: ReturnType<typeof selectFleet>): string[] {
  const named = (v: FleetView) => v.row.faults.length > 0 || v.row.lamp_warnings.length > 0;
  return [...new Set([...sel.visits.slice(0, VISIT_LIST_MAX), ...sel.onPage].filter(named).map((v) => v.row.station_id))];
}

export function renderFleet(ctx: PageContext, rows: readonly FleetRow[], q: FleetQuery, nowMs: number, rules: FleetRules = DEFAULT_RULES, deviceName: DeviceLabel = byId): string {
  const { t } = ctx;
  const { views, visits, shown, pages, pageNo, onPage } = selectFleet(rows, q, nowMs, rules);
  const { towns, total } = summarise(views);
  const tzOf = (r: FleetRow) => r.timezone ?? ctx.tz;

  const visitItems = visits.slice(0, VISIT_LIST_MAX).map((v) => {
    const { shown: reasons, more } = capped(v.reasons);
    return html`<li>${stateBadge(t, v.state)} ${stationLink(v.row)} <span class="muted">${townName(t, v.row.town)} · ${v.row.station_id}</span>
      <div class="reasons">${reasons.map((r, i) => html`${i ? t('list.sep') : ''}<span class="${r.kind}">${reasonText(ctx, r, (d) => deviceName(v.row.station_id, d))}</span>`)}${moreHtml(t, more)}</div></li>`;
  });
  const townRows = towns.map(
    (s) => html`<tr><td><a href="/fleet${query({ town: s.town ?? '', state: q.state === 'all' ? undefined : q.state })}">${townName(t, s.town)}</a></td>
      <td class="num">${s.stations}</td><td class="num">${s.online}</td><td class="num${s.offline ? ' bad' : ''}">${s.offline}</td>
      <td class="num${s.faults ? ' bad' : ''}">${s.faults}</td><td class="num${s.lamps ? ' warn' : ''}">${s.lamps}</td></tr>`,
  );
  const stationRows = onPage.map((v) => {
    const r = v.row;
    return html`<tr data-station="${r.station_id}" data-state="${v.state}"><td>${stationLink(r)}<div class="muted">${r.station_id}</div>${ledgerNote(t, r, tzOf(r))}</td>
      <td>${townName(t, r.town)}</td><td>${stateBadge(t, v.state)}</td>
      <td>${r.heartbeat_ts ? html`${localTime(r.heartbeat_ts, tzOf(r))}<div class="muted">${age(t, v.ageS ?? 0)}</div>` : t('none')}</td>
      <td>${r.agent_version === null ? t('none') : clip(r.agent_version)}</td><td class="num${(r.outbox_depth ?? 0) >= rules.outboxWarn ? ' warn' : ''}">${r.outbox_depth ?? t('none')}</td>
      <td>${r.faults.length ? html`<span class="bad">${deviceFaults(ctx, r.faults, deviceName)}</span>` : t('none')}</td>
      <td>${r.lamp_warnings.length ? html`<span class="warn">${lamps(t, r.station_id, r.lamp_warnings, deviceName)}</span>` : t('none')}</td></tr>`;
  });
  const townOptions = towns.map((s) => html`<option value="${s.town ?? ''}"${(s.town ?? '') === q.town && q.town !== '' ? ' selected' : ''}>${townName(t, s.town)}</option>`);
  const stateOptions = STATE_FILTERS.map(
    (f) => html`<option value="${f}"${f === q.state ? ' selected' : ''}>${f === 'all' ? t('filter.all') : f === 'visit' ? t('filter.visit') : f === 'faults' ? t('filter.faults') : f === 'lamps' ? t('filter.lamps') : label(t, 'state', f)}</option>`,
  );

  const body = html`
<p class="summary" id="fleet-summary" data-stations="${total.stations}" data-online="${total.online}" data-offline="${total.offline}" data-faults="${total.faults}" data-lamps="${total.lamps}">
  ${t('fleet.summary', { stations: total.stations, online: total.online, offline: total.offline, faults: total.faults, lamps: total.lamps })}</p>
<div class="columns">
<section class="visit" id="visit"><h2>${t('visit.title')}（${visits.length}）</h2>
  ${visits.length ? html`<ol>${visitItems}</ol>` : html`<p>${t('visit.none')}</p>`}
  ${visits.length > VISIT_LIST_MAX ? html`<p class="muted">${t('visit.more', { n: visits.length - VISIT_LIST_MAX })}</p>` : ''}
</section>
<section class="towns"><h2>${t('fleet.towns')}</h2>
<table><thead><tr><th>${t('col.town')}</th><th>${t('col.stations')}</th><th>${t('col.online')}</th><th>${t('col.offline')}</th><th>${t('col.faults')}</th><th>${t('col.lamps')}</th></tr></thead>
<tbody>${townRows}</tbody></table></section>
</div>
<section><h2>${t('fleet.stations')}</h2>
<form method="get" action="/fleet" class="filters">
  <label>${t('filter.town')} <select name="town"><option value="">${t('filter.all_towns')}</option>${townOptions}</select></label>
  <label>${t('filter.state')} <select name="state">${stateOptions}</select></label>
  <label><input type="search" name="q" maxlength="64" value="${q.q}" placeholder="${t('filter.search')}"></label>
  <button type="submit">${t('filter.apply')}</button>
</form>
<table class="stations" id="stations"><thead><tr><th>${t('col.station')}</th><th>${t('col.town')}</th><th>${t('col.state')}</th><th>${t('col.heartbeat')}</th>
  <th>${t('col.version')}</th><th>${t('col.outbox')}</th><th>${t('col.faults')}</th><th>${t('col.lamps')}</th></tr></thead>
<tbody>${stationRows}</tbody></table>
${pager(t, '/fleet', { town: q.town, state: q.state === 'all' ? undefined : q.state, q: q.q }, pageNo, pages, shown.length)}
</section>`;
  return page(ctx, { title: t('nav.fleet'), nav: 'fleet', body });
}
