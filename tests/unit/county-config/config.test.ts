/**
 * The county commands' config file (county/config.ts): the example parses and names every key, relative
 * paths are relative to the file, unknown keys and non-regular files are refused with their reason, and
 * flags given on the command line win over the file wherever they stand.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  CollectorSection,
  ConsoleSection,
  CountyConfigError,
  MAX_CONFIG_BYTES,
  addConfigOption,
  loadCountyConfig,
  parseCountyConfig,
  readConfigText,
  offlineAfterS,
  VisitsSection,
} from '../../../county/config.js';
import { tempDir } from '../../helpers/temp.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'county', 'county.example.yaml');

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountyConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('no CountyConfigError');
}

describe('county config file', () => {
  it('parses the example, which sets every key (commented ones count) in zh and en', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const config = parseCountyConfig(text, EXAMPLE);
    expect(config.db).toBe('postgresql:///station_county?host=/var/run/postgresql');
    expect(config.collector?.username).toBe('county-collector-1');
    expect(config.console?.username).toBe('county-console');
    for (const [section, schema] of [['collector', CollectorSection], ['console', ConsoleSection], ['visits', VisitsSection]] as const) {
      const block = text.slice(text.indexOf(`\n${section}:`));
      for (const key of Object.keys(schema.shape)) expect(block, `${section}.${key}`).toMatch(new RegExp(`^\\s+#? ?${key}:`, 'm'));
    }
    expect(text).toMatch(/^# db: \/var\/lib\/station-county\/county\.db$/m);
  });

  it('resolves relative paths against the config file, and leaves PostgreSQL URLs alone', () => {
    const c = parseCountyConfig('db: data/county.db\ncollector:\n  password_file: secrets/c.pass\n  ca_file: /abs/ca.crt\nconsole:\n  users: users\n', '/etc/sc/county.yaml');
    expect(c.db).toBe('/etc/sc/data/county.db');
    expect(c.collector?.password_file).toBe('/etc/sc/secrets/c.pass');
    expect(c.collector?.ca_file).toBe('/abs/ca.crt');
    expect(c.console?.users).toBe('/etc/sc/users');
    expect(parseCountyConfig('db: postgres://u@h/db\n', '/etc/sc/county.yaml').db).toBe('postgres://u@h/db');
  });

  it('refuses unknown keys and bad values with their key path, in Chinese and English', () => {
    expect(problemsOf(() => parseCountyConfig('db: x\ncollector:\n  passwd_file: a\n  print_s: -1\nconsol: {}\n', '/c.yaml'))).toEqual([
      expect.stringMatching(/^collector\.print_s: 太小或太短 \/ /),
      'collector.passwd_file: 未知的键 / unknown key',
      'consol: 未知的键 / unknown key',
    ]);
    expect(problemsOf(() => parseCountyConfig('collector:\n  url: http://x\n', '/c.yaml'))).toEqual([expect.stringContaining('collector.url: 须以 mqtt:// 或 mqtts:// 开头 / must start with mqtt:// or mqtts://')]);
    expect(problemsOf(() => parseCountyConfig('db: a\ndb: b\n', '/c.yaml'))[0]).toMatch(/^YAML: /);
  });

  it('takes the monthly target as a pair, in whole sessions and hundredths of an hour', () => {
    expect(parseCountyConfig('console:\n  monthly_target_sessions: 4\n  monthly_target_hours: 7.5\n', '/c.yaml').console).toEqual({ monthly_target_sessions: 4, monthly_target_hours: 7.5 });
    expect(problemsOf(() => parseCountyConfig('console:\n  monthly_target_sessions: 4\n', '/c.yaml'))).toEqual([
      'console.monthly_target_hours: 每月目标的次数和小时须一起设 / set monthly_target_sessions and monthly_target_hours together',
    ]);
    expect(problemsOf(() => parseCountyConfig('console:\n  monthly_target_sessions: 2.5\n  monthly_target_hours: 6.125\n', '/c.yaml'))).toEqual([
      expect.stringMatching(/^console\.monthly_target_sessions: 类型不对 \/ /),
      'console.monthly_target_hours: 最多两位小数 / at most two decimals',
    ]);
  });

  it('refuses a FIFO, a device and a file over 1 MiB without reading them', () => {
    const dir = tempDir();
    const fifo = join(dir, 'county.yaml');
    execFileSync('mkfifo', [fifo]);
    expect(problemsOf(() => readConfigText(fifo))).toEqual([expect.stringContaining('not a regular file')]);
    expect(problemsOf(() => readConfigText('/dev/zero'))).toEqual([expect.stringContaining('not a regular file')]);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(problemsOf(() => readConfigText(big))).toEqual([expect.stringContaining('file too large')]);
    expect(problemsOf(() => readConfigText(join(dir, 'missing.yaml')))).toEqual([expect.stringContaining('ENOENT')]);
  });

  it('gives the file values to the options, and flags before or after --config win', async () => {
    const dir = tempDir();
    const file = join(dir, 'county.yaml');
    writeFileSync(file, 'db: county.db\ncollector:\n  url: mqtt://a:1883\n  group: from-file\n  print_s: 5\n  share: false\nconsole:\n  users: u\n');
    const parse = async (argv: string[]): Promise<Record<string, unknown>> => {
      let got: Record<string, unknown> = {};
      const cmd = new Command('t').exitOverride();
      addConfigOption(cmd, 'collector')
        .requiredOption('--url <url>')
        .requiredOption('--db <db>')
        .option('--group <g>', 'group', 'county')
        .option('--no-share')
        .option('--print-s <s>', 'print', '60')
        .action((o: Record<string, unknown>) => {
          got = o;
        });
      await cmd.parseAsync(argv, { from: 'user' });
      return got;
    };
    expect(await parse(['--config', file])).toMatchObject({ url: 'mqtt://a:1883', db: join(dir, 'county.db'), group: 'from-file', printS: '5', share: false });
    expect(await parse(['--group', 'cli-before', '--config', file, '--db', 'cli.db'])).toMatchObject({ url: 'mqtt://a:1883', db: 'cli.db', group: 'cli-before' });
    expect(await parse(['--url', 'mqtt://b:1', '--db', 'x.db'])).toMatchObject({ group: 'county', printS: '60', share: true });
    await expect(parse(['--config', join(dir, 'nope.yaml')])).rejects.toBeInstanceOf(CountyConfigError);
    expect(loadCountyConfig(file).console?.users).toBe(join(dir, 'u'));
  });

  it('reads visits.offline_after_s for both commands, within its bounds, and the flag wins', async () => {
    expect(problemsOf(() => parseCountyConfig('visits:\n  offline_after_s: 5\n  threshold: 1\n', '/c.yaml'))).toEqual([
      expect.stringMatching(/^visits\.offline_after_s: 太小或太短 \/ /),
      'visits.threshold: 未知的键 / unknown key',
    ]);
    expect(problemsOf(() => parseCountyConfig('visits:\n  offline_after_s: 1.5\n', '/c.yaml'))).toHaveLength(1);
    const dir = tempDir();
    const file = join(dir, 'county.yaml');
    writeFileSync(file, 'db: county.db\nvisits:\n  offline_after_s: 30\nconsole:\n  users: u\n');
    for (const section of ['collector', 'console'] as const) {
      const parse = async (argv: string[]): Promise<Record<string, unknown>> => {
        let got: Record<string, unknown> = {};
        const cmd = new Command('t').exitOverride();
        addConfigOption(cmd, section)
          .option('--offline-after-s <s>')
          .action((o: Record<string, unknown>) => {
            got = o;
          });
        await cmd.parseAsync(argv, { from: 'user' });
        return got;
      };
      expect(await parse(['--config', file])).toMatchObject({ offlineAfterS: '30' });
      expect(await parse(['--config', file, '--offline-after-s', '60'])).toMatchObject({ offlineAfterS: '60' });
    }
    expect(offlineAfterS(undefined)).toBe(900);
    expect(offlineAfterS('10')).toBe(10);
    for (const bad of ['9', '1e3', '-1', '604801', '']) expect(() => offlineAfterS(bad)).toThrow(/--offline-after-s 须为 10–604800 秒的整数 \/ must be whole seconds/);
  });
});
