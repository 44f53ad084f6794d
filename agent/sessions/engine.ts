/**
 * The session rules of docs/design.md §6 as pure logic: fed device states and clock observations, it says
 * when a session opens, when it must be checkpointed and what its record is when it closes. No I/O and
 * no timers, so every rule is unit-tested with invented time.
 *
 * Durations come from the monotonic clock only. Wall-clock times are derived from one anchor
 * observation (start = anchor.wall - (anchor.mono - start.mono)), so a session can never end before
 * it starts nor last longer than it ran, whatever the wall clock does meanwhile.
 */
import type { DeviceKind, DeviceState } from '../../drivers/types.js';
import { wallJumpMs, type ClockObservation } from '../clock.js';
import { SESSION_RULE_VERSION, type EndReason, type Trigger, type UsageRecord } from '../../protocol/usage-record.js';

export interface SessionRules {
  min_s: number;
  merge_gap_s: number;
  idle_cutoff_s: number;
}

export interface TrackedDevice {
  id: string;
  kind: DeviceKind;
  usage: boolean;
}

/** A usage record without the ledger's fields: what the engine knows about a session. */
export type SessionDraft = Omit<UsageRecord, 'v' | 'seq' | 'ledger' | 'station_id' | 'annotation' | 'historical'>;

export type SessionEffect =
  | { type: 'open'; draft: SessionDraft }
  | { type: 'checkpoint'; draft: SessionDraft }
  | { type: 'close'; draft: SessionDraft }
  | { type: 'clock_jump'; jump_ms: number; session_id: string | null };

/** A command's trigger is credited to a session that opens within this long (projector warm-up, polls). */
export const TRIGGER_WINDOW_MS = 5 * 60_000;

interface View {
  online: boolean;
  active: boolean;
  /** Warming up: in use, but no picture can be expected yet. */
  warming: boolean;
  input: string | null;
  /** Picture/stream evidence: true, false, or null when the device cannot tell right now. */
  signal: boolean | null;
}

interface OpenSession {
  id: string;
  startMono: number;
  anchor: ClockObservation;
  startSynced: boolean;
  corrected: boolean;
  trigger: Trigger;
  boot: number;
  /** Accrued up to here. */
  accruedTo: number;
  onMs: Map<string, number>;
  inputMs: Map<string, { device: string; input: string; ms: number }>;
  signalMs: number;
  gapSince: number | null;
  gapReason: EndReason;
  noSignalSince: number | null;
}

export function isActive(s: Pick<DeviceState, 'online' | 'power'>): boolean {
  return s.online && (s.power === 'on' || s.power === 'warming');
}

function viewOf(s: DeviceState): View {
  const active = isActive(s);
  const warming = active && s.power === 'warming';
  let signal: boolean | null = null;
  // A set-top box says whether it is playing; a projector only has a picture while it is on (while it
  // warms up its `signal` is whatever it was before, so it tells nothing).
  if (s.kind === 'settopbox') signal = s.online && typeof s.playing === 'boolean' ? s.playing : null;
  else if (active && !warming && typeof s.signal === 'boolean') signal = s.signal;
  return { online: s.online, active, warming, input: active && typeof s.input === 'string' ? s.input : null, signal };
}

export class SessionEngine {
  private readonly devices: Map<string, TrackedDevice>;
  private readonly views = new Map<string, View>();
  private session: OpenSession | undefined;
  /** After an idle cut-off the devices are still on: no new session until a signal or an off/on. */
  private suppressed = false;
  private pendingTrigger: { trigger: Trigger; atMono: number } | undefined;
  private lastObs: ClockObservation | undefined;

  constructor(
    private readonly rules: SessionRules,
    devices: readonly TrackedDevice[],
    private readonly deps: { newId: () => string; boot: () => number },
  ) {
    this.devices = new Map(devices.map((d) => [d.id, d]));
  }

  openSessionId(): string | null {
    return this.session?.id ?? null;
  }

  /** A command is about to switch something on: credit the session it opens. */
  noteTrigger(trigger: Trigger, obs: ClockObservation): void {
    this.pendingTrigger = { trigger, atMono: obs.monoMs };
  }

  update(state: DeviceState, obs: ClockObservation): SessionEffect[] {
    const out = this.observe(obs);
    this.advance(obs, out);
    const before = this.views.get(state.id);
    const view = viewOf(state);
    this.views.set(state.id, view);
    this.apply(obs, out, before !== undefined && before.online && !view.online);
    return out;
  }

  /** Called at (or after) `nextDeadline()` and at checkpoint time. */
  tick(obs: ClockObservation): SessionEffect[] {
    const out = this.observe(obs);
    this.advance(obs, out);
    return out;
  }

  /** The monotonic time at which `tick` must run for a merge gap or idle cut-off to end the session. */
  nextDeadline(): number | null {
    const s = this.session;
    if (!s) return null;
    if (s.gapSince !== null) return s.gapSince + this.rules.merge_gap_s * 1000;
    if (s.noSignalSince !== null) return s.noSignalSince + this.rules.idle_cutoff_s * 1000;
    return null;
  }

  /** The record as it would be if the power failed now: what a checkpoint stores. Call `tick` first. */
  snapshot(obs: ClockObservation): SessionDraft | null {
    const s = this.session;
    if (!s) return null;
    this.accrue(obs.monoMs);
    return s.gapSince !== null ? this.draft(s, s.gapSince, s.gapReason, obs) : this.draft(s, obs.monoMs, 'power_loss', obs);
  }

  /** The agent is stopping: close the open session (at the start of a pending gap if there is one). */
  stop(obs: ClockObservation): SessionEffect[] {
    const out = this.observe(obs);
    this.advance(obs, out);
    const s = this.session;
    if (s) {
      this.accrue(obs.monoMs);
      out.push(this.close(s.gapSince ?? obs.monoMs, s.gapSince !== null ? s.gapReason : 'agent_stop', obs));
    }
    return out;
  }

  private observe(obs: ClockObservation): SessionEffect[] {
    const out: SessionEffect[] = [];
    const prev = this.lastObs;
    this.lastObs = obs;
    if (!prev) return out;
    const jump = wallJumpMs(prev, obs);
    if (jump === 0) return out;
    const s = this.session;
    if (s) {
      s.corrected = true;
      // Trust the latest synchronised reading; an unsynchronised one only replaces another unsynchronised one.
      if (obs.synced || !s.anchor.synced) s.anchor = obs;
    }
    out.push({ type: 'clock_jump', jump_ms: jump, session_id: s?.id ?? null });
    return out;
  }

  /** Moves accounting up to `obs`, firing any merge-gap or idle deadline at its exact time on the way. */
  private advance(obs: ClockObservation, out: SessionEffect[]): void {
    for (;;) {
      const s = this.session;
      const d = this.nextDeadline();
      if (!s || d === null || d > obs.monoMs) break;
      this.accrue(d);
      if (s.gapSince !== null) {
        out.push(this.close(s.gapSince, s.gapReason, obs));
      } else {
        out.push(this.close(d, 'idle', obs));
        this.suppressed = true;
      }
    }
    this.accrue(obs.monoMs);
  }

  private accrue(toMono: number): void {
    const s = this.session;
    if (!s || toMono <= s.accruedTo) return;
    const dt = toMono - s.accruedTo;
    s.accruedTo = toMono;
    let signal = false;
    for (const [id, v] of this.views) {
      if (v.signal === true) signal = true;
      const dev = this.devices.get(id);
      if (!dev?.usage || !v.active) continue;
      s.onMs.set(id, (s.onMs.get(id) ?? 0) + dt);
      if (v.input !== null) {
        const key = `${id}\u0000${v.input}`;
        const e = s.inputMs.get(key) ?? { device: id, input: v.input, ms: 0 };
        e.ms += dt;
        s.inputMs.set(key, e);
      }
    }
    if (signal && s.gapSince === null) s.signalMs += dt;
  }

  private apply(obs: ClockObservation, out: SessionEffect[], wentOffline: boolean): void {
    const anyActive = [...this.views].some(([id, v]) => v.active && this.devices.get(id)?.usage === true);
    const signal = this.signal();
    const s = this.session;
    if (s) {
      if (s.gapSince !== null && anyActive) {
        s.gapSince = null;
      } else if (s.gapSince === null && !anyActive) {
        s.gapSince = obs.monoMs;
        s.gapReason = wentOffline ? 'device_offline' : 'devices_off';
        // The end time of this session is now known: store it, in case the power goes before the gap ends.
        out.push({ type: 'checkpoint', draft: this.draft(s, s.gapSince, s.gapReason, obs) });
      }
      // A device switched on during the session is named in the stored record at once: a power cut before
      // the next checkpoint must not leave it out of the evidence.
      if (this.markActive(s) && s.gapSince === null) out.push({ type: 'checkpoint', draft: this.draft(s, obs.monoMs, 'power_loss', obs) });
      this.trackSignal(s, signal, obs.monoMs);
      return;
    }
    if (!anyActive) {
      this.suppressed = false;
      return;
    }
    if (this.suppressed && signal !== true) return;
    this.suppressed = false;
    this.open(obs, signal, out);
  }

  /** Names every usage device that is on or warming in the session (0 s so far); true when one is new. */
  private markActive(s: OpenSession): boolean {
    let added = false;
    for (const [id, v] of this.views) {
      if (!v.active || this.devices.get(id)?.usage !== true || s.onMs.has(id)) continue;
      s.onMs.set(id, 0);
      added = true;
    }
    return added;
  }

  private trackSignal(s: OpenSession, signal: boolean | null, mono: number): void {
    // No picture is expected while a projector warms up (up to 100 s, longer than the shortest idle
    // cut-off): warming is use, and the idle clock starts only once it is on.
    const warming = [...this.views].some(([id, v]) => v.warming && this.devices.get(id)?.usage === true);
    if (signal === false && !warming) s.noSignalSince ??= mono;
    else s.noSignalSince = null;
  }

  private signal(): boolean | null {
    let any: boolean | null = null;
    for (const v of this.views.values()) {
      if (v.signal === true) return true;
      if (v.signal === false) any = false;
    }
    return any;
  }

  private open(obs: ClockObservation, signal: boolean | null, out: SessionEffect[]): void {
    const pending = this.pendingTrigger;
    const trigger: Trigger = pending && obs.monoMs - pending.atMono <= TRIGGER_WINDOW_MS ? pending.trigger : 'unknown';
    this.pendingTrigger = undefined;
    const s: OpenSession = {
      id: this.deps.newId(),
      startMono: obs.monoMs,
      anchor: obs,
      startSynced: obs.synced,
      corrected: false,
      trigger,
      boot: this.deps.boot(),
      accruedTo: obs.monoMs,
      onMs: new Map(),
      inputMs: new Map(),
      signalMs: 0,
      gapSince: null,
      gapReason: 'devices_off',
      noSignalSince: null,
    };
    this.trackSignal(s, signal, obs.monoMs);
    // The record stored at open already names the devices that are on, whatever happens before the first checkpoint.
    this.markActive(s);
    this.session = s;
    out.push({ type: 'open', draft: this.draft(s, obs.monoMs, 'power_loss', obs) });
  }

  private close(endMono: number, reason: EndReason, obs: ClockObservation): SessionEffect {
    const s = this.session!;
    this.session = undefined;
    return { type: 'close', draft: this.draft(s, endMono, reason, obs) };
  }

  private draft(s: OpenSession, endMono: number, reason: EndReason, obs: ClockObservation): SessionDraft {
    const durationMs = Math.max(0, endMono - s.startMono);
    const startWall = s.anchor.wallMs - (s.anchor.monoMs - s.startMono);
    const duration_s = Math.floor(durationMs / 1000);
    const cap = (ms: number) => Math.min(duration_s, Math.floor(ms / 1000));
    const devices: SessionDraft['devices'] = [];
    for (const d of this.devices.values()) {
      const ms = s.onMs.get(d.id);
      if (ms !== undefined) devices.push({ id: d.id, kind: d.kind, on_s: cap(ms) });
    }
    return {
      id: s.id,
      start: new Date(startWall).toISOString(),
      end: new Date(startWall + durationMs).toISOString(),
      duration_s,
      devices,
      inputs: [...s.inputMs.values()].map((e) => ({ device: e.device, input: e.input, s: cap(e.ms) })),
      signal_s: cap(s.signalMs),
      trigger: s.trigger,
      end_reason: reason,
      short: duration_s < this.rules.min_s,
      rule_version: SESSION_RULE_VERSION,
      boot: s.boot,
      clock: s.corrected ? 'corrected' : s.startSynced || obs.synced ? 'synced' : 'unsynced',
    };
  }
}
