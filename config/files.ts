/**
 * The files a config names, in one list for the loader (do they exist, relative paths resolved) and
 * for the warnings (secrets readable by other users). Secrets are the files whose content lets someone
 * act as this station or as the county: passwords, tokens, private keys, the county command key and the
 * evidence seed.
 */
import { join } from 'node:path';
import { DEFAULT_SEED_FILE, type Config } from './schema.js';

export interface ConfigFile {
  /** The key path, as messages name it: `county.password_file`, `devices[2].password_file`. */
  key: string;
  file: string;
  secret: boolean;
  /** What the loader checks: that the config's reader can read it, or only that it exists (the seed file is the agent's alone). */
  check: 'read' | 'exists';
}

export function configFiles(config: Config): ConfigFile[] {
  const out: ConfigFile[] = [];
  const add = (key: string, file: string | undefined, secret: boolean, check: ConfigFile['check'] = 'read') => {
    if (file !== undefined) out.push({ key, file, secret, check });
  };
  const c = config.county;
  add('county.password_file', c?.password_file, true);
  add('county.ca_file', c?.ca_file, false);
  add('county.cert_file', c?.cert_file, false);
  add('county.key_file', c?.key_file, true);
  add('county.command_key_file', c?.command_key_file, true);
  add('media.mediamtx.password_file', config.media?.mediamtx?.password_file, true);
  add('media.mediamtx.token_file', config.media?.mediamtx?.token_file, true);
  config.devices.forEach((d, i) => add(`devices[${i}].password_file`, 'password_file' in d ? d.password_file : undefined, true));
  // Whoever holds it can seal records as this station (docs/evidence.md).
  add('evidence.seed_file', seedFileOf(config), true, 'exists');
  return out;
}

/** The seed file of a config with `evidence`: `evidence.seed_file`, or `evidence.key` in the data dir. */
export function seedFileOf(config: Config): string | undefined {
  return config.evidence ? (config.evidence.seed_file ?? join(config.data_dir, DEFAULT_SEED_FILE)) : undefined;
}
