/**
 * The files a config names, in one list for the loader (do they exist, relative paths resolved) and
 * for the warnings (secrets readable by other users). Secrets are the files whose content lets someone
 * act as this station or as the county: passwords, tokens, private keys and the county command key.
 */
import type { Config } from './schema.js';

export interface ConfigFile {
  /** The key path, as messages name it: `county.password_file`, `devices[2].password_file`. */
  key: string;
  file: string;
  secret: boolean;
}

export function configFiles(config: Config): ConfigFile[] {
  const out: ConfigFile[] = [];
  const add = (key: string, file: string | undefined, secret: boolean) => {
    if (file !== undefined) out.push({ key, file, secret });
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
  return out;
}
