/**
 * Every county topic is built here, from `county.topic_prefix` + station id + a relative topic, so no
 * other file concatenates topic strings. Ids that would change a topic's meaning (`+`, `#`, `/`, empty,
 * NUL) are refused: a device id reaching a wildcard would let one publish overwrite many retained states.
 */
import { AgentError, ErrorCodes } from '../../drivers/errors.js';

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
