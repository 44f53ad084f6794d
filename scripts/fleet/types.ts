/** The fleet simulator's options, figures and views (scripts/fleet-sim.ts). */
import type { FleetShape, StationIdentity } from './generate.js';

/** Intervals of a real station at rate 1 (docs/design.md: heartbeat_s 60; a few sessions and events a day). */
export const NORMAL_INTERVALS = { heartbeatMs: 60_000, recordMs: 600_000, stateMs: 300_000 } as const;

export interface FleetGap {
  /** Station index (0-based). */
  station: number;
  seq: number;
  /** The station "no longer has" it: never published, and a resend answers without it. */
  lost?: boolean;
}

export interface FleetOptions {
  url: string;
  stations: number;
  /** Multiplies the normal rates (heartbeats, records, state changes). Default 1. */
  rate?: number;
  /** Overrides the rate-derived intervals. */
  intervals?: Partial<Record<keyof typeof NORMAL_INTERVALS, number>>;
  /** Stop allocating durable records after this many per station (deterministic totals). */
  recordsPerStation?: number;
  /** Stop everything after this long (the CLI's --duration). */
  durationMs?: number;
  seed?: string;
  prefix?: string;
  shape?: Partial<Omit<FleetShape, 'seed'>>;
  /** Seqs withheld on first publish: the county sees a gap and must ask for them. */
  gaps?: FleetGap[];
  /** Publish every Nth record twice (duplicates must be harmless). */
  duplicateEvery?: number;
  /** Initial connects are spread over this long so a big fleet does not connect in one burst. */
  connectSpreadMs?: number;
  /** Scheduler resolution. Default 20 ms. */
  tickMs?: number;
}

export interface FleetStats {
  stations: number;
  connected: number;
  /** Durable records allocated (seq numbers handed out), all stations. */
  allocated: number;
  published_records: number;
  withheld: number;
  duplicates_sent: number;
  heartbeats: number;
  states: number;
  replayed: number;
  resends_answered: number;
  resent_records: number;
  /** Durable records not yet covered by the county ack. */
  outbox: number;
  /** Sum over stations of the county's ack watermark. */
  acked: number;
}

export interface ExpectedStation {
  station_id: string;
  town: string;
  sessions: number;
  duration_s: number;
  signal_s: number;
  short_sessions: number;
  short_duration_s: number;
}

export interface ExpectedMonthly {
  month: string;
  stations: ExpectedStation[];
  total: Omit<ExpectedStation, 'station_id' | 'town'>;
  /** Usage records whose UTC month differs from their Beijing month (checks the time-zone rule is exercised). */
  boundary_sessions: number;
}

export interface StationView {
  id: string;
  town: string;
  last_seq: number;
  acked: number;
  outbox: number;
  connected: boolean;
}

export interface Fleet {
  identities: StationIdentity[];
  stats(): FleetStats;
  station(index: number): StationView;
  /** Totals a collector must report for `month` (YYYY-MM, Asia/Shanghai), over every record allocated so far. */
  expectedMonthly(month: string): ExpectedMonthly;
  /** Cuts one station's TCP connection (the broker publishes its Will; mqtt.js reconnects). */
  dropConnection(index: number): void;
  /** Resolves once every station has allocated `recordsPerStation` records. */
  allAllocated(): Promise<void>;
  stop(options?: { abrupt?: boolean }): Promise<void>;
}
