/**
 * One station: its visit items, its devices (by their configured names) and faults, recent usage sessions
 * with the notes typed on site, events, the schedules installed on it with their last outcome and why a
 * failed one failed (station-schedules.ts), and the heartbeat history (CPU, free disk, agent memory) as
 * charts. Times in the station's own time zone.
 */
import type { DeviceRow, FleetRow, HeartbeatPoint, SessionRow } from '../../store.js';
import { chart } from '../charts.js';
import { html, type Html } from '../html.js';
import { label, type T } from '../i18n.js';
import { page, zoneOf, type PageContext } from '../layout.js';
import { PAYLOAD_CAPS } from '../../../protocol/payloads.js';
import { deviceLabels } from '../device-names.js';
import { readDevices, readInstalled } from '../inventory-read.js';
import { capped, clip, eventHtml, faultsHtml, moreHtml } from '../station-words.js';
import { isTimeZone, localTime } from '../time.js';
import type { VisitRow } from '../../visit-store.js';
import type { VisitRules } from '../../visits.js';
import { failedSteps, openingHoursText, runEvents } from '../visit-words.js';
import { judge, ledgerNote, stateCell, visitItem } from './fleet.js';
import { lastRuns, schedulesHtml } from './station-schedules.js';
import { visitHistoryHtml } from './station-visits.js';

export { lastRuns, type ScheduleOutcome } from './station-schedules.js';

export interface StationData {
  row: FleetRow;
  devices: DeviceRow[];
  usage: SessionRow[];
  events: Array<Record<string, unknown>>;
  scheduleRuns: Array<Record<string, unknown>>;
  heartbeats: HeartbeatPoint[];
  historyDays: number;
  /** The station's live visit items (after the lifecycle pass) and its visit history, newest first. */
  visits?: VisitRow[];
  visitHistory?: VisitRow[];
  /** The station's last inventory: device names, what they take, the installed schedules. */
  inventory?: Record<string, unknown> | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? clip(v) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function trigger(t: T, v: unknown): string {
  const s = str(v) ?? '';
  if (s.startsWith('schedule:')) return t('trigger.schedule', { id: s.slice(9) });
  return label(t, 'trigger', s);
}

const minutes = (s: unknown): string => (num(s) === null ? '' : (num(s)! / 60).toFixed(1));
const none = (t: T, rows: unknown[], table: Html): Html => (rows.length ? table : html`<p class="muted">${t('station.no_rows')}</p>`);

export function renderStation(ctx: PageContext, d: StationData, nowMs: number, rules?: VisitRules): string {
  const { t } = ctx;
  const r = d.row;
  // A zone this runtime does not know (a row stored before the collector checked) is shown in the county's, and said so.
  const claimed = r.timezone ?? ctx.tz;
  const tz = isTimeZone(claimed) ? claimed : ctx.tz;
  const view = judge(r, nowMs, rules, ctx.tz, d.visits);
  const back = `/station?id=${encodeURIComponent(r.station_id)}`;
  // At most what a station may have (the agent's MAX_DEVICES), whatever rows are stored.
  const devices = capped(d.devices, PAYLOAD_CAPS.devices);
  const listed = readDevices(Array.isArray(d.inventory?.['devices']) ? d.inventory['devices'] : []);
  // By configured name (the inventory's), else by kind: every device the page names, in the states' words too.
  const names = deviceLabels(t, [...listed, ...d.devices.filter((x) => !listed.some((l) => l.id === x.device_id)).map((x) => ({ id: x.device_id, name: null, kind: x.kind }))]);
  const nameOf = (id: string | null) => (id === null ? '' : (names.get(id) ?? clip(id)));
  // As on the fleet: at most MAX_ITEMS (rows stored before the caps may make hundreds of faulty devices).
  const items = capped(view.visits);
  const openItems = items.shown.map((x) => visitItem(ctx, x, view.judgement, tz, back, nameOf));
  const deviceRows = devices.shown.map(
    (x) => html`<tr data-device="${clip(x.device_id)}"><td title="${clip(x.device_id)}">${nameOf(x.device_id)}</td><td>${label(t, 'kind', x.kind)}</td><td>${clip(x.driver ?? '')}</td>
      <td>${x.online === null ? t('none') : x.online ? t('yes') : html`<span class="bad">${t('no')}</span>`}</td><td>${label(t, 'power', x.power)}</td>
      <td>${x.errors.length ? html`<span class="bad">${faultsHtml(ctx, x.errors, x.errors_more)}</span>` : t('none')}</td>
      <td class="num">${x.lamp_hours ?? ''}</td><td>${localTime(x.ts ?? x.received_at, tz)}</td></tr>`,
  );
  // The notes typed on site come joined to their sessions (ConsoleStore.sessions: the record's own, or a
  // later annotation event's).
  const usageRows = d.usage.map((u) => {
    const a = u.note;
    return html`<tr data-session="${u.id}"><td>${localTime(u.start_ms, tz)}</td><td>${localTime(u.end_ms, tz)}</td><td class="num">${minutes(u.duration_s)}</td>
      <td class="num">${minutes(u.signal_s)}</td><td>${trigger(t, u.trigger)}</td><td>${u.short ? t('yes') : ''}</td>
      <td${a?.note ? html` title="${clip(a.note)}"` : ''}>${a?.topic ? clip(a.topic) : ''}</td><td class="num">${a?.attendees ?? ''}</td><td>${a?.organiser ? clip(a.organiser) : ''}</td></tr>`;
  });
  const eventRows = d.events.map(
    (e) => html`<tr class="sev-${str(e['severity']) ?? ''}"><td>${localTime(str(e['ts']), tz)}</td><td>${label(t, 'event', str(e['type']))}</td>
      <td>${label(t, 'severity', str(e['severity']))}</td><td>${nameOf(str(e['device']))}</td><td>${eventHtml(ctx, e, tz)}</td></tr>`,
  );
  const why = (e: Record<string, unknown>) => {
    const steps = runEvents(d.scheduleRuns, e).flatMap((x) => failedSteps(t, x, nameOf));
    return steps.length ? html`<ul class="why">${steps}</ul>` : '';
  };
  const inputOf = (device: string, code: string) => listed.find((l) => l.id === device)?.inputs?.find((i) => i.code === code);
  const schedules = schedulesHtml(ctx, readInstalled(d.inventory ?? null), lastRuns(d.scheduleRuns), { t, device: nameOf, input: inputOf }, zoneOf(ctx, tz), tz, why);
  const labels = d.heartbeats.map((p) => localTime(p.ts, tz).slice(5));
  const series = (name: string, pick: (p: HeartbeatPoint) => number | null) => ({ type: 'line' as const, title: name, labels, series: [{ name, data: d.heartbeats.map(pick) }] });
  const charts = d.heartbeats.length
    ? html`<div class="chart-row">${chart(series(t('chart.cpu'), (p) => p.cpu_pct), 'small')}${chart(series(t('chart.disk'), (p) => p.disk_free_mb), 'small')}${chart(series(t('chart.rss'), (p) => p.agent_rss_mb), 'small')}</div>`
    : html`<p class="muted">${t('station.no_rows')}</p>`;

  const body = html`
<dl class="facts" id="station-facts" data-state="${view.judgement.state}">
  <div><dt>${t('col.state')}</dt><dd>${stateCell(t, view)}${ledgerNote(t, r, tz)}</dd></div>
  <div><dt>${t('station.name')}</dt><dd>${r.name === null ? t('none') : clip(r.name)}</dd></div>
  <div><dt>${t('col.town')}</dt><dd>${r.town === null ? t('none') : clip(r.town)}</dd></div>
  <div><dt>${t('station.county')}</dt><dd>${r.county === null ? t('none') : clip(r.county)}</dd></div>
  <div><dt>${t('col.heartbeat')}</dt><dd>${r.heartbeat_ts ? localTime(r.heartbeat_ts, tz) : t('none')}</dd></div>
  <div><dt>${t('col.version')}</dt><dd>${r.agent_version === null ? t('none') : clip(r.agent_version)}</dd></div>
  <div><dt>${t('col.outbox')}</dt><dd>${r.outbox_depth ?? t('none')}</dd></div>
  <div><dt>${t('station.opening_hours')}</dt><dd id="opening-hours">${openingHoursText(t, r.opening_hours)}</dd></div>
  <div><dt>${t('station.timezone')}</dt><dd>${tz === claimed ? zoneOf(ctx, tz) : html`<span class="warn" id="unknown-timezone">${t('timezone.unknown', { tz: clip(claimed), county: zoneOf(ctx, ctx.tz) })}</span>`}</dd></div>
</dl>
<section id="visits"><h2>${t('station.visits')}</h2>${openItems.length ? html`<ul class="reasons" id="visit-items">${openItems}</ul>${moreHtml(t, items.more)}` : html`<p class="muted">${t('visit.none_station')}</p>`}
${visitHistoryHtml(ctx, d.visitHistory ?? [], tz, nameOf)}</section>
<section><h2>${t('station.devices')}</h2>${none(t, d.devices, html`<table id="devices"><thead><tr><th>${t('col.device')}</th><th>${t('col.kind')}</th><th>${t('col.driver')}</th><th>${t('col.online')}</th>
  <th>${t('col.power')}</th><th>${t('col.errors')}</th><th>${t('col.lamp_hours')}</th><th>${t('col.updated')}</th></tr></thead><tbody>${deviceRows}</tbody></table>${moreHtml(t, devices.more)}`)}</section>
<section><h2>${t('station.health', { days: d.historyDays })}</h2>${charts}</section>
<section id="schedules"><h2>${t('station.schedules')}</h2>${schedules}</section>
<section><h2>${t('station.sessions')}</h2>${none(t, d.usage, html`<table id="sessions"><thead><tr><th>${t('col.start')}</th><th>${t('col.end')}</th><th>${t('col.minutes')}</th><th>${t('col.signal_minutes')}</th>
  <th>${t('col.trigger')}</th><th>${t('col.short')}</th><th>${t('col.topic')}</th><th>${t('col.attendees')}</th><th>${t('col.organiser')}</th></tr></thead><tbody>${usageRows}</tbody></table>`)}</section>
<section><h2>${t('station.events')}</h2>${none(t, d.events, html`<table id="events"><thead><tr><th>${t('col.time')}</th><th>${t('col.type')}</th><th>${t('col.severity')}</th><th>${t('col.device')}</th><th>${t('col.message')}</th></tr></thead><tbody>${eventRows}</tbody></table>`)}</section>`;
  return page(ctx, { title: clip(`${r.name ?? r.station_id}（${r.station_id}）`), nav: 'fleet', body, charts: d.heartbeats.length > 0 });
}
