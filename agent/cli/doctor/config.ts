/**
 * The config check comes first and is not a `Check`: every other check reads the config it loads. A
 * config that does not load at all stops doctor there; one whose only problem is an unreadable secret
 * file fails this row but is still good enough for the rest of the checklist.
 */
import { loadConfig } from '../../../config/load.js';
import type { Config } from '../../../config/schema.js';
import { ConfigError } from '../../../config/errors.js';
import type { Translate } from '../../i18n/index.js';
import { rowMaker, type DoctorCheck } from './check.js';

export function configCheck(t: Translate, configFile: string): { row: DoctorCheck; config: Config | undefined } {
  const r = rowMaker(t, 'config', 'doctor.check.config');
  try {
    const config = loadConfig(configFile, { checkFiles: true });
    return { row: r.pass(t('doctor.config.ok', { file: configFile, devices: config.devices.length })), config };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const row = r.fail(
      t('doctor.config.bad', { file: configFile, count: err.issues.length, first: err.issues[0] ?? '' }),
      t('doctor.config.fix', { cmd: `stationctl config check ${configFile}` }),
      { cause: 'config_invalid' },
    );
    try {
      // A missing secret file is a failure but the rest of the config is usable for the other checks.
      return { row, config: loadConfig(configFile, { checkFiles: false }) };
    } catch {
      return { row, config: undefined };
    }
  }
}
