/**
 * Which key signs what the county sends each station (docs/county.md "Per-station command keys"):
 *
 * - `--master-key-file` (`master_key_file`): every station's own key, derived from the county's master
 *   key (protocol/command-keys.ts). A station's key signs for that station only.
 * - `--command-key-file` (`command_key_file`) alone: the legacy single key, the same for every station.
 *   It still works, with a warning at every start: whoever has root on one station PC can sign for all.
 * - Both: a migration. `--migrated-stations` lists the stations that already hold their own key (every
 *   other one still has the old key), or `--legacy-stations` lists those that still hold the old key
 *   (every other one has its own). Exactly one of the two.
 *
 * The master key is refused at start, with the reason in Chinese and English, when it is readable or
 * writable by anyone but its owner, shorter than 32 bytes or not hex. No key is ever logged.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parseMasterKey, deriveStationKey, MIN_MASTER_KEY_BYTES, MAX_MASTER_KEY_BYTES } from '../protocol/command-keys.js';
import { ID_PATTERN } from '../protocol/schedule.js';
import { CountyConfigError } from './config.js';

/** Most station ids a migration list may name (a province has tens of thousands of stations). */
export const MAX_LISTED_STATIONS = 100_000;
/** A key file is one line; anything near this is the wrong file. */
const MAX_KEY_FILE_BYTES = 4096;

export type KeyMode = 'none' | 'shared' | 'per_station' | 'migrating';

/** The keys a county program signs with. `keyFor` is the HMAC key for one station (undefined: unsigned). */
export interface CommandKeys {
  readonly mode: KeyMode;
  keyFor(station: string): string | Buffer | undefined;
  /** What to log about the keys: the mode and list sizes, never a key. */
  summary(): Record<string, string | number>;
}

export const NO_KEYS: CommandKeys = { mode: 'none', keyFor: () => undefined, summary: () => ({ command_keys: 'none' }) };

/** The legacy single key, the same for every station. */
export function sharedKeys(key: string | Buffer): CommandKeys {
  return { mode: 'shared', keyFor: () => key, summary: () => ({ command_keys: 'shared' }) };
}

/** Which stations still use the old shared key during a migration. */
export type LegacySelection = { migrated: readonly string[] } | { legacy: readonly string[] };

/**
 * Each station's derived key; during a migration (`legacy` given) the stations `legacy.selection` says
 * get the old shared key instead.
 */
export function stationKeys(master: Buffer, legacy?: { key: string | Buffer; selection: LegacySelection }): CommandKeys {
  const derived = (station: string): string => deriveStationKey(master, station);
  if (!legacy) return { mode: 'per_station', keyFor: derived, summary: () => ({ command_keys: 'per_station' }) };
  const sel = legacy.selection;
  const listed = new Set('migrated' in sel ? sel.migrated : sel.legacy);
  const onLegacy = 'migrated' in sel ? (s: string) => !listed.has(s) : (s: string) => listed.has(s);
  return {
    mode: 'migrating',
    keyFor: (station) => (onLegacy(station) ? legacy.key : derived(station)),
    summary: () => ({ command_keys: 'migrating', ...('migrated' in sel ? { migrated_stations: listed.size } : { legacy_stations: listed.size }) }),
  };
}

/** A key that cannot be used: exit 78 like any config problem, with the file and the reason in zh/en. */
export class CommandKeyError extends CountyConfigError {
  constructor(file: string, issues: readonly string[]) {
    super(file, issues);
    this.name = 'CommandKeyError';
    this.message = `命令密钥不能使用 / command key problem: ${file}\n${issues.map((i) => `  - ${i}`).join('\n')}`;
  }
}

/** Reads a key file bounded: a regular file, at most MAX_KEY_FILE_BYTES, opened without blocking. */
function readKeyFile(file: string, check?: (mode: number) => string | undefined): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    const hint = code === 'EACCES' ? '（文件须属于运行服务的用户 station-county / the file must belong to the services\' user, station-county）' : '';
    throw new CommandKeyError(file, [`无法读取 / cannot read (${code})${hint}`]);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CommandKeyError(file, ['不是普通文件 / not a regular file']);
    const refused = check?.(st.mode & 0o777);
    if (refused) throw new CommandKeyError(file, [refused]);
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_KEY_FILE_BYTES) throw new CommandKeyError(file, [`文件太大（上限 ${MAX_KEY_FILE_BYTES} 字节），不是密钥文件 / too large for a key file (at most ${MAX_KEY_FILE_BYTES} bytes)`]);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

/** Why a master key file's mode is refused: anyone but its owner may read or write it. */
function masterModeProblem(file: string, mode: number): string | undefined {
  if ((mode & 0o077) === 0) return undefined;
  return `权限 ${octal(mode)}：除属主外的用户也能读写主密钥，谁拿到它就能签发给每个站点的命令；请执行 chmod 0600 ${file} / mode ${octal(mode)}: users other than its owner may read or write the master key, and whoever has it can sign for every station; run chmod 0600 ${file}`;
}

/** The county's master key from `file`, or a CommandKeyError saying why it cannot be used. */
export function readMasterKey(file: string): Buffer {
  const parsed = parseMasterKey(readKeyFile(file, (mode) => masterModeProblem(file, mode)));
  if (parsed.ok) return parsed.key;
  const reason =
    parsed.problem === 'too_short'
      ? `太短：${parsed.bytes} 字节，至少 ${MIN_MASTER_KEY_BYTES} 字节（64 个十六进制字符）；用 county-pki master-key 生成 / too short: ${parsed.bytes} bytes, at least ${MIN_MASTER_KEY_BYTES} (64 hex digits); make one with county-pki master-key`
      : parsed.problem === 'too_long'
        ? `太长：${parsed.bytes} 字节，至多 ${MAX_MASTER_KEY_BYTES} 字节 / too long: ${parsed.bytes} bytes, at most ${MAX_MASTER_KEY_BYTES}`
        : `不是十六进制密钥（须是一行偶数个 0-9a-f 字符）；用 county-pki master-key 生成 / not a hex key (one line of an even number of 0-9a-f digits); make one with county-pki master-key`;
  throw new CommandKeyError(file, [reason]);
}

/** The legacy shared key (`--command-key-file`): the file's content, trimmed, as the stations read it. */
export function readSharedKey(file: string): string {
  const key = readKeyFile(file).trim();
  if (key.length === 0) throw new CommandKeyError(file, ['文件是空的 / the file is empty']);
  return key;
}

/**
 * A station list from a flag (`a,b c`) or the config file (a YAML list), each id checked against the
 * station id pattern; `option` names it in the message.
 */
export function stationList(value: unknown, option: string): string[] {
  const items = typeof value === 'string' ? value.split(/[\s,]+/).filter((s) => s !== '') : value;
  if (!Array.isArray(items)) throw new CommandKeyError(option, ['须是站点编号列表 / must be a list of station ids']);
  if (items.length > MAX_LISTED_STATIONS) throw new CommandKeyError(option, [`站点太多（上限 ${MAX_LISTED_STATIONS}）/ too many stations (at most ${MAX_LISTED_STATIONS})`]);
  const bad = items.findIndex((s) => typeof s !== 'string' || !ID_PATTERN.test(s));
  if (bad >= 0) throw new CommandKeyError(option, [`第 ${bad + 1} 项不是站点编号 / item ${bad + 1} is not a station id: ${JSON.stringify(String(items[bad]).slice(0, 80))}`]);
  return items as string[];
}

/** What decides the keys: the options' values as commander (or the config file) gives them. */
export interface KeyOptions {
  masterKeyFile?: string | undefined;
  commandKeyFile?: string | undefined;
  migratedStations?: unknown;
  legacyStations?: unknown;
}

/** How the messages name the options: as flags, or as the config file's keys. */
export interface KeyNames {
  master: string;
  shared: string;
  migrated: string;
  legacy: string;
}

export const FLAG_NAMES: KeyNames = { master: '--master-key-file', shared: '--command-key-file', migrated: '--migrated-stations', legacy: '--legacy-stations' };

/**
 * The rules between the options, before any file is read: the reasons they cannot be used together
 * (zh/en), empty when they can. config-check shows the same reasons, with the file's key names.
 */
export function keyOptionProblems(o: KeyOptions, n: KeyNames = FLAG_NAMES): string[] {
  const lists = [o.migratedStations !== undefined && n.migrated, o.legacyStations !== undefined && n.legacy].filter((x): x is string => x !== false);
  const migrating = o.masterKeyFile !== undefined && o.commandKeyFile !== undefined;
  if (lists.length === 2) return [`${n.migrated} 与 ${n.legacy} 只能选一个 / give ${n.migrated} or ${n.legacy}, not both`];
  if (lists.length === 1 && !migrating) {
    return [`${lists[0]} 只用于迁移期间：须同时给出主密钥 ${n.master} 和旧的共用密钥 ${n.shared} / ${lists[0]} is for a migration only: it needs both the master key (${n.master}) and the old shared key (${n.shared})`];
  }
  if (lists.length === 0 && migrating) {
    return [
      `迁移期间须说明哪些站点还在用旧密钥：${n.migrated} 列出已换新密钥的站点（其余仍用旧密钥），或 ${n.legacy} 列出仍用旧密钥的站点（其余已换新）/ during a migration (${n.master} and ${n.shared} both given), say which stations still hold the old key: ${n.migrated} lists those that have their own key (the rest keep the old one), or ${n.legacy} lists those that still hold the old key (the rest have their own)`,
    ];
  }
  return [];
}

/** The keys the options name, read and checked; throws a CommandKeyError (exit 78) when they cannot be used. */
export function commandKeysFrom(o: KeyOptions): CommandKeys {
  const problems = keyOptionProblems(o);
  if (problems.length > 0) throw new CommandKeyError('--master-key-file / --command-key-file', problems);
  const shared = o.commandKeyFile !== undefined ? readSharedKey(o.commandKeyFile) : undefined;
  if (o.masterKeyFile === undefined) return shared === undefined ? NO_KEYS : sharedKeys(shared);
  const master = readMasterKey(o.masterKeyFile);
  if (shared === undefined) return stationKeys(master);
  const selection: LegacySelection =
    o.migratedStations !== undefined ? { migrated: stationList(o.migratedStations, '--migrated-stations') } : { legacy: stationList(o.legacyStations, '--legacy-stations') };
  return stationKeys(master, { key: shared, selection });
}
