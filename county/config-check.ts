/**
 * `county-collector config-check --config FILE`: is the file complete for running both services? The
 * package's postinst starts county-collector.service and county-console.service only when it is, so a
 * fresh install with the example config stays stopped instead of restarting in a loop. Static checks
 * only (the database and the broker may not be up yet when the package is installed).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { CountyConfigError, type CountyConfig } from './config.js';
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
  if (k.url !== undefined && k.command_key_file === undefined) {
    problems.push('console.command_key_file: 有 url 时需要命令密钥才能下发 / needed with url: nothing can be sent without the command key');
  }
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
