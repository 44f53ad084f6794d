/**
 * stationctl sessions, session note, events, schedule. The read-only ones ask the daemon and, when it is
 * down (or too old to know the command), read the database opened read-only: the ledger is the evidence
 * a technician must be able to show even with the agent stopped.
 */
import type { Command } from 'commander';
import type { ScheduleConfig } from '../../protocol/schedule.js';
import type { UsageRecord } from '../../protocol/usage-record.js';
import { listEventsPage, type EventsPage } from '../events.js';
import { type EventRecord } from '../../protocol/event-record.js';
import type { Store } from '../store/store.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { MessageKey, Translate } from '../i18n/index.js';
import type { CliContext } from './context.js';
import { querySessionsPage, toCsv as sessionsToCsv, type SessionsPage } from '../sessions/query.js';
import { listSchedules, type ScheduleListing } from '../scheduler/listing.js';
import { renderTable, wrap } from '../../protocol/table.js';
import { formatDuration, localTime, parseWhen } from './time.js';
import { eventWords } from '../../protocol/words/events.js';

export interface SessionsQuery {
  since?: string;
  until?: string;
}

export type ScheduleEntry = ScheduleListing;

/** The daemon's `schedule.list`, from the database (or the config alone when there is none yet). */
export function scheduleFromDb(store: Store | undefined, schedules: ScheduleConfig[], timezone: string): ScheduleEntry[] {
  return listSchedules({ store, schedules, timezone, now: new Date() });
}

function triggerText(t: Translate, trigger: string): string {
  if (trigger.startsWith('schedule:')) return t('trigger.schedule', { id: trigger.slice('schedule:'.length) });
  return t(`trigger.${trigger}` as MessageKey);
}

function annotationText(t: Translate, a: UsageRecord['annotation']): string {
  if (!a) return '-';
  const parts = [a.topic, a.attendees !== undefined ? t('sessions.attendees', { count: a.attendees }) : undefined, a.organiser];
  return parts.filter(Boolean).join(', ') || '-';
}

/** The sessions table of one page (the totals line comes after the last page). */
function sessionsTable(ctx: CliContext, records: UsageRecord[], tz: string): string {
  const { t } = ctx;
  return renderTable(
      [t('col.id'), t('col.start'), t('col.duration'), t('col.trigger'), t('col.annotation')],
      records.map((r) => [r.id, localTime(r.start, tz), formatDuration(r.duration_s), triggerText(t, r.trigger), annotationText(t, r.annotation)]),
      80,
      // The id is needed whole (for session note); the trigger gives way to the topic.
    [undefined, undefined, undefined, 12],
  );
}

/**
 * Streams a JSON array page by page, laid out as `JSON.stringify(all, null, 2)` would: scripts reading
 * `stationctl --json events` get the same text as before pages, without the whole array in memory.
 */
function jsonArrayWriter(c: CliContext): (items: readonly unknown[], last: boolean) => Promise<void> {
  let opened = false;
  return async (items, last) => {
    const body = items.map((item) => JSON.stringify([item], null, 2).slice(2, -2)).join(',\n');
    let text = '';
    if (body) text += opened ? `,\n${body}` : `[\n${body}`;
    if (body) opened = true;
    if (last) text += opened ? '\n]\n' : '[]\n';
    if (text) await c.write(text);
  };
}

export function renderEvents(ctx: CliContext, events: EventRecord[], tz: string): string {
  const { t } = ctx;
  if (events.length === 0) return t('events.none');
  return renderTable(
    [t('col.time'), t('col.severity'), t('col.id'), t('col.event')],
    events.map((e) => [localTime(e.ts, tz), t(`severity.${e.severity}` as MessageKey), e.device ?? '-', `${t(`event.${e.type}` as MessageKey)}: ${eventDetail(ctx, e, tz)}`]),
  );
}

/**
 * The event's detail in the reader's language (agent/cli/event-words.ts, shared with the county console).
 * What the catalogue cannot put in words is shown as stationctl always did: the stored message in
 * English; in Chinese an unknown fault by its code, anything else as '-'.
 */
export function eventDetail(ctx: CliContext, e: EventRecord, tz: string): string {
  const w = eventWords(ctx.t, ctx.opts.lang, e, tz);
  if (!w.own) return w.text || '-';
  if (ctx.opts.lang === 'en') return e.message;
  return w.code !== undefined ? ctx.t('event_detail.fault', { code: w.code }) : '-';
}

export function renderSchedule(ctx: CliContext, entries: ScheduleEntry[], tz: string): string {
  const { t } = ctx;
  if (entries.length === 0) return t('schedule.none');
  return renderTable(
    [t('col.id'), t('col.cron'), t('col.duration'), t('col.next_run'), t('col.last_run')],
    entries.map((e) => [
      e.source === 'county' ? `${e.id} (${t('schedule.county')})` : e.id,
      e.cron,
      formatDuration(e.duration_min * 60),
      e.enabled ? localTime(e.next_runs[0], tz) : t('schedule.disabled'),
      e.last_run ? `${localTime(e.last_run.started_at, tz)} ${outcomeText(t, e.last_run.outcome)}`.trim() : '-',
    ]),
  );
}

function outcomeText(t: Translate, o: NonNullable<ScheduleEntry['last_run']>['outcome']): string {
  const phases = [o?.start, o?.end].filter((p) => p !== undefined);
  if (phases.length === 0) return '';
  return t(phases.every((p) => p.ok) ? 'schedule.ok' : 'schedule.failed');
}

function positiveInt(text: string, name: string, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new AgentError(ErrorCodes.invalid_args, `${name} must be a whole number 0..${max}`);
  return n;
}

export function registerRecordCommands(program: Command, ctx: () => CliContext): void {
  program
    .command('sessions')
    .description('usage sessions (the evidence) / 使用时段记录')
    .option('--since <date>', 'from this day (YYYY-MM-DD, 7d, ISO time) / 起始日期')
    .option('--until <date>', 'up to and including this day / 截止日期（含当天）')
    .option('--csv', 'CSV for the monthly hand-in / 导出 CSV', false)
    .action(async (opts: { since?: string; until?: string; csv: boolean }) => {
      const c = ctx();
      const cfg = c.config();
      const tz = cfg.station.timezone;
      const q: SessionsQuery = {
        ...(opts.since ? { since: parseWhen(opts.since, tz) } : {}),
        ...(opts.until ? { until: parseWhen(opts.until, tz, true) } : {}),
      };
      let open: { id: string; start: string } | undefined;
      const json = jsonArrayWriter(c);
      const totals = { count: 0, duration_s: 0, short: 0 };
      // Page by page, from the daemon or the database: 1,000 sessions or 100,000, the memory is one page.
      await c.paged<SessionsPage>(
        'sessions.list',
        q as Record<string, unknown>,
        (store, args) => {
          if (!args.after) open = store.sessions.latestOpen();
          // As before pages: from the database, a session without a note says so (annotation: null).
          const page = querySessionsPage(store, tz, args as SessionsQuery & { after?: string });
          return { ...page, sessions: page.sessions.map((r) => ({ ...r, annotation: r.annotation ?? null })) };
        },
        (data) => (Array.isArray(data) ? { sessions: data as UsageRecord[], more: null } : (data as SessionsPage)),
        async (page, first) => {
          const records = page.sessions;
          const last = page.more === null;
          if (opts.csv) {
            const csv = sessionsToCsv(records, c.opts.lang, tz, first);
            return c.write(last ? `${csv.replace(/\r\n$/, '')}\n` : csv);
          }
          if (c.opts.json) return json(records, last);
          totals.count += records.length;
          totals.duration_s += records.reduce((a, r) => a + r.duration_s, 0);
          totals.short += records.filter((r) => r.short).length;
          if (records.length > 0) await c.write(`${wrap(sessionsTable(c, records, tz), 80).join('\n')}\n`);
          if (!last) return;
          const tail =
            totals.count === 0
              ? [c.t('sessions.none')]
              : ['', c.t('sessions.total', { count: totals.count, duration: formatDuration(totals.duration_s), short: totals.short })];
          if (open) tail.push(c.t('sessions.open', { id: open.id, start: localTime(open.start, tz) }));
          await c.write(`${wrap(tail.join('\n'), 80).join('\n')}\n`);
        },
      );
    });

  const session = program.command('session').description('one usage session / 单个使用时段');
  session
    .command('note <id>')
    .description('record what a session was: topic, attendees, organiser / 登记学习内容、人数、组织者')
    .option('--topic <text>', 'topic / 主题')
    .option('--attendees <n>', 'number of attendees / 参加人数')
    .option('--organiser <name>', 'organiser / 组织者')
    .option('--note <text>', 'free text / 备注')
    .action(async (id: string, opts: { topic?: string; attendees?: string; organiser?: string; note?: string }) => {
      const c = ctx();
      const args = {
        id,
        ...(opts.topic !== undefined ? { topic: opts.topic } : {}),
        ...(opts.attendees !== undefined ? { attendees: positiveInt(opts.attendees, '--attendees', 100_000) } : {}),
        ...(opts.organiser !== undefined ? { organiser: opts.organiser } : {}),
        ...(opts.note !== undefined ? { note: opts.note } : {}),
      };
      if (Object.keys(args).length === 1) throw new AgentError(ErrorCodes.invalid_args, c.t('session.note_empty', { options: '--topic, --attendees, --organiser, --note' }));
      const data = await c.call<unknown>('session.note', args);
      c.print(data, () => c.t('session.noted', { id }));
    });

  program
    .command('events')
    .description('faults, warnings, schedule runs, agent starts / 事件记录')
    .option('--since <date>', 'from this day (YYYY-MM-DD, 7d, ISO time) / 起始日期')
    .option('--limit <n>', 'at most this many, newest / 最多显示条数', '50')
    .action(async (opts: { since?: string; limit: string }) => {
      const c = ctx();
      const tz = c.config().station.timezone;
      const since = opts.since ? parseWhen(opts.since, tz) : undefined;
      const limit = Math.max(1, positiveInt(opts.limit, '--limit', 100_000));
      const json = jsonArrayWriter(c);
      let shown = 0;
      await c.paged<EventsPage>(
        'events.list',
        { ...(since ? { since } : {}), limit },
        (store, args) => listEventsPage(store, args as { since?: string; limit: number; after?: number }),
        (data) => (Array.isArray(data) ? { events: data as EventRecord[], more: null } : (data as EventsPage)),
        async (page) => {
          const last = page.more === null;
          if (c.opts.json) return json(page.events, last);
          shown += page.events.length;
          if (page.events.length > 0) await c.write(`${wrap(renderEvents(c, page.events, tz), 80).join('\n')}\n`);
          else if (last && shown === 0) await c.write(`${c.t('events.none')}\n`);
        },
      );
    });

  const schedule = program
    .command('schedule')
    .description('viewing schedules, next and last runs / 播放计划')
    .action(async () => {
      const c = ctx();
      const cfg = c.config();
      const tz = cfg.station.timezone;
      const { data } = await c.callOrDb<ScheduleEntry[]>('schedule.list', {}, (store) => scheduleFromDb(store, cfg.schedules, tz)).catch((err: unknown) => {
        // No database yet (never started): the config still says what is planned.
        if (err instanceof AgentError && err.code === ErrorCodes.db_open) return { data: scheduleFromDb(undefined, cfg.schedules, tz), live: false };
        throw err;
      });
      c.print(data, () => renderSchedule(c, data, tz));
    });
  schedule
    .command('run <id>')
    .description('run a schedule now, e.g. to try a room after installing it / 立即试运行播放计划')
    .option('--minutes <n>', 'length of this run (default: the schedule\'s own) / 本次时长（分钟）')
    .action(async (id: string, opts: { minutes?: string }) => {
      const c = ctx();
      const minutes = opts.minutes === undefined ? undefined : Number(opts.minutes);
      if (minutes !== undefined && !(minutes > 0 && minutes <= 24 * 60)) throw new AgentError(ErrorCodes.invalid_args, '--minutes must be between 0 and 1440');
      const res = await c.call<{ id: string; duration_min: number }>('schedule.run', { id, ...(minutes !== undefined ? { duration_min: minutes } : {}) });
      c.print(res, () => c.t('schedule.run_started', { id: res.id, minutes: res.duration_min, cmd: 'stationctl events' }));
    });
}

