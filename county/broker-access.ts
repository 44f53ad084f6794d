/**
 * How the county's programs reach the broker: the collector and the console take the same command-line
 * options (topic prefix, account, CA, command keys) and connect with the same MQTT client settings.
 * One place, so the two stay alike.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import type { IClientOptions } from 'mqtt';
import type { Logger } from './log.js';
import { commandKeysFrom, NO_KEYS, sharedKeys, type CommandKeys } from './command-keys.js';

/** What a county program needs besides the broker URL. Secrets are file contents, trimmed. */
export interface BrokerAccess {
  prefix?: string;
  username?: string;
  password?: string;
  ca?: string | Buffer;
  /** A client certificate and key signed by the county CA, for a broker with `require_certificate true`. */
  cert?: Buffer;
  key?: Buffer;
  /** The keys that sign requests and acks, per station (command-keys.ts). */
  commandKeys?: CommandKeys;
  /** Or one key for every station (the legacy single key; tests and tools). */
  commandKey?: string | Buffer;
}

/** The keys `access` signs with: `commandKeys`, else the single `commandKey`, else none. */
export function keysOf(access: BrokerAccess): CommandKeys {
  return access.commandKeys ?? (access.commandKey !== undefined ? sharedKeys(access.commandKey) : NO_KEYS);
}

/**
 * Adds `--prefix`, `--username`, `--password-file`, `--ca-file`, `--cert-file`, `--key-file` and the
 * command key options to `command` (the same keys, `-` → `_`, in the config file: the key options at
 * its top level, shared by both programs, except the legacy `command_key_file` of each section).
 * `signs` says what the program signs, for the help.
 */
export function addBrokerOptions(command: Command, signs: string): Command {
  return command
    .option('--prefix <prefix>', 'topic prefix', 'stations')
    .option('--username <name>')
    .option('--password-file <file>')
    .option('--ca-file <file>')
    .option('--cert-file <file>', 'client certificate signed by the county CA (brokers with require_certificate)')
    .option('--key-file <file>', "the client certificate's key")
    .option('--master-key-file <file>', `the county's master key (0600): ${signs} with each station's own key, derived from it`)
    .option('--command-key-file <file>', `legacy: one key shared by every station (${signs}); during a migration, the old key of the stations not yet migrated`)
    .option('--migrated-stations <ids>', 'migration: stations that already hold their own key (comma-separated); the rest keep the old key')
    .option('--legacy-stations <ids>', 'migration: stations that still hold the old key (comma-separated); the rest have their own');
}

const readSecret = (file: string): string => readFileSync(file, 'utf8').trim();

/**
 * Logs a warning when a secret file (`option` names it) may be read or written by other users: anyone on
 * the machine could then sign county commands, join the broker as the county, or read every password hash.
 * A warning, not a refusal, as the station agent does (config/warnings.ts): the county's IT may mean it.
 */
export function warnOpenSecret(file: string, option: string, log: Pick<Logger, 'warn'>): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return; // reading it is the caller's error to report
  }
  if ((mode & 0o007) !== 0) {
    const octal = `0${mode.toString(8).padStart(3, '0')}`;
    log.warn({ option, file, mode: octal }, `${option} file ${file} is readable or writable by other users (mode ${octal}): chmod o-rwx ${file}`);
  }
}

/**
 * Reads the files the options of addBrokerOptions name, warning on `log` about secret files others may
 * read; a master key that cannot be used throws a CommandKeyError (exit 78).
 */
export function brokerAccess(o: Record<string, unknown>, log?: Pick<Logger, 'warn' | 'info'>): BrokerAccess {
  const text = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const username = text('username');
  const passwordFile = text('passwordFile');
  const caFile = text('caFile');
  const keyFile = text('commandKeyFile');
  const masterFile = text('masterKeyFile');
  const certFile = text('certFile');
  const clientKeyFile = text('keyFile');
  if ((certFile === undefined) !== (clientKeyFile === undefined)) throw new Error('--cert-file and --key-file go together / 客户端证书与私钥须成对提供');
  if (log && passwordFile !== undefined) warnOpenSecret(passwordFile, '--password-file', log);
  if (log && keyFile !== undefined) warnOpenSecret(keyFile, '--command-key-file', log);
  const commandKeys = commandKeysFrom({ masterKeyFile: masterFile, commandKeyFile: keyFile, migratedStations: o['migratedStations'], legacyStations: o['legacyStations'] });
  if (log && commandKeys.mode === 'shared') {
    log.warn(
      commandKeys.summary(),
      'one command key for every station (--command-key-file): whoever has root on one station PC can sign commands and acks for all; move to per-station keys (docs/county.md "Per-station command keys")',
    );
  } else if (log && commandKeys.mode !== 'none') log.info(commandKeys.summary(), 'command keys');
  return {
    prefix: text('prefix') ?? 'stations',
    ...(username !== undefined ? { username } : {}),
    ...(passwordFile !== undefined ? { password: readSecret(passwordFile) } : {}),
    ...(caFile !== undefined ? { ca: readFileSync(caFile) } : {}),
    commandKeys,
    ...(certFile !== undefined && clientKeyFile !== undefined ? { cert: readFileSync(certFile), key: readFileSync(clientKeyFile) } : {}),
  };
}

/** MQTT client settings of a county program: clean session, steady reconnect, a random id under `role`. */
export function countyClientOptions(role: string, access: BrokerAccess & { clientId?: string }): IClientOptions {
  return {
    clientId: access.clientId ?? `county-${role}-${randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 2_000,
    connectTimeout: 10_000,
    keepalive: 30,
    ...(access.username !== undefined ? { username: access.username } : {}),
    ...(access.password !== undefined ? { password: access.password } : {}),
    ...(access.ca !== undefined ? { ca: access.ca } : {}),
    ...(access.cert !== undefined && access.key !== undefined ? { cert: access.cert, key: access.key } : {}),
  };
}
