/** A configuration problem: the daemon exits 78 (EX_CONFIG) and systemd does not restart it. */
import { AgentError, ErrorCodes } from '../protocol/errors.js';

export const EXIT_CONFIG = 78;

export class ConfigError extends AgentError {
  readonly issues: string[];
  constructor(issues: string[], options: { cause?: unknown } = {}) {
    super(ErrorCodes.config_invalid, issues.join('\n'), options);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
