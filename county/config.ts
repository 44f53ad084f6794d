/**
 * The county commands' config file (`--config /etc/station-county/county.yaml`, county.example.yaml):
 * top-level `db` and command keys (`master_key_file`, and during a migration `migrated_stations` or
 * `legacy_stations`) and the `visits:` section, shared by both programs, a `collector:` and a `console:`
 * section whose keys are the commands' long flags with `-` → `_`. The file only supplies values; what the command line says wins. A bad file is refused with
 * every problem and its key path, in Chinese and English, and the command exits 78 (EX_CONFIG) — the
 * code systemd and the package's postinst read as "fix the config", not "restart me".
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ID_PATTERN } from '../protocol/schedule.js';
import { AUDIT_MAX_DAYS, AUDIT_MIN_DAYS } from './audit.js';
import { OFFLINE_AFTER_S } from './visits.js';

/** A `db` that names PostgreSQL rather than a SQLite file (open-store.ts opens it). */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/** EX_CONFIG (sysexits.h): the exit code of a config that cannot be used. */
export const EXIT_CONFIG = 78;
/** The county's config is a page of settings: anything near this is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** toJS() expands YAML aliases; a few nested ones make gigabytes ("billion laughs"). */
const MAX_YAML_ALIASES = 32;

export class CountyConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly string[],
  ) {
    super(`配置文件有误 / config file problem: ${file}\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'CountyConfigError';
  }
}

const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const text = (max: number) => z.string().min(1).max(max).regex(NO_CONTROL, '不能含控制字符 / must not contain control characters');
const FilePath = text(4096);
const LogLevel = z.enum(['debug', 'info', 'warn', 'error', 'silent']);

/** What both programs need to reach the broker (broker-access.ts). */
const BrokerKeys = {
  url: text(2048).regex(/^mqtts?:\/\/[^\s]+$/i, '须以 mqtt:// 或 mqtts:// 开头 / must start with mqtt:// or mqtts://'),
  prefix: text(64).regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, '主题前缀只能含字母、数字、_ - / / topic prefix: letters, digits, _ - and /'),
  username: text(128),
  password_file: FilePath,
  ca_file: FilePath,
  cert_file: FilePath,
  key_file: FilePath,
  command_key_file: FilePath,
};

/** Bounds of the monthly target (`monthly_target_*`): a session a day at most, and hours to match. */
export const MAX_TARGET_SESSIONS = 1000;
export const MAX_TARGET_HOURS = 1000;
/** Hours as the 通报 prints them: hundredths. */
export const twoDecimals = (h: number): boolean => Math.abs(h * 100 - Math.round(h * 100)) < 1e-6;

export const CollectorSection = z
  .object({
    ...BrokerKeys,
    group: text(64).regex(/^[A-Za-z0-9_-]+$/, '共享订阅组名只能含字母、数字、_ - / group: letters, digits, _ and -'),
    share: z.boolean(),
    create: z.boolean(),
    print_s: z.number().int().min(0).max(86_400),
    log_level: LogLevel,
    /** The group notifications' file (county/notify/load.ts, docs/county.md "Group notifications"). */
    notify: FilePath,
  })
  .partial()
  .strict();

export const ConsoleSection = z
  .object({
    ...BrokerKeys,
    users: FilePath,
    create: z.boolean(),
    http: text(300),
    timezone: text(64),
    secure_cookies: z.boolean(),
    trust_proxy: z.boolean(),
    max_failures: z.number().int().min(1).max(100),
    lockout_min: z.number().min(1).max(1440),
    audit_days: z.number().int().min(AUDIT_MIN_DAYS, `操作日志至少保留 ${AUDIT_MIN_DAYS} 天 / the audit log is kept at least ${AUDIT_MIN_DAYS} days`).max(AUDIT_MAX_DAYS),
    log_level: LogLevel,
    /** The monthly 通报's title (else the name most stations report in their inventory). */
    county_name: text(64),
    /** What each station should reach in a month (the 通报's completion): sessions, and hours. */
    monthly_target_sessions: z.number().int().min(1).max(MAX_TARGET_SESSIONS),
    monthly_target_hours: z.number().min(0.01).max(MAX_TARGET_HOURS).refine(twoDecimals, '最多两位小数 / at most two decimals'),
  })
  .partial()
  .strict()
  .refine((s) => (s.monthly_target_sessions === undefined) === (s.monthly_target_hours === undefined), {
    message: '每月目标的次数和小时须一起设 / set monthly_target_sessions and monthly_target_hours together',
    path: ['monthly_target_hours'],
  });

/** Station ids of a migration list (command-keys.ts); a province has tens of thousands of stations. */
const StationIds = z
  .array(z.string().regex(ID_PATTERN, '不是站点编号 / not a station id (^[a-z0-9][a-z0-9_-]{0,63}$)'))
  .max(100_000, '站点太多（上限 100000）/ too many stations (at most 100000)');

/** What needs a visit (county/visits.ts): read by both commands, as `db` is, so the collector and the console judge alike. */
export const VisitsSection = z
  .object({
    offline_after_s: z.number().int().min(OFFLINE_AFTER_S.min).max(OFFLINE_AFTER_S.max),
  })
  .partial()
  .strict();

export const CountyConfigSchema = z
  .object({
    /** A SQLite file, or postgres:// / postgresql:// (e.g. the local socket: postgresql:///station_county?host=/var/run/postgresql). */
    db: text(4096).optional(),
    /** The county's master key: each station's command key is derived from it (command-keys.ts). */
    master_key_file: FilePath.optional(),
    /** Migration from one shared key: the stations that already hold their own key, or those that still hold the old one. */
    migrated_stations: StationIds.optional(),
    legacy_stations: StationIds.optional(),
    collector: CollectorSection.optional(),
    console: ConsoleSection.optional(),
    visits: VisitsSection.optional(),
  })
  .strict();

export type CountyConfig = z.infer<typeof CountyConfigSchema> & { /** The file it came from, absolute. */ file: string };
export type SectionName = 'collector' | 'console';

/** Top-level keys both programs take as options of the same name (`db` → `--db`). */
const SHARED_KEYS = ['db', 'master_key_file', 'migrated_stations', 'legacy_stations'] as const;

/** Keys that name files: relative values are relative to the config file, as an administrator expects. */
const PATH_KEYS = new Set(['password_file', 'ca_file', 'cert_file', 'key_file', 'command_key_file', 'users', 'notify']);

const ZH_ISSUE: Record<string, string> = {
  invalid_type: '类型不对',
  too_small: '太小或太短',
  too_big: '太大或太长',
  invalid_value: '不是允许的值',
  invalid_format: '格式不对',
};

function keyPath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.') || '(root)';
}

/** zod issues as `key.path: 中文 / English`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys') {
      return i.keys.map((k) => `${keyPath([...i.path, k])}: 未知的键 / unknown key`);
    }
    const zh = ZH_ISSUE[i.code];
    // Our own messages are already bilingual (they contain " / ").
    const message = i.message.includes(' / ') || !zh ? i.message : `${zh} / ${i.message}`;
    return [`${keyPath(i.path)}: ${message}`];
  });
}

/**
 * Reads the file bounded: opened without blocking (a FIFO would otherwise hang us), refused unless it is
 * a regular file (not a FIFO, not /dev/zero), at most MAX_CONFIG_BYTES — checked on the open descriptor,
 * then never more than that read.
 */
export function readConfigText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new CountyConfigError(file, [`无法打开 / cannot open (${code})`]);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new CountyConfigError(file, ['不是普通文件（FIFO、设备、目录都不行）/ not a regular file (a FIFO, device or folder is refused)']);
    if (st.size > MAX_CONFIG_BYTES) {
      throw new CountyConfigError(file, [`文件太大（${st.size} 字节，上限 ${MAX_CONFIG_BYTES}）/ file too large (${st.size} bytes, at most ${MAX_CONFIG_BYTES})`]);
    }
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_CONFIG_BYTES) throw new CountyConfigError(file, [`文件太大（上限 ${MAX_CONFIG_BYTES} 字节）/ file too large (at most ${MAX_CONFIG_BYTES} bytes)`]);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** YAML text as plain data, bounded (duplicate keys and too many aliases refused); `abs` names the file in messages. */
export function parseYamlText(textIn: string, abs: string): unknown {
  const doc = parseDocument(textIn, { lineCounter: new LineCounter(), uniqueKeys: true });
  if (doc.errors.length > 0) throw new CountyConfigError(abs, doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`));
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    throw new CountyConfigError(abs, [`YAML 别名展开过多 / YAML aliases expand too far: ${(err as Error).message.split('\n')[0]}`]);
  }
}

/** Parses and validates config text; `file` names it in messages and anchors relative paths. */
export function parseCountyConfig(textIn: string, file: string): CountyConfig {
  const abs = resolve(file);
  const raw = parseYamlText(textIn, abs);
  const parsed = CountyConfigSchema.safeParse(raw);
  if (!parsed.success) throw new CountyConfigError(abs, formatIssues(parsed.error.issues));
  const config: CountyConfig = { ...parsed.data, file: abs };
  const base = dirname(abs);
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  if (config.db !== undefined && !isPostgresUrl(config.db)) config.db = at(config.db);
  if (config.master_key_file !== undefined) config.master_key_file = at(config.master_key_file);
  for (const name of ['collector', 'console'] as const) {
    const section = config[name] as Record<string, unknown> | undefined;
    if (!section) continue;
    for (const [k, v] of Object.entries(section)) if (PATH_KEYS.has(k) && typeof v === 'string') section[k] = at(v);
  }
  return config;
}

export function loadCountyConfig(file: string): CountyConfig {
  return parseCountyConfig(readConfigText(file), file);
}

/** `password_file` → `passwordFile`: commander's attribute name of the long flag `--password-file`. */
export const attributeName = (key: string): string => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/**
 * The values the file gives `command`: the top-level `db` and command keys (when `withDb`) and the keys
 * of `section` (or only `keys` of it), as commander option values — numbers as the strings a flag would
 * give, station lists as arrays.
 */
export function configValues(config: CountyConfig, section: SectionName | undefined, options: { withDb?: boolean; keys?: readonly string[] } = {}): Record<string, string | boolean | string[]> {
  const out: Record<string, string | boolean | string[]> = {};
  if (options.withDb !== false) {
    for (const k of SHARED_KEYS) {
      const v = config[k];
      if (v !== undefined) out[attributeName(k)] = v;
    }
  }
  const values = section ? ({ ...config.visits, ...config[section] } as Record<string, string | number | boolean>) : {};
  for (const [k, v] of Object.entries(values)) {
    if (options.keys && !options.keys.includes(k)) continue;
    out[attributeName(k)] = typeof v === 'number' ? String(v) : v;
  }
  return out;
}

/**
 * Adds `--config <file>` to `command`. When it is given, the file's values become the options' values
 * unless the same option was typed on the command line (before or after `--config`): flags override the
 * file. It runs while commander parses, so options the file supplies satisfy requiredOption().
 */
export function addConfigOption(command: Command, section: SectionName | undefined, options: { withDb?: boolean; keys?: readonly string[] } = {}): Command {
  command.option('--config <file>', 'YAML config file (county.example.yaml); flags override it / 配置文件，命令行参数优先');
  command.on('option:config', (file: string) => {
    const values = configValues(loadCountyConfig(file), section, options);
    for (const [attr, value] of Object.entries(values)) {
      if (!command.options.some((o) => o.attributeName() === attr)) continue;
      if (command.getOptionValueSource(attr) === 'cli') continue;
      command.setOptionValueWithSource(attr, value, 'config');
    }
  });
  return command;
}

/** `--offline-after-s` (`visits.offline_after_s`): whole seconds within its bounds, or a bilingual reason. */
export function offlineAfterS(value: string | undefined): number {
  if (value === undefined) return OFFLINE_AFTER_S.default;
  const n = /^\d{1,7}$/.test(value) ? Number(value) : NaN;
  if (!(n >= OFFLINE_AFTER_S.min && n <= OFFLINE_AFTER_S.max)) {
    throw new Error(`--offline-after-s 须为 ${OFFLINE_AFTER_S.min}–${OFFLINE_AFTER_S.max} 秒的整数 / must be whole seconds, ${OFFLINE_AFTER_S.min}–${OFFLINE_AFTER_S.max} (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** The exit of a county command's main(): 78 with the bilingual message for a config problem, else 1. */
export function failAndExit(program: string, err: unknown): never {
  process.stderr.write(`${program}: ${(err as Error).message}\n`);
  process.exit(err instanceof CountyConfigError ? EXIT_CONFIG : 1);
}
