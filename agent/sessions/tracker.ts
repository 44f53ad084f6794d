/**
 * The usage session tracker: feeds device state into the session rules (engine.ts) and keeps the
 * evidence safe. A session is written when it opens, checkpointed every `checkpoint_s`, and closed in
 * one transaction together with its durable usage record and the day's summary, so a power cut at any
 * instant leaves either an open session (recovered at the next start as `power_loss`) or a closed one
 * with exactly one record: never neither, never two. With `evidence` the record is sealed in that same
 * transaction (agent/evidence/chain.ts).
 */
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import type { DeviceCommand, DeviceState } from '../../drivers/types.js';
import type { EventBus } from '../bus.js';
import { observe, type Clock } from '../clock.js';
import type { CommandSource } from '../commands.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { EventLog } from '../events.js';
import type { DurableRecord, Outbox } from '../store/outbox.js';
import type { Store } from '../store/store.js';
import { SessionEngine, type SessionDraft, type SessionEffect, type SessionRules, type TrackedDevice } from './engine.js';
import { AnnotationSchema, UsageRecordSchema, type Annotation, type Trigger, type UsageRecord } from '../../protocol/usage-record.js';
import { querySessions, querySessionsPage, stationDay, type SessionRange, type SessionsPage } from './query.js';
import type { NoteRecord } from '../../protocol/chain-record.js';
import { unsealedChain, type ChainAppender } from '../evidence/chain.js';
import type { AnnotationEventData } from '../../protocol/event-record.js';

export interface SessionTrackerDeps {
  /** Sessions and the daily summary; the usage record goes to `store.outbox` in the same transaction. */
  store: Store;
  bus: EventBus;
  events: EventLog;
  clock: Clock;
  log: Logger;
  stationId: string;
  /** IANA zone of the station: the daily summary is per station day. */
  timezone: string;
  rules: SessionRules & { checkpoint_s: number };
  /** Every configured device; `usage` already resolved by the config loader. */
  devices: ReadonlyArray<{ id: string; kind: TrackedDevice['kind']; usage?: boolean | undefined }>;
  /** The persisted `agent_boot` counter of this run. */
  boot: () => number;
  /** Current device states at start (the supervisor's), so devices already on open a session. */
  states?: () => DeviceState[];
  /** Where usage records and notes go: sealed with `evidence` (agent/evidence/chain.ts); default unsealed. */
  chain?: ChainAppender;
}

export type AnnotateResult =
  | { session_id: string; status: 'saved' }
  | { session_id: string; status: 'edited'; seq: number }
  | { session_id: string; status: 'event'; seq: number; event_seq: number }
  | { session_id: string; status: 'note'; seq: number; note_seq: number };

export class SessionTracker {
  private readonly engine: SessionEngine;
  private timer: NodeJS.Timeout | undefined;
  private nextCheckpointMono = Infinity;
  private running = false;

  constructor(private readonly deps: SessionTrackerDeps) {
    this.engine = new SessionEngine(
      deps.rules,
      deps.devices.map((d) => ({ id: d.id, kind: d.kind, usage: d.usage === true })),
      { newId: () => ulid(), boot: deps.boot },
    );
  }

  /** Recovers sessions left open by a crash or power cut, then follows device state. */
  start(): void {
    this.recover();
    this.running = true;
    this.deps.bus.on('device.state', this, (state) => this.onState(state));
    for (const s of this.deps.states?.() ?? []) this.onState(s);
    this.arm();
  }

  /** Closes the open session with `agent_stop` (or at the start of a pending merge gap). */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.deps.bus.removeAll(this);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.handle(this.engine.stop(observe(this.deps.clock)));
  }

  openSessionId(): string | null {
    return this.engine.openSessionId();
  }

  /**
   * A device command is about to run. The integrator calls this for commands from the control socket
   * (`manual`) and the county (`county`); the scheduler calls it with `schedule:<id>`.
   */
  noteTrigger(trigger: Trigger): void {
    this.engine.noteTrigger(trigger, observe(this.deps.clock));
  }

  /** A `CommandObserver` for registerDeviceCommands: only switching something on can start a session. */
  beforeCommand(_deviceId: string, command: DeviceCommand, source: CommandSource): void {
    if (command.action !== 'power' || command.value === 'off') return;
    if (source === 'socket') this.noteTrigger('manual');
    else if (source === 'county') this.noteTrigger('county');
  }

  list(range: SessionRange = {}): UsageRecord[] {
    return querySessions(this.deps.store, this.deps.timezone, range);
  }

  /** One page of `list` (what `sessions.list` answers: a reply never grows with the ledger). */
  listPage(range: SessionRange & { after?: string | undefined }): SessionsPage {
    return querySessionsPage(this.deps.store, this.deps.timezone, range);
  }

  /**
   * Records what a session was about. While the session is open the note waits in its row and goes out
   * with its usage record. Once closed: with sealing, a sealed record is never edited, so the note is its
   * own sealed `note` record naming the session's seq (the county joins the latest one to it); without
   * sealing, the record is edited until the county has acknowledged it, and after that the note becomes
   * an `annotation` event. Fields given replace those stored; fields omitted are kept.
   */
  annotate(id: string, input: Annotation): AnnotateResult {
    const parsed = AnnotationSchema.safeParse(input);
    if (!parsed.success) {
      throw new AgentError(ErrorCodes.invalid_args, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    }
    const { store } = this.deps;
    let note: DurableRecord | undefined;
    const result = store.transaction((): AnnotateResult => {
      const row = store.sessions.byId(id);
      if (!row) throw new AgentError(ErrorCodes.not_found, `no session ${id}`);
      const merged: Annotation = { ...(row.annotation ? (JSON.parse(row.annotation) as Annotation) : {}), ...parsed.data };
      const text = JSON.stringify(merged);
      if (row.state === 'open' || row.seq === null) {
        store.sessions.setAnnotation(id, text);
        return { session_id: id, status: 'saved' };
      }
      if (this.chain.sealed) {
        note = this.appendNote(row.seq, merged);
        store.sessions.setAnnotation(id, text);
        return { session_id: id, status: 'note', seq: row.seq, note_seq: note.seq };
      }
      const payload = this.outbox.editUnacked(row.seq, (p) => ({ ...p, annotation: merged }));
      if (payload) {
        store.sessions.setRecord(id, JSON.stringify(payload), text);
        return { session_id: id, status: 'edited', seq: row.seq };
      }
      store.sessions.setAnnotation(id, text);
      return { session_id: id, status: 'event', seq: row.seq, event_seq: 0 };
    });
    // Announced after the commit, never from inside the transaction.
    if (note) this.deps.bus.emit('record.appended', note);
    if (result.status === 'event') {
      // The event append commits on its own: appending inside the transaction would announce it on the
      // bus before the commit.
      const ev = this.deps.events.append({
        type: 'annotation',
        severity: 'info',
        message: `annotation for usage record ${result.seq}`,
        data: { session_id: id, seq: result.seq, annotation: { ...this.storedAnnotation(id) } } satisfies AnnotationEventData,
      });
      return { ...result, event_seq: ev.seq };
    }
    return result;
  }

  private appendNote(sessionSeq: number, annotation: Annotation): DurableRecord {
    const ts = this.deps.clock.now().toISOString();
    return this.chain.append('note', ts, (seq, noteId, ledger) => {
      const payload: Omit<NoteRecord, 'prev' | 'epoch' | 'seal'> = { v: 1, id: noteId, seq, ledger, station_id: this.deps.stationId, ts, type: 'note', session_seq: sessionSeq, annotation };
      return payload;
    });
  }

  /** Usage records and notes: sealed or not, as the App wired it. */
  private get chain(): ChainAppender {
    return (this.deps.chain ??= unsealedChain(this.outbox));
  }

  /** The durable lane's view: the tracker touches usage records only through the Outbox interface. */
  private get outbox(): Outbox {
    return this.deps.store.outbox;
  }

  private storedAnnotation(id: string): Annotation {
    const row = this.deps.store.sessions.byId(id);
    return row?.annotation ? (JSON.parse(row.annotation) as Annotation) : {};
  }

  private onState(state: DeviceState): void {
    if (!this.running) return;
    this.handle(this.engine.update(state, observe(this.deps.clock)));
    this.arm();
  }

  private onTimer(): void {
    this.timer = undefined;
    if (!this.running) return;
    const obs = observe(this.deps.clock);
    this.handle(this.engine.tick(obs));
    if (this.engine.openSessionId() !== null && obs.monoMs >= this.nextCheckpointMono) {
      const draft = this.engine.snapshot(obs);
      if (draft) this.checkpoint(draft);
    }
    this.arm();
  }

  /** One timer: the next checkpoint or the next merge-gap/idle deadline, whichever is first. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || this.engine.openSessionId() === null) return;
    const now = this.deps.clock.monotonicMs();
    const deadline = this.engine.nextDeadline() ?? Infinity;
    const at = Math.min(deadline, this.nextCheckpointMono);
    const delay = Number.isFinite(at) ? Math.max(0, at - now) : this.deps.rules.checkpoint_s * 1000;
    this.timer = setTimeout(() => this.onTimer(), Math.min(delay, 2 ** 31 - 1));
  }

  private handle(effects: SessionEffect[]): void {
    for (const e of effects) {
      try {
        switch (e.type) {
          case 'open':
            this.deps.store.sessions.insertOpen(e.draft.id, e.draft.start, this.deps.clock.now().toISOString(), JSON.stringify(e.draft));
            this.scheduleCheckpoint();
            this.deps.log.info({ session: e.draft.id, trigger: e.draft.trigger }, 'usage session opened');
            break;
          case 'checkpoint':
            this.checkpoint(e.draft);
            break;
          case 'close': {
            const rec = this.close(e.draft);
            this.deps.log.info(
              { session: e.draft.id, seq: rec.seq, duration_s: e.draft.duration_s, end_reason: e.draft.end_reason },
              'usage session closed',
            );
            break;
          }
          case 'clock_jump':
            this.deps.events.append({
              type: 'clock_jump',
              severity: 'warning',
              message: `system clock jumped by ${Math.round(e.jump_ms / 1000)} s`,
              data: { jump_ms: e.jump_ms, session_id: e.session_id, clock: this.deps.clock.quality() },
            });
            break;
        }
      } catch (err) {
        // The open row and its last checkpoint survive: the next start recovers the session.
        this.deps.log.error({ err, effect: e.type }, 'cannot write usage session');
      }
    }
  }

  private scheduleCheckpoint(): void {
    this.nextCheckpointMono = this.deps.clock.monotonicMs() + this.deps.rules.checkpoint_s * 1000;
  }

  private checkpoint(draft: SessionDraft): void {
    this.deps.store.sessions.checkpoint(draft.id, this.deps.clock.now().toISOString(), JSON.stringify(draft));
    this.scheduleCheckpoint();
  }

  /** The session row, its durable usage record and the day's summary commit together or not at all. */
  private close(draft: SessionDraft): DurableRecord {
    const { store } = this.deps;
    const rec = store.transaction(() => {
      const row = store.sessions.byId(draft.id);
      const annotation = row?.annotation ? (JSON.parse(row.annotation) as Annotation) : null;
      const record = this.chain.append(
        'usage',
        draft.end,
        (seq, id, ledger) => {
          const payload: UsageRecord = { v: 1, seq, ledger, station_id: this.deps.stationId, ...draft, id, annotation };
          const check = UsageRecordSchema.safeParse(payload);
          // Never drop evidence over a schema slip: store it and shout.
          if (!check.success) this.deps.log.error({ issues: check.error.issues, session: draft.id }, 'usage record fails its schema');
          return payload;
        },
        draft.id,
      );
      if (row) store.sessions.close(draft.id, record.seq, draft.start, draft.end, JSON.stringify(record.payload));
      else store.sessions.insertClosed(draft.id, record.seq, draft.start, draft.end, JSON.stringify(record.payload));
      store.sessions.addToDailySummary({
        day: stationDay(draft.start, this.deps.timezone),
        short: draft.short ? 1 : 0,
        total_s: draft.duration_s,
        signal_s: draft.signal_s,
        seq: record.seq,
      });
      return record;
    });
    this.deps.bus.emit('record.appended', rec);
    return rec;
  }

  /**
   * Sessions left open by a crash or power cut: closed at their last checkpoint with `power_loss` (or,
   * when the checkpoint already knew the devices were off, with the reason and time it recorded).
   */
  private recover(): void {
    for (const row of this.deps.store.sessions.open()) {
      let draft: SessionDraft;
      try {
        draft = JSON.parse(row.record) as SessionDraft;
      } catch (err) {
        this.deps.log.error({ err, session: row.id }, 'open session has an unreadable checkpoint; left open for inspection');
        continue;
      }
      let rec: ReturnType<SessionTracker['close']>;
      try {
        rec = this.close(draft);
      } catch (err) {
        // A checkpoint that parses but cannot be closed (a damaged row, a hand edit) must not keep the
        // agent from starting: the row stays as it is, for a technician to look at.
        this.deps.log.error({ err, session: row.id }, 'open session has a damaged checkpoint; left open for inspection');
        continue;
      }
      this.deps.log.warn({ session: row.id, seq: rec.seq, end: draft.end }, 'closed a session left open by a crash or power cut');
      this.deps.events.append({
        type: 'power_loss_recovered',
        severity: 'warning',
        message: `usage session ${row.id} closed at its last checkpoint (${draft.end})`,
        data: { session_id: row.id, seq: rec.seq, start: draft.start, end: draft.end, duration_s: draft.duration_s, end_reason: draft.end_reason },
      });
    }
  }
}
