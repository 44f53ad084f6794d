/**
 * The key files `county-pki` makes (docs/county.md "Per-station command keys"):
 *
 *   county-pki master-key --out /etc/station-county/secrets/master.key
 *   county-pki command-key --dir /etc/station-county/pki --config /etc/station-county/county.yaml <station_id>
 *
 * The master key is 32 random bytes written as 64 hex digits; a station's key file is its derived key
 * (protocol/command-keys.ts), in the format the station's `county.command_key_file` reads. Both are
 * written owner-only (0600) before anything is in them and never overwritten; neither key is printed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stationKeyFileText, MIN_MASTER_KEY_BYTES } from '../protocol/command-keys.js';
import { ID_PATTERN } from '../protocol/schedule.js';
import { readMasterKey } from './command-keys.js';

/** The station's key file under the PKI folder, beside its certificate (`county-pki station`). */
export const STATION_KEY_FILE = 'command.key';
/** Where the station reads it (config/example.yaml `county.command_key_file`). */
const STATION_SECRETS = '/etc/station-agent/secrets';

export class KeyFileError extends Error {}

/** Creates `file` owner-only, failing if it exists; the mode is set before any byte is written. */
function writeNew(file: string, content: string): void {
  try {
    writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileError(`${file} 已存在，不覆盖 / already exists; not overwritten`);
    throw err;
  }
  chmodSync(file, 0o600);
}

/** A new master key in `out` (0600): MIN_MASTER_KEY_BYTES random bytes as lower-case hex on one line. */
export function makeMasterKey(out: string): string {
  const file = resolve(out);
  writeNew(file, `${randomBytes(MIN_MASTER_KEY_BYTES).toString('hex')}\n`);
  return file;
}

export function masterKeyInstructions(file: string): string {
  return [
    `县级主密钥已生成 / master key made: ${file} (0600)`,
    '',
    '1. 交给运行服务的用户（只有它能读）/ give it to the services\' user (the only one who may read it):',
    `   chown station-county:station-county ${file}`,
    '2. 写进 /etc/station-county/county.yaml 的顶层 / at the top level of /etc/station-county/county.yaml:',
    `   master_key_file: ${file}`,
    '3. 与配置一起备份，别处不留副本：丢了要给每个站点重新装密钥，谁拿到它就能给每个站点签发命令。',
    '   Back it up with the config and keep no other copy: lost, every station needs a new key; stolen,',
    '   whoever has it can sign commands for every station.',
    '4. 为每个站点导出它自己的密钥 / export each station\'s own key:',
    `   county-pki command-key --dir /etc/station-county/pki --master-key-file ${file} <station_id>`,
    '',
  ].join('\n');
}

export interface ExportedKey {
  file: string;
  /** False when the same key had been exported to the same file before. */
  written: boolean;
}

/**
 * Writes `<pkiDir>/stations/<id>/command.key` (0600) with the station's key derived from the master key
 * in `masterFile`. The same export again leaves the file as it is; a file holding another key (a master
 * key changed since) is never overwritten.
 */
export function exportStationKey(pkiDir: string, masterFile: string, stationId: string): ExportedKey {
  if (!ID_PATTERN.test(stationId)) throw new KeyFileError(`站点编号须符合 / the station id must match ${ID_PATTERN.source}: ${JSON.stringify(stationId.slice(0, 80))}`);
  const text = stationKeyFileText(readMasterKey(masterFile), stationId);
  const stations = join(resolve(pkiDir), 'stations');
  mkdirSync(join(stations, stationId), { recursive: true, mode: 0o700 });
  const file = join(stations, stationId, STATION_KEY_FILE);
  try {
    writeNew(file, text);
    return { file, written: true };
  } catch (err) {
    if (!(err instanceof KeyFileError)) throw err;
    if (readFileSync(file, 'utf8') === text) return { file, written: false };
    throw new KeyFileError(`${file} 已存在且是另一把密钥（主密钥换过？），不覆盖 / already exists with another key (was the master key changed?); not overwritten`);
  }
}

export function stationKeyInstructions(id: string, k: ExportedKey): string {
  const target = `${STATION_SECRETS}/command.key`;
  return [
    `站点 ${id} 的命令密钥${k.written ? '已导出' : '早已导出（同一把）'} / command key for station ${id} ${k.written ? 'exported' : 'exported before (the same key)'}: ${k.file} (0600)`,
    '',
    '1. 拷到该站点（用 U 盘或 scp），装好 / copy it to that station (USB stick or scp) and install it:',
    `   sudo install -o root -g station-agent -m 0640 command.key ${target}`,
    '2. 站点配置 /etc/station-agent/config.yaml 的 county 节 / in the county section of the station\'s config:',
    `   command_key_file: ${target}`,
    '   然后 / then: sudo stationctl config check && sudo systemctl restart station-agent',
    '3. 迁移期间：把该站点加进 county.yaml 的 migrated_stations（或从 legacy_stations 删去），',
    '   再重启 county-collector 和 county-console。',
    `   During a migration: add ${id} to migrated_stations in county.yaml (or remove it from`,
    '   legacy_stations), then restart county-collector and county-console.',
    '4. 这把密钥只属于这个站点：不要装到别的站点；装好后删掉 U 盘上的副本。',
    '   This key is this station\'s alone: never install it on another station; delete the copy on the USB',
    '   stick once it is installed.',
    '',
  ].join('\n');
}
