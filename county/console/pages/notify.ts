/**
 * The group notifications page (通知): for operators the robots the collector's notify file names (their
 * URLs masked: they hold the robots' keys), each one's last result and a button that sends it a test
 * message, the queue, and what will never be sent (a wrong key or signature) with its target; for
 * everyone the history of what was sent to whom. Changing targets stays in the file.
 */
import { TARGET_REMOVED, type NotifyCounts, type NotifyItemRow, type NotifyMessageRow, type NotifyTargetRow } from '../../notify/queue.js';
import { html, type Html } from '../html.js';
import type { ConsoleKey, T } from '../i18n.js';
import { csrfField, page, type PageContext } from '../layout.js';
import { clip, moreHtml } from '../station-words.js';
import { localTime } from '../time.js';

export interface NotifyData {
  operator: boolean;
  targets: NotifyTargetRow[];
  counts: NotifyCounts[];
  queued: NotifyItemRow[];
  failed: NotifyItemRow[];
  history: NotifyMessageRow[];
  /** A target a test message was just queued for. */
  tested: string | null;
}

/** Rows shown per table; the queue says how many more wait. */
export const NOTIFY_ROWS = 50;

/** A robot's answer in a clerk's words (the vendor's own code and text on hover), never a bare code. */
export function reasonWords(t: T, reason: string | null): { text: string; title: string } {
  if (reason === null) return { text: '', title: '' };
  const code = /^(\d+)\b/.exec(reason)?.[1];
  const key: ConsoleKey = reason === TARGET_REMOVED
    ? 'notify.reason.removed'
    : code === '45009' || code === '130101' || code === '11232' || code === '230020' || reason === 'HTTP 429'
      ? 'notify.reason.rate'
      : code === '310000' || code === '19021'
        ? 'notify.reason.sign'
        : code === '93000' || code === '300001' || code === '19001' || reason === 'HTTP 404'
          ? 'notify.reason.url'
          : reason === 'timeout' || reason.startsWith('network:')
            ? 'notify.reason.network'
            : /^HTTP 5\d\d$/.test(reason)
              ? 'notify.reason.server'
              : 'notify.reason.other';
  return { text: t(key), title: clip(reason) };
}

const reasonHtml = (t: T, reason: string | null): Html => {
  const r = reasonWords(t, reason);
  return r.text ? html`<span title="${r.title}">${r.text}</span>` : html``;
};

const RESULT_BADGE = { sent: 'online', retry: 'silent', failed: 'offline' } as const;

function resultHtml(t: T, r: NotifyTargetRow): Html {
  if (r.last_result === null) return html`<span class="badge unknown">${t('notify.result.none')}</span>`;
  return html`<span class="badge ${RESULT_BADGE[r.last_result]}">${t(`notify.result.${r.last_result}`)}</span>`;
}

/** What a queued item is about: its kind, town and station. */
function itemWhat(t: T, i: NotifyItemRow): string {
  const n = i.notice;
  const where = [n.town, n.station_name ?? n.station_id].filter((x): x is string => typeof x === 'string' && x !== '').join(' ');
  return `${t(`notify.kind.${n.kind}` as ConsoleKey)}${where ? ` · ${clip(where)}` : ''}`;
}

function targetsSection(ctx: PageContext, d: NotifyData): Html {
  const { t } = ctx;
  if (d.targets.length === 0) return html`<p class="note" id="notify-off">${t('notify.off')}</p>`;
  const counts = new Map(d.counts.map((c) => [c.target, c]));
  const rows = d.targets.map(
    (r) => html`<tr data-target="${r.id}"><td>${r.id}</td><td>${t(`notify.robot.${r.kind}` as ConsoleKey)}</td><td class="url">${r.url}</td>
      <td>${r.towns === 'all' ? t('notify.towns_all') : r.towns.join(t('list.sep'))}</td><td>${r.lang === 'zh' ? '中文' : 'English'}</td>
      <td class="num">${counts.get(r.id)?.queued ?? 0}</td>
      <td>${resultHtml(t, r)} ${reasonHtml(t, r.last_reason)}${r.last_ms === null ? '' : html` <span class="muted">${localTime(r.last_ms, ctx.tz)}</span>`}</td>
      <td><form method="post" action="/notify/test" class="inline">${csrfField(ctx)}<input type="hidden" name="target" value="${r.id}"><button type="submit">${t('notify.test')}</button></form></td></tr>`,
  );
  return html`<table id="notify-targets"><thead><tr><th>${t('notify.col.target')}</th><th>${t('notify.col.kind')}</th><th>${t('notify.col.url')}</th><th>${t('notify.col.towns')}</th>
  <th>${t('notify.col.lang')}</th><th>${t('notify.col.queued')}</th><th>${t('notify.col.last')}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

function queueSection(ctx: PageContext, d: NotifyData): Html {
  const { t } = ctx;
  const waiting = d.counts.reduce((n, c) => n + c.queued, 0);
  if (d.queued.length === 0) return html`<p class="muted" id="notify-queue-empty">${t('notify.queue_empty')}</p>`;
  const rows = d.queued.map(
    (i) => html`<tr><td>${localTime(i.created_ms, ctx.tz)}</td><td>${i.target}</td><td>${itemWhat(t, i)}</td><td class="num">${i.attempts}</td>
      <td>${i.attempts > 0 ? localTime(i.next_ms, ctx.tz, true) : t('notify.now')}</td><td>${reasonHtml(t, i.reason)}</td></tr>`,
  );
  return html`<p>${t('notify.queue_count', { n: waiting })}${moreHtml(t, Math.max(0, waiting - d.queued.length))}</p>
<table id="notify-queue"><thead><tr><th>${t('notify.col.queued_at')}</th><th>${t('notify.col.target')}</th><th>${t('notify.col.what')}</th><th>${t('notify.col.attempts')}</th>
  <th>${t('notify.col.next')}</th><th>${t('notify.col.reason')}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function failedSection(ctx: PageContext, d: NotifyData): Html {
  const { t } = ctx;
  if (d.failed.length === 0) return html`<p class="muted">${t('notify.failed_none')}</p>`;
  const rows = d.failed.map(
    (i) => html`<tr data-target="${i.target}"><td>${localTime(i.settled_ms, ctx.tz)}</td><td>${i.target}</td><td>${itemWhat(t, i)}</td><td class="bad">${reasonHtml(t, i.reason)}</td></tr>`,
  );
  return html`<table id="notify-failed"><thead><tr><th>${t('notify.col.time')}</th><th>${t('notify.col.target')}</th><th>${t('notify.col.what')}</th><th>${t('notify.col.reason')}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function historySection(ctx: PageContext, d: NotifyData): Html {
  const { t } = ctx;
  if (d.history.length === 0) return html`<p class="muted" id="notify-history-empty">${t('notify.history_none')}</p>`;
  const rows = d.history.map(
    (m) => html`<tr><td>${localTime(m.sent_ms, ctx.tz)}</td><td>${m.target}</td><td class="message">${clip(m.text)}</td><td class="num">${m.items}</td></tr>`,
  );
  return html`<table id="notify-history"><thead><tr><th>${t('notify.col.time')}</th><th>${t('notify.col.target')}</th><th>${t('notify.col.text')}</th><th>${t('notify.col.items')}</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderNotify(ctx: PageContext, d: NotifyData): string {
  const { t } = ctx;
  const operatorPart = d.operator
    ? html`${d.tested === null ? '' : html`<p class="note" id="notify-tested" role="status">${t('notify.tested', { target: d.tested })}</p>`}
<section><h2>${t('notify.targets')}</h2>${targetsSection(ctx, d)}</section>
<section><h2>${t('notify.queue')}</h2>${queueSection(ctx, d)}</section>
<section><h2>${t('notify.failed')}</h2>${failedSection(ctx, d)}</section>`
    : html`<p class="note" id="viewer-note">${t('notify.viewer')}</p>`;
  const body = html`<p class="muted">${t('notify.about')}</p>
${operatorPart}
<section><h2>${t('notify.history')}</h2>${historySection(ctx, d)}</section>`;
  return page(ctx, { title: t('nav.notify'), nav: 'notify', body });
}
