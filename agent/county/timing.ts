/**
 * The county link's timing: the knobs a caller may set (production uses the defaults, tests shorten
 * them) and the resolved values every part of the link reads.
 */

/** Timing knobs; production uses the defaults, tests shorten them. */
export interface CountyLinkTuning {
  /** MQTT keepalive; a missing PINGRESP after 1.5× this closes the connection. Default 30. */
  keepaliveS?: number;
  /** Give up on a CONNECT/CONNACK after this long. Default 15 000. */
  connectTimeoutMs?: number;
  /** First reconnect delay bound; doubles per failed attempt. Default 1 000. */
  backoffBaseMs?: number;
  /** Reconnect delay cap. Default 300 000 (5 min). */
  backoffMaxMs?: number;
  /** A connection that lasted this long resets the backoff. Default 30 000. */
  stableMs?: number;
  /** Overrides county.heartbeat_s. */
  heartbeatMs?: number;
  /** After connect, wait this long for the retained `ack` before replaying (avoids resending stored records). Default 300. */
  ackGraceMs?: number;
  /** Published records the county has not acked after this long are sent again (historical). Default 600 000. */
  ackTimeoutMs?: number;
  /** Durable records in flight at once. Default 32. */
  window?: number;
  /** How often the outbox disk budget is checked. Default 30 000. */
  budgetCheckMs?: number;
  /** Max county commands running at once; more get `busy`. Default 8. */
  maxConcurrentCommands?: number;
  /** Randomness for jitter (tests pin it). */
  random?: () => number;
}

/** Every knob with its value decided. */
export type LinkTiming = Required<CountyLinkTuning>;

/** Fills in the defaults; the heartbeat comes from `county.heartbeat_s` unless the tuning overrides it. */
export function resolveTiming(tuning: CountyLinkTuning | undefined, heartbeatS: number | undefined): LinkTiming {
  const tu = tuning ?? {};
  return {
    keepaliveS: tu.keepaliveS ?? 30,
    connectTimeoutMs: tu.connectTimeoutMs ?? 15_000,
    backoffBaseMs: tu.backoffBaseMs ?? 1_000,
    backoffMaxMs: tu.backoffMaxMs ?? 300_000,
    stableMs: tu.stableMs ?? 30_000,
    heartbeatMs: tu.heartbeatMs ?? (heartbeatS ?? 60) * 1000,
    ackGraceMs: tu.ackGraceMs ?? 300,
    ackTimeoutMs: tu.ackTimeoutMs ?? 600_000,
    window: tu.window ?? 32,
    budgetCheckMs: tu.budgetCheckMs ?? 30_000,
    maxConcurrentCommands: tu.maxConcurrentCommands ?? 8,
    random: tu.random ?? Math.random,
  };
}
