/**
 * The base layer: one error class for the whole agent, importable by drivers, config and the daemon
 * alike (it imports nothing). `code` is stable and machine-readable: the same `{code, message}` reaches
 * stationctl, the control socket and the county's MQTT responses.
 */

/** Every code an AgentError may carry. Wire answers may add their own (see agent/county/payloads.ts). */
export const ErrorCodes = {
  // Device and transport
  timeout: 'timeout',
  busy: 'busy',
  auth: 'auth',
  disconnected: 'disconnected',
  closed: 'closed',
  protocol: 'protocol',
  unsupported: 'unsupported',
  device_error: 'device_error',
  device_offline: 'device_offline',
  probe_failed: 'probe_failed',
  aborted: 'aborted',
  // Commands
  invalid_args: 'invalid_args',
  not_found: 'not_found',
  forbidden: 'forbidden',
  internal: 'internal',
  // Start-up and local resources
  config_invalid: 'config_invalid',
  county_config: 'county_config',
  data_dir: 'data_dir',
  db_open: 'db_open',
  db_too_new: 'db_too_new',
  already_running: 'already_running',
  // The control socket
  bad_request: 'bad_request',
  too_large: 'too_large',
  daemon_unreachable: 'daemon_unreachable',
  /** The control socket (or a file) exists but refuses this user. */
  permission_denied: 'permission_denied',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

const KNOWN = new Set<string>(Object.values(ErrorCodes));

/** A code read off the wire (a daemon's or a device's answer), as one of ours or `internal`. */
export function asErrorCode(code: string | undefined): ErrorCode {
  return code !== undefined && KNOWN.has(code) ? (code as ErrorCode) : ErrorCodes.internal;
}

export class AgentError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  /**
   * Why, finer than `code`, where the raiser knows (drivers/faults.ts: `adapter_missing`, `unit_silent`,
   * `password_rejected` …): what `stationctl doctor` names the fix by. Not part of the wire shape.
   */
  readonly fault: string | undefined;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown; fault?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.fault = options.fault;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function toAgentError(err: unknown, fallbackCode: ErrorCode = ErrorCodes.internal): AgentError {
  if (err instanceof AgentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AgentError(fallbackCode, message, { cause: err });
}
