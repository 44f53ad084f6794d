/** The fix of a ConfigError hint (config/errors.ts) in the reader's language, commands given whole. */
import { dirname } from 'node:path';
import type { ConfigHint } from '../../config/errors.js';
import type { Translate } from './index.js';

/** The user the packaged agent runs as (systemd/station-agent.sysusers.conf). */
const AGENT_USER = 'station-agent';

export function hintText(t: Translate, hint: ConfigHint): string {
  switch (hint.code) {
    case 'evidence_init':
      return t('hint.evidence_init', { cmd: 'sudo stationctl evidence init --out DIR', file: hint.file });
    case 'evidence_owner':
      return t('hint.evidence_owner', { cmd: `sudo chown ${AGENT_USER}:${AGENT_USER} ${hint.file} ${dirname(hint.file)}` });
  }
}
