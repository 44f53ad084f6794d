/**
 * 操作日志 (admins only: guard.ts requireAudit): the audit log newest first, 50 a page, filtered by date
 * (in the county's time zone) and kind, and its CSV (BOM, the reader's headers, protocol/csv.ts). Each
 * entry is put in words here, once, for the page and the CSV alike.
 */
import { AUDIT_KINDS, parseAuditDetail, type AuditKind, type AuditRow } from '../../audit.js';
import { toCsv } from '../../../protocol/csv.js';
import { html, query } from '../html.js';
import { label, type ConsoleKey, type T } from '../i18n.js';
import { page, pager, type PageContext } from '../layout.js';
import { localTime } from '../time.js';
import { argsLine, stepWords, type StepLike, type WordsOf } from '../schedule-words.js';
import { clip } from '../station-words.js';
import { kindLabel } from '../visit-words.js';

export const AUDIT_PAGE_SIZE = 50;

export interface AuditView {
  from: string;
  to: string;
  kind: AuditKind | '';
  page: number;
  pages: number;
  total: number;
  rows: readonly AuditRow[];
  days: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

function roleWords(t: T, v: unknown): string {
  const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  const role = label(t, 'role', str(o['role']) || null);
  return typeof o['town'] === 'string' ? t('audit.d.role_town', { role, town: o['town'] }) : role;
}

function pushTarget(t: T, target: unknown): string {
  const o = target && typeof target === 'object' ? (target as Record<string, unknown>) : {};
  if (o['kind'] === 'station') return t('audit.d.target_station', { id: str(o['value']) });
  if (o['kind'] === 'town') return t('audit.d.target_town', { town: str(o['value']) });
  if (o['kind'] === 'all') return t('audit.d.target_all');
  return '';
}

/** A push's args as the history says them (schedule-words.ts), with its steps: devices by id, as the log keeps them. */
export function pushWords(t: T, args: unknown): string {
  const w: WordsOf = { t, device: (id) => clip(id) };
  const line = argsLine(w, JSON.stringify(args ?? {}));
  const schedule = args && typeof args === 'object' ? (args as Record<string, unknown>)['schedule'] : undefined;
  const raw = schedule && typeof schedule === 'object' ? (schedule as Record<string, unknown>)['steps'] : undefined;
  const steps = (Array.isArray(raw) ? raw : [])
    .slice(0, 20)
    .filter((x): x is StepLike => x !== null && typeof x === 'object' && typeof (x as StepLike).device === 'string' && typeof (x as StepLike).action === 'string');
  return steps.length ? `${line}${t('audit.d.steps', { steps: steps.map((x) => stepWords(w, x)).join(t('words.then')) })}` : line;
}

/** An entry in the reader's words: kind, account, target and details (never a raw code in zh). */
export function auditWords(t: T, r: AuditRow): { kind: string; actor: string; target: string; detail: string } {
  const d = parseAuditDetail(r.detail);
  const outside = d['outside'] === true;
  const kind = (AUDIT_KINDS as readonly string[]).includes(r.kind) ? t(`audit.kind.${r.kind}` as ConsoleKey) : r.kind;
  const actor = r.actor ?? (outside ? t('audit.d.outside_actor') : '');
  let target = r.target ?? '';
  let detail = '';
  switch (r.kind) {
    case 'sign_in':
      detail = roleWords(t, d);
      break;
    case 'sign_in_failed':
      detail =
        typeof d['not_itemised'] === 'number'
          ? t('audit.d.not_itemised', { n: d['not_itemised'], max: str(d['max']) })
          : d['reason'] === 'unknown_account'
            ? t('audit.d.unknown_account')
            : t('audit.d.wrong_password');
      break;
    case 'lockout':
      detail = t(d['what'] === 'address' ? 'audit.d.lock_address' : 'audit.d.lock_account', { min: str(d['min']) });
      break;
    case 'push':
      target = pushTarget(t, d['target']) || target;
      detail = [pushWords(t, d['args']), t('audit.d.stations', { n: str(d['stations']) })].filter(Boolean).join(t('list.sep'));
      break;
    case 'visit_ack':
    case 'visit_clear':
      target = t('audit.d.target_station', { id: str(d['station']) || target });
      detail = [typeof d['kind'] === 'string' ? kindLabel(t, d['kind']) : '', typeof d['note'] === 'string' ? t('audit.d.visit_note', { note: d['note'] }) : ''].filter(Boolean).join(t('list.sep'));
      break;
    case 'notify_test':
      target = t('audit.d.target_group', { id: str(d['target']) || target });
      break;
    case 'account_add':
    case 'account_remove':
      detail = roleWords(t, d);
      break;
    case 'account_role':
      detail = t('audit.d.change', { from: roleWords(t, d['from']), to: roleWords(t, d['to']) });
      break;
    case 'audit_export':
      detail = t('audit.d.rows', { n: str(d['rows']) });
      break;
  }
  if (outside) detail = [detail, t('audit.d.outside')].filter(Boolean).join(t('list.sep'));
  return { kind, actor, target, detail };
}

export function renderAudit(ctx: PageContext, v: AuditView): string {
  const { t } = ctx;
  const filters = { from: v.from || undefined, to: v.to || undefined, kind: v.kind || undefined };
  const rows = v.rows.map((r) => {
    const w = auditWords(t, r);
    return html`<tr data-kind="${r.kind}"><td>${localTime(r.at, ctx.tz, true)}</td><td>${w.kind}</td><td>${w.actor}</td><td>${r.address ?? ''}</td><td>${w.target}</td><td>${w.detail}</td></tr>`;
  });
  const body = html`<p class="muted">${t('audit.note', { days: v.days })}</p>
<form method="get" action="/audit" class="filters" id="audit-filters">
  <label>${t('audit.from')} <input type="date" name="from" value="${v.from}"></label>
  <label>${t('audit.to')} <input type="date" name="to" value="${v.to}"></label>
  <label>${t('audit.kind')} <select name="kind"><option value="">${t('audit.all_kinds')}</option>${AUDIT_KINDS.map((k) => html`<option value="${k}"${k === v.kind ? html` selected` : ''}>${t(`audit.kind.${k}`)}</option>`)}</select></label>
  <button type="submit">${t('audit.show')}</button>
  <a class="button" id="audit-csv" href="/audit.csv${query(filters)}" download>${t('audit.csv')}</a>
</form>
<section>${
    v.rows.length
      ? html`<table id="audit"><thead><tr><th>${t('col.when')}</th><th>${t('audit.kind')}</th><th>${t('col.actor')}</th><th>${t('col.address')}</th><th>${t('col.target')}</th><th>${t('col.detail')}</th></tr></thead>
<tbody>${rows}</tbody></table>`
      : html`<p class="muted">${t('audit.none')}</p>`
  }
${pager(t, '/audit', filters, v.page, v.pages, v.total)}</section>`;
  return page(ctx, { title: t('audit.title'), nav: 'audit', body });
}

/** The CSV of `rows` (BOM for Excel, the reader's headers, times in the county's zone), with a last line when cut. */
export function auditCsv(t: T, rows: readonly AuditRow[], tz: string, more: boolean, max: number): string {
  const header = [t('col.when'), t('audit.kind'), t('col.actor'), t('col.address'), t('col.target'), t('col.detail')];
  const body = rows.map((r) => {
    const w = auditWords(t, r);
    return [localTime(r.at, tz, true), w.kind, w.actor, r.address ?? '', w.target, w.detail];
  });
  if (more) body.push([t('audit.csv_more', { max }), '', '', '', '', '']);
  return toCsv(header, body, { bom: true, trailingEol: true });
}
