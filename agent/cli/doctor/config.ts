/**
 * The config check comes first and is not a `Check`: every other check reads the config it loads. A
 * config that does not load at all stops doctor there; one whose only problem is an unreadable secret
 * file fails this row but is still good enough for the rest of the checklist. Trust warnings follow it
 * (config/warnings.ts): write commands allowed unsigned, secret files other users can read.
 */
import { loadConfig } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { ConfigError } from '../../../config/errors.js';
import { configWarnings, type ConfigWarning } from '../../../config/warnings.js';
import type { Translate } from '../../i18n/index.js';
import { rowMaker, type DoctorCheck } from './check.js';

/** The group that may read the agent's files (systemd/station-agent.sysusers.conf). */
const AGENT_GROUP = 'station-agent';

/** A config warning in the reader's language, with its one-line fix (`config check` and `doctor`). */
export function describeWarning(t: Translate, w: ConfigWarning): { check: string; message: string; fix: string } {
  if (w.code === 'unsigned_commands') {
    const params = { setting: w.key, key: 'county.command_key_file', commands: w.commands.join(', '), group: AGENT_GROUP };
    return { check: 'signing', message: t('warn.unsigned_commands', params), fix: t('warn.fix_unsigned_commands', params) };
  }
  return {
    check: `secret:${w.key}`,
    message: t('warn.secret_file_open', { setting: w.key, file: w.file, mode: w.mode }),
    fix: t('warn.fix_secret_file_open', { cmd: `chmod 0640 ${w.file}` }),
  };
}

/** Doctor rows for the trust warnings: county command signing (pass when a key is set) and open secret files. */
function warningRows(t: Translate, config: Config): DoctorCheck[] {
  const rows: DoctorCheck[] = [];
  const warnings = configWarnings(config);
  if (config.county?.command_key_file) rows.push(rowMaker(t, 'signing', 'doctor.check.signing').pass(t('doctor.signing.ok')));
  for (const w of warnings) {
    const d = describeWarning(t, w);
    rows.push(rowMaker(t, d.check, w.code === 'unsigned_commands' ? 'doctor.check.signing' : 'doctor.check.secret').warn(d.message, d.fix));
  }
  return rows;
}

export function configCheck(t: Translate, configFile: string): { row: DoctorCheck; config: Config | undefined; warnings: DoctorCheck[] } {
  const r = rowMaker(t, 'config', 'doctor.check.config');
  try {
    const config = loadConfig(configFile, { checkFiles: true });
    return { row: r.pass(t('doctor.config.ok', { file: configFile, devices: config.devices.length })), config, warnings: warningRows(t, config) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const row = r.fail(
      t('doctor.config.bad', { file: configFile, count: err.issues.length, first: err.issues[0] ?? '' }),
      t('doctor.config.fix', { cmd: `stationctl config check ${configFile}` }),
      { cause: 'config_invalid' },
    );
    try {
      // A missing secret file is a failure but the rest of the config is usable for the other checks.
      const config = loadConfig(configFile, { checkFiles: false });
      return { row, config, warnings: warningRows(t, config) };
    } catch {
      return { row, config: undefined, warnings: [] };
    }
  }
}
