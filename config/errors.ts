/** A configuration problem: the daemon exits 78 (EX_CONFIG) and systemd does not restart it. */
import { AgentError, ErrorCodes } from '../protocol/errors.js';

export const EXIT_CONFIG = 78;

/**
 * A fix the agent and stationctl can put in the reader's language (agent/i18n `hint.*`), beside the
 * issue lines, which stay English like every key-path message.
 */
export type ConfigHint = { code: 'evidence_init'; file: string } | { code: 'evidence_owner'; file: string };

export class ConfigError extends AgentError {
  readonly issues: string[];
  readonly hints: ConfigHint[];
  constructor(issues: string[], options: { cause?: unknown; hints?: ConfigHint[] } = {}) {
    super(ErrorCodes.config_invalid, issues.join('\n'), options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'ConfigError';
    this.issues = issues;
    this.hints = options.hints ?? [];
  }
}
