/**
 * Every county topic is built here, from `county.topic_prefix` + station id + a relative topic, so no
 * other file concatenates topic strings. Ids that would change a topic's meaning (`+`, `#`, `/`, empty,
 * NUL) are refused: a device id reaching a wildcard would let one publish overwrite many retained states.
 */
import { AgentError, ErrorCodes } from './errors.js';

const FORBIDDEN = /[+#/\u0000]/;

/** Throws when `segment` is not a single, wildcard-free topic level. */
export function assertTopicSegment(segment: string, what: string): string {
  if (segment.length === 0 || segment.length > 128 || FORBIDDEN.test(segment)) {
    throw new AgentError(ErrorCodes.invalid_args, `${what} ${JSON.stringify(segment)} cannot be used in an MQTT topic (no +, #, / or empty)`);
  }
  return segment;
}

/** Relative topics (below `<prefix>/<station_id>/`) the county contract knows. */
export const RelativeTopics = {
  status: 'status',
  inventory: 'inventory',
  heartbeat: 'heartbeat',
  events: 'events',
  usage: 'usage',
  ack: 'ack',
  deviceState: (deviceId: string) => `devices/${assertTopicSegment(deviceId, 'device id')}/state`,
  request: (action: string) => `request/${assertTopicSegment(action, 'action')}`,
  response: (action: string) => `response/${assertTopicSegment(action, 'action')}`,
} as const;

export class Topics {
  /** `<prefix>/<station_id>` without a trailing slash. */
  readonly base: string;

  constructor(prefix: string, stationId: string) {
    const segments = prefix.split('/');
    segments.forEach((s) => assertTopicSegment(s, 'topic_prefix segment'));
    this.base = `${prefix}/${assertTopicSegment(stationId, 'station id')}`;
  }

  /** Joins a relative topic onto this station's base. */
  rel(relative: string): string {
    return `${this.base}/${relative}`;
  }

  get status(): string {
    return this.rel(RelativeTopics.status);
  }
  get inventory(): string {
    return this.rel(RelativeTopics.inventory);
  }
  get heartbeat(): string {
    return this.rel(RelativeTopics.heartbeat);
  }
  get events(): string {
    return this.rel(RelativeTopics.events);
  }
  get usage(): string {
    return this.rel(RelativeTopics.usage);
  }
  get ack(): string {
    return this.rel(RelativeTopics.ack);
  }
  /** The subscription filter for county requests (the one place a wildcard is built on purpose). */
  get requestFilter(): string {
    return `${this.base}/request/+`;
  }
  deviceState(deviceId: string): string {
    return this.rel(RelativeTopics.deviceState(deviceId));
  }
  request(action: string): string {
    return this.rel(RelativeTopics.request(action));
  }
  response(action: string): string {
    return this.rel(RelativeTopics.response(action));
  }
  /** The durable stream's topic. */
  stream(stream: 'usage' | 'events'): string {
    return stream === 'usage' ? this.usage : this.events;
  }

  /** The action of a `request/<action>` topic of this station, or undefined for any other topic. */
  requestAction(topic: string): string | undefined {
    const head = `${this.base}/request/`;
    if (!topic.startsWith(head)) return undefined;
    const action = topic.slice(head.length);
    if (action.length === 0 || action.length > 128 || FORBIDDEN.test(action)) return undefined;
    return action;
  }
}

/** What a station topic is about, below `<prefix>/<station_id>/`. */
export type StationTopicKind = 'status' | 'inventory' | 'heartbeat' | 'usage' | 'events' | 'ack' | 'device_state' | 'request' | 'response';

/** An incoming topic taken apart by FleetTopics.parse. */
export type ParsedTopic =
  | { station: string; kind: 'status' | 'inventory' | 'heartbeat' | 'usage' | 'events' | 'ack' }
  | { station: string; kind: 'device_state'; device: string }
  | { station: string; kind: 'request' | 'response'; action: string }
  /** Under a station, but not a topic of the contract. */
  | { station: string; kind: 'other' };

const SINGLE = new Set(['status', 'inventory', 'heartbeat', 'usage', 'events', 'ack']);

/** The relative part of a fleet-wide filter of each kind (`+` for the device id or the action). */
const FILTERS: Record<StationTopicKind, string> = {
  status: RelativeTopics.status,
  inventory: RelativeTopics.inventory,
  heartbeat: RelativeTopics.heartbeat,
  usage: RelativeTopics.usage,
  events: RelativeTopics.events,
  ack: RelativeTopics.ack,
  device_state: 'devices/+/state',
  request: 'request/+',
  response: 'response/+',
};

/**
 * The county side's view: every station under one prefix. Builds per-station Topics, the fleet-wide
 * subscription filters (optionally as an MQTT 5 shared subscription, `$share/<group>/…`) and takes
 * incoming topics apart. The collector, the demo's county view, the fleet simulator and the benchmarks
 * use it instead of concatenating strings.
 */
export class FleetTopics {
  constructor(readonly prefix: string) {
    prefix.split('/').forEach((s) => assertTopicSegment(s, 'topic_prefix segment'));
  }

  /** The topics of one station. */
  station(stationId: string): Topics {
    return new Topics(this.prefix, stationId);
  }

  /**
   * `<prefix>/+/<kind>` for every station (`devices/+/state`, `request/+`, `response/+` for the
   * kinds with a second level). With `share`, `$share/<share>/` in front: brokers then deliver each
   * message to one member of the group (MQTT 5 §4.8.2).
   */
  filter(kind: StationTopicKind, share?: string | null): string {
    const head = share === undefined || share === null ? '' : `$share/${assertTopicSegment(share, 'share group')}/`;
    return `${head}${this.prefix}/+/${FILTERS[kind]}`;
  }

  /** `<prefix>/+/#`: everything every station publishes or receives. */
  get all(): string {
    return `${this.prefix}/+/#`;
  }

  /**
   * The station and kind of an incoming topic; undefined outside the prefix or when the station level is
   * not a usable topic segment (empty, over 128 characters, a wildcard: nothing could be sent back to it).
   */
  parse(topic: string): ParsedTopic | undefined {
    const head = `${this.prefix}/`;
    if (!topic.startsWith(head)) return undefined;
    const [station, ...rest] = topic.slice(head.length).split('/');
    if (station === undefined || station.length === 0 || station.length > 128 || FORBIDDEN.test(station)) return undefined;
    const [a, b, c] = rest;
    if (rest.length === 1 && SINGLE.has(a!)) return { station, kind: a as 'status' };
    if (rest.length === 3 && a === 'devices' && b && c === 'state') return { station, kind: 'device_state', device: b };
    if (rest.length === 2 && (a === 'request' || a === 'response') && b) return { station, kind: a, action: b };
    return { station, kind: 'other' };
  }
}
