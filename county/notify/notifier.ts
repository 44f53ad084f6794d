/**
 * The group notifications in the collector (`run --notify FILE`): one loop that, while this collector
 * leads (the store's leadNotify: on PostgreSQL one collector of those sharing the database, on SQLite
 * the one), finds the news in what the county stored (detect.ts, periodic.ts), queues it in the
 * database with the marks that keep it from being told twice, and sends what is queued (dispatcher.ts).
 * Finding and sending are apart: a message queued by a collector that then died, or by the console, is
 * sent by whichever collector leads next. Nothing here throws out of the loop: a failed pass is logged
 * (rate-limited) and the next one tries again.
 */
import { LogLimiter } from '../../protocol/log-limit.js';
import type { Logger } from '../log.js';
import { monthlyReport } from '../report.js';
import type { CollectorStore, ConsoleStore } from '../store.js';
import type { VisitStore } from '../visit-store.js';
import { syncVisits } from '../visit-sync.js';
import { DEFAULT_VISIT_RULES, type VisitRules } from '../visits.js';
import { fleetViews } from '../console/pages/fleet.js';
import { diskNews, eventNews, linkNews, NEWS_EVENT_TYPES, type LinkJudge } from './detect.js';
import { Dispatcher } from './dispatcher.js';
import type { LoadedNotify } from './load.js';
import { countyClock, digestDue, digestNews, inQuietHours, monthlyDue, monthlyNews } from './periodic.js';
import { maskUrl, type RobotKind, type RobotOutcome, type RobotRequest } from './robots.js';

export interface NotifierIntervals {
  /** How often the loop runs (sending what is due). Default 1 000. */
  tickMs?: number;
  /** How often a follower asks for the lead, and a leader checks it still has it. Default 2 000. */
  leadMs?: number;
  /** How often stations and stored events are scanned for news. Default a quarter of the offline threshold, 1 000 to 5 000. */
  scanMs?: number;
}

export interface NotifierOptions {
  store: CollectorStore & Pick<ConsoleStore, 'fleet'> & VisitStore;
  notify: LoadedNotify;
  /**
   * The visit rule's thresholds (`visits.offline_after_s` as `offlineAfterS`; the collector passes its own)
   * and the zone of stations whose own is unknown (default the notify file's `timezone`). The notify
   * file's `station_offline_after_s`, when given, replaces `offlineAfterS` for the messages of a station
   * offline; the digest is the console's list, on the visit rules as given.
   */
  visits?: { rules?: Partial<VisitRules>; countyTz?: string };
  log: Logger;
  now?: () => number;
  /** The robots' HTTP (tests: a stand-in's answers). */
  send?: (kind: RobotKind, request: RobotRequest) => Promise<RobotOutcome>;
  intervals?: NotifierIntervals;
}

/** Settled items, messages and once-marks are kept this long (the console's history). */
export const NOTIFY_KEEP_DAYS = 90;
const EVENT_SCAN_STATIONS = 500;
/** The mark of when notifications began on this database: the past of the stations known then is no news. */
const SINCE_MARK = 'notify-since';

export class Notifier {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private leading = false;
  private dispatcher: Dispatcher | undefined;
  private readonly limiter: LogLimiter;
  private readonly now: () => number;
  private readonly tickMs: number;
  private readonly leadMs: number;
  private readonly scanMs: number;
  /** The digest's judge (the console's, the collector's visit pass) and the offline messages' (its threshold may be the notify file's). */
  private readonly visit: LinkJudge;
  private readonly link: LinkJudge;
  private last = { lead: -Infinity, scan: -Infinity, periodic: -Infinity, prune: -Infinity };
  private told = { digest: '', monthly: '' };
  /** When this database began telling (ISO): stations first seen since have their first events told. */
  private since = '';

  constructor(private readonly o: NotifierOptions) {
    this.limiter = new LogLimiter(o.log);
    this.now = o.now ?? Date.now;
    const rules = { ...DEFAULT_VISIT_RULES, ...o.visits?.rules };
    const countyTz = o.visits?.countyTz ?? o.notify.config.rules.timezone;
    this.visit = { rules, countyTz };
    this.link = { rules: { ...rules, offlineAfterS: o.notify.config.rules.station_offline_after_s ?? rules.offlineAfterS }, countyTz };
    const threshold = this.link.rules.offlineAfterS * 1000;
    this.tickMs = o.intervals?.tickMs ?? 1_000;
    this.leadMs = o.intervals?.leadMs ?? 2_000;
    this.scanMs = o.intervals?.scanMs ?? Math.min(5_000, Math.max(1_000, threshold / 4));
  }

  /** Whether this collector sends now. */
  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    const t = this.o.notify.targets;
    this.o.log.info({ file: this.o.notify.file, targets: t.map((x) => ({ id: x.id, kind: x.kind, url: maskUrl(x.url), towns: x.towns })) }, 'group notifications on');
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.schedule(this.tickMs);
      });
    }, ms);
  }

  private async pass(): Promise<void> {
    const s = this.o.notify;
    const store = this.o.store.notify;
    const now = this.now();
    try {
      if (now - this.last.lead >= this.leadMs) {
        this.last.lead = now;
        const lead = await store.leadNotify();
        if (lead && !this.leading) {
          this.dispatcher = new Dispatcher({
            queue: store,
            targets: s.targets,
            now: this.now,
            ...(this.o.send ? { send: this.o.send } : {}),
            quiet: (ms) => inQuietHours(ms, s.config.rules),
            onResult: (r) => store.noteTargetResult(r.id, r.lastResult ?? 'retry', r.lastReason, r.lastAtMs ?? this.now()),
          });
          await store.setNotifyTargets(s.targets.map((t) => ({ id: t.id, kind: t.kind, url: maskUrl(t.url), towns: t.towns, lang: t.lang })), now);
          // Set once, by the first collector that ever led on this database; read by every later one.
          await store.enqueueNews([{ items: [], guard: { key: SINCE_MARK, present: false }, marks: [{ key: SINCE_MARK, value: new Date(now).toISOString() }] }], now);
          this.since = (await store.notifyMarks(SINCE_MARK))[0]?.value ?? new Date(now).toISOString();
          this.last = { lead: now, scan: -Infinity, periodic: -Infinity, prune: this.last.prune };
          this.o.log.info({}, 'group notifications: this collector sends');
        } else if (!lead && this.leading) this.o.log.warn({}, 'group notifications: another collector sends now');
        this.leading = lead;
        if (!lead) this.dispatcher = undefined;
      }
      if (!this.leading || this.stopped) return;
      if (now - this.last.scan >= this.scanMs) {
        this.last.scan = now;
        await this.scan(now);
      }
      if (now - this.last.periodic >= 30_000) {
        this.last.periodic = now;
        await this.periodic(now);
      }
      if (now - this.last.prune >= 3_600_000) {
        this.last.prune = now;
        await store.pruneNotify(now - NOTIFY_KEEP_DAYS * 86_400_000);
      }
      await this.dispatcher?.tick();
    } catch (err) {
      this.limiter.warn({ err: (err as Error).message }, 'group notifications: a pass failed; the next one tries again');
    }
  }

  /** Stations gone offline or back, disks nearly full or freed, and the stored events past each station's cursor. */
  private async scan(now: number): Promise<void> {
    const { rules } = this.o.notify.config;
    const store = this.o.store.notify;
    // Candidates: offline, or without a heartbeat for the rule's silence (the rule itself decides).
    const rows = await store.notifyStations(new Date(now - this.link.rules.silentAfterS * 1000).toISOString());
    const marked = new Set((await store.notifyMarks('offline:')).map((m) => m.key));
    const link = linkNews(rows, marked, now, this.link, this.o.notify.targets);
    if (link.length) await store.enqueueNews(link, now);
    if (rules.disk_free_pct_below > 0) {
      const disks = await store.notifyDiskStations(rules.disk_free_pct_below);
      const diskMarked = new Set((await store.notifyMarks('disk:')).map((m) => m.key));
      const disk = diskNews(disks, diskMarked, rules, this.o.notify.targets);
      if (disk.length) await store.enqueueNews(disk, now);
    }
    const events = await store.notifyEvents(NEWS_EVENT_TYPES, EVENT_SCAN_STATIONS, this.since);
    if (events.stations.length) await store.enqueueNews(eventNews(events, rules, this.o.notify.targets), now);
  }

  /** The day's digest and the month's progress, each once, in their window. */
  private async periodic(now: number): Promise<void> {
    const { rules } = this.o.notify.config;
    const targets = this.o.notify.targets;
    const date = countyClock(now, rules.timezone).date;
    const day = digestDue(now, rules);
    if (day !== undefined && this.told.digest !== day) {
      // The visit items brought up to date first (the lifecycle pass the console runs before its list).
      const fleet = await this.o.store.fleet();
      const { visits } = await syncVisits(this.o.store, fleet, { nowMs: now, rules: this.visit.rules, countyTz: this.visit.countyTz });
      const views = fleetViews(fleet, now, this.visit.rules, this.visit.countyTz, visits);
      await this.o.store.notify.enqueueNews([digestNews(day, views, now, rules, targets)], now);
      this.told.digest = day;
    }
    const month = monthlyDue(now, rules);
    if (month !== undefined && this.told.monthly !== month) {
      await this.o.store.notify.enqueueNews([monthlyNews(await monthlyReport(this.o.store, month), date, now, rules, targets)], now);
      this.told.monthly = month;
    }
  }

  /** Ends the loop after the pass under way, and gives the lead up. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.leading = false;
    await this.o.store.notify.resignNotify().catch(() => undefined);
  }
}
