/**
 * `county-collector config-check --config FILE`: is the file complete for running both services? The
 * package's postinst starts county-collector.service and county-console.service only when it is, so a
 * fresh install with the example config stays stopped instead of restarting in a loop. Static checks
 * only (the database and the broker may not be up yet when the package is installed).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { CountyConfigError, type CountyConfig } from './config.js';
import { CommandKeyError, keyOptionProblems, readMasterKey, readSharedKey } from './command-keys.js';
import { loadNotifyConfig } from './notify/load.js';
import { parseListen } from './console.js';
import { isTimeZone } from './console/time.js';

function readable(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return '不是普通文件 / not a regular file';
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (err) {
    return `无法读取 / cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/**
 * Every reason the two services could not run from `config`; empty when they can. The notify file
 * (`notifyFile`, else the collector section's `notify`) is checked whole: its keys, and the URL and
 * secret files it names (readable, not readable by others, a usable URL).
 */
export function configProblems(config: CountyConfig, notifyFile?: string): string[] {
  const problems: string[] = [];
  const c = config.collector ?? {};
  const k = config.console ?? {};
  if (config.db === undefined) problems.push('db: 缺少数据库（PostgreSQL URL 或 SQLite 文件）/ missing: the database (a PostgreSQL URL or a SQLite file)');
  if (c.url === undefined) problems.push('collector.url: 缺少消息服务器地址 / missing: the broker URL');
  if (k.users === undefined) problems.push('console.users: 缺少控制台账号文件 / missing: the console accounts file');
  for (const [name, section] of [['collector', c], ['console', k]] as const) {
    for (const key of ['password_file', 'ca_file', 'cert_file', 'key_file', 'command_key_file', 'users'] as const) {
      const file = (section as Record<string, string | undefined>)[key];
      if (file === undefined) continue;
      const why = readable(file);
      if (why) problems.push(`${name}.${key}: ${file}: ${why}${key === 'users' ? '（先运行 county-console user add / run county-console user add first）' : ''}`);
    }
    if ((section.cert_file === undefined) !== (section.key_file === undefined)) {
      problems.push(`${name}.cert_file, ${name}.key_file: 须成对配置 / give both or neither`);
    }
    if (section.url !== undefined && section.username !== undefined && section.password_file === undefined) {
      problems.push(`${name}.password_file: 有 username 时需要密码文件 / needed with username`);
    }
  }
  // The reference broker forces client id = user name: two programs on one account throw each other off.
  if (c.username !== undefined && c.username === k.username) {
    problems.push(`console.username: 不能与采集器共用账号 ${c.username}（同名登录会互相踢下线）/ must not share the collector's account (one login would throw the other off)`);
  }
  if (k.url !== undefined && k.command_key_file === undefined && config.master_key_file === undefined) {
    problems.push('master_key_file: 控制台有 url 时需要命令密钥才能下发 / needed when the console has a url: nothing can be sent without command keys');
  }
  problems.push(...keyProblems(config));
  if (k.http !== undefined) {
    try {
      parseListen(k.http);
    } catch (err) {
      problems.push(`console.http: ${(err as Error).message}`);
    }
  }
  if (k.timezone !== undefined && !isTimeZone(k.timezone)) problems.push(`console.timezone: 未知时区 / unknown time zone ${k.timezone}`);
  const notify = notifyFile ?? c.notify;
  if (notify !== undefined) {
    try {
      loadNotifyConfig(notify);
    } catch (err) {
      if (!(err instanceof CountyConfigError)) throw err;
      problems.push(...err.issues.map((i) => `${notifyFile ? 'notify' : 'collector.notify'} (${err.file}): ${i}`));
    }
  }
  return problems;
}

/** The command keys as both services would read them at start (command-keys.ts), with the file's key names. */
function keyProblems(config: CountyConfig): string[] {
  const problems: string[] = [];
  if (config.master_key_file !== undefined) {
    try {
      readMasterKey(config.master_key_file);
    } catch (err) {
      const why = err instanceof CommandKeyError ? err.issues.join('; ') : (err as Error).message;
      problems.push(`master_key_file: ${config.master_key_file}: ${why}`);
    }
  }
  const signing = [
    ['collector', config.collector] as const,
    ...(config.console?.url !== undefined ? [['console', config.console] as const] : []),
  ].filter(([, section]) => section !== undefined);
  const lists = { migratedStations: config.migrated_stations, legacyStations: config.legacy_stations };
  for (const [name, section] of signing) {
    const names = { master: 'master_key_file', shared: `${name}.command_key_file`, migrated: 'migrated_stations', legacy: 'legacy_stations' };
    problems.push(...keyOptionProblems({ masterKeyFile: config.master_key_file, commandKeyFile: section?.command_key_file, ...lists }, names));
  }
  // The same old key on both: otherwise a push reaches a station the collector's acks do not, or the reverse.
  const c = config.collector?.command_key_file;
  const k = config.console?.url !== undefined ? config.console.command_key_file : undefined;
  if (c !== undefined && k !== undefined && c !== k) {
    try {
      if (readSharedKey(c) !== readSharedKey(k)) {
        problems.push('console.command_key_file: 与 collector.command_key_file 的密钥不同（站点只认一个）/ holds another key than collector.command_key_file (a station holds one)');
      }
    } catch {
      // Unreadable: reported above.
    }
  }
  return [...new Set(problems)];
}
