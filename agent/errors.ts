/**
 * One error base for the whole agent. `code` is stable and machine-readable: the same `{code, message}`
 * reaches stationctl, the control socket and the county's MQTT responses.
 */
export class AgentError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AgentError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** A configuration problem: the daemon exits 78 (EX_CONFIG) and systemd does not restart it. */
export class ConfigError extends AgentError {
  readonly issues: string[];
  constructor(issues: string[], options: { cause?: unknown } = {}) {
    super('config_invalid', issues.join('\n'), options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export const EXIT_CONFIG = 78;

/** Error codes shared by drivers, the supervisor and the command registry. */
export const ErrorCodes = {
  timeout: 'timeout',
  busy: 'busy',
  auth: 'auth',
  disconnected: 'disconnected',
  closed: 'closed',
  protocol: 'protocol',
  unsupported: 'unsupported',
  device_error: 'device_error',
  invalid_args: 'invalid_args',
  not_found: 'not_found',
  forbidden: 'forbidden',
  internal: 'internal',
} as const;

export function toAgentError(err: unknown, fallbackCode: string = ErrorCodes.internal): AgentError {
  if (err instanceof AgentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AgentError(fallbackCode, message, { cause: err });
}
