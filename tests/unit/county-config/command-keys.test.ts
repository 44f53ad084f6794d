/**
 * The county's command keys (county/command-keys.ts) and their config (county/config.ts,
 * county/config-check.ts): which key signs for which station in each mode, the rules between the
 * options, the master key file refused when too short, not hex or readable by others (zh/en, exit 78
 * through CountyConfigError), station lists bounded and checked, the top-level keys of the config file
 * reaching both programs' options, and config-check saying what a start would refuse.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { deriveStationKey } from '../../../protocol/command-keys.js';
import {
  CommandKeyError,
  commandKeysFrom,
  keyOptionProblems,
  MAX_LISTED_STATIONS,
  NO_KEYS,
  readMasterKey,
  sharedKeys,
  stationKeys,
  stationList,
} from '../../../county/command-keys.js';
import { addConfigOption, CountyConfigError, parseCountyConfig } from '../../../county/config.js';
import { configProblems } from '../../../county/config-check.js';
import { tempDir } from '../../helpers/temp.js';

const MASTER_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const MASTER = Buffer.from(MASTER_HEX, 'hex');
const OLD = 'the-old-shared-county-key-0123456789';
const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'county', 'county.example.yaml');

function secret(dir: string, name: string, text: string, mode = 0o600): string {
  const file = join(dir, name);
  writeFileSync(file, text, { mode });
  chmodSync(file, mode);
  return file;
}

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountyConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('no CountyConfigError');
}

describe('which key signs for which station', () => {
  it('per station: each its own derived key', () => {
    const k = stationKeys(MASTER);
    expect(k.mode).toBe('per_station');
    expect(k.keyFor('village-01')).toBe(deriveStationKey(MASTER, 'village-01'));
    expect(k.keyFor('village-02')).toBe(deriveStationKey(MASTER, 'village-02'));
    expect(k.keyFor('village-01')).not.toBe(k.keyFor('village-02'));
  });

  it('migrating with migrated_stations: the listed their own key, every other the old one', () => {
    const k = stationKeys(MASTER, { key: OLD, selection: { migrated: ['village-01'] } });
    expect(k.mode).toBe('migrating');
    expect(k.keyFor('village-01')).toBe(deriveStationKey(MASTER, 'village-01'));
    expect(k.keyFor('village-02')).toBe(OLD);
    expect(k.keyFor('never-listed')).toBe(OLD);
    expect(k.summary()).toEqual({ command_keys: 'migrating', migrated_stations: 1 });
  });

  it('migrating with legacy_stations: the listed the old key, every other its own', () => {
    const k = stationKeys(MASTER, { key: OLD, selection: { legacy: ['village-02', 'village-03'] } });
    expect(k.keyFor('village-01')).toBe(deriveStationKey(MASTER, 'village-01'));
    expect(k.keyFor('village-02')).toBe(OLD);
    expect(k.keyFor('village-03')).toBe(OLD);
    expect(k.summary()).toEqual({ command_keys: 'migrating', legacy_stations: 2 });
  });

  it('shared and none, and no summary ever holds a key', () => {
    expect(sharedKeys(OLD).keyFor('anything')).toBe(OLD);
    expect(NO_KEYS.keyFor('village-01')).toBeUndefined();
    for (const k of [NO_KEYS, sharedKeys(OLD), stationKeys(MASTER), stationKeys(MASTER, { key: OLD, selection: { migrated: [] } })]) {
      const text = JSON.stringify(k.summary());
      expect(text).not.toContain(OLD);
      expect(text).not.toContain(deriveStationKey(MASTER, 'village-01'));
      expect(text).not.toContain(MASTER_HEX);
    }
  });
});

describe('the options together', () => {
  it('needs exactly one station list during a migration, and none otherwise', () => {
    expect(keyOptionProblems({ masterKeyFile: 'm' })).toEqual([]);
    expect(keyOptionProblems({ commandKeyFile: 'c' })).toEqual([]);
    expect(keyOptionProblems({})).toEqual([]);
    expect(keyOptionProblems({ masterKeyFile: 'm', commandKeyFile: 'c', migratedStations: [] })).toEqual([]);
    expect(keyOptionProblems({ masterKeyFile: 'm', commandKeyFile: 'c', legacyStations: ['a'] })).toEqual([]);
    expect(keyOptionProblems({ masterKeyFile: 'm', commandKeyFile: 'c' })).toEqual([expect.stringMatching(/^迁移期间须说明哪些站点还在用旧密钥.*\/ during a migration .*--migrated-stations/)]);
    expect(keyOptionProblems({ masterKeyFile: 'm', commandKeyFile: 'c', migratedStations: [], legacyStations: [] })).toEqual([expect.stringContaining('not both')]);
    expect(keyOptionProblems({ masterKeyFile: 'm', migratedStations: ['a'] })).toEqual([expect.stringContaining('--migrated-stations is for a migration only')]);
    expect(keyOptionProblems({ commandKeyFile: 'c', legacyStations: 'a' })).toEqual([expect.stringContaining('--legacy-stations 只用于迁移期间')]);
  });

  it('reads the files the options name', () => {
    const dir = tempDir();
    const master = secret(dir, 'master.key', `${MASTER_HEX}\n`);
    const old = secret(dir, 'command.key', `${OLD}\n`, 0o640);
    expect(commandKeysFrom({}).mode).toBe('none');
    expect(commandKeysFrom({ commandKeyFile: old }).keyFor('x')).toBe(OLD);
    expect(commandKeysFrom({ masterKeyFile: master }).keyFor('village-01')).toBe(deriveStationKey(MASTER, 'village-01'));
    const migrating = commandKeysFrom({ masterKeyFile: master, commandKeyFile: old, migratedStations: 'village-01, village-04' });
    expect([migrating.keyFor('village-01'), migrating.keyFor('village-04'), migrating.keyFor('village-02')]).toEqual([
      deriveStationKey(MASTER, 'village-01'),
      deriveStationKey(MASTER, 'village-04'),
      OLD,
    ]);
    expect(issuesOf(() => commandKeysFrom({ masterKeyFile: master, commandKeyFile: old }))).toEqual([expect.stringContaining('during a migration')]);
    expect(issuesOf(() => commandKeysFrom({ commandKeyFile: secret(dir, 'empty.key', '\n') }))).toEqual(['文件是空的 / the file is empty']);
  });
});

describe('the master key file', () => {
  it('is refused when others may read or write it, with the fix, in zh and en', () => {
    const dir = tempDir();
    for (const mode of [0o640, 0o604, 0o660, 0o602, 0o644]) {
      const file = secret(dir, `m-${mode.toString(8)}.key`, MASTER_HEX, mode);
      const [issue] = issuesOf(() => readMasterKey(file));
      expect(issue).toContain(`权限 0${mode.toString(8)}`);
      expect(issue).toContain(`mode 0${mode.toString(8)}: users other than its owner may read or write the master key`);
      expect(issue).toContain(`chmod 0600 ${file}`);
    }
    expect(readMasterKey(secret(dir, 'ok.key', `${MASTER_HEX}\n`, 0o600))).toEqual(MASTER);
    expect(readMasterKey(secret(dir, 'ro.key', MASTER_HEX, 0o400))).toEqual(MASTER);
  });

  it('is refused when too short, not hex, not a regular file or too large; the message never holds the key', () => {
    const dir = tempDir();
    const short = MASTER_HEX.slice(0, 62);
    const [tooShort] = issuesOf(() => readMasterKey(secret(dir, 'short.key', short)));
    expect(tooShort).toMatch(/^太短：31 字节，至少 32 字节.* \/ too short: 31 bytes, at least 32/);
    expect(tooShort).not.toContain(short);
    const base64 = MASTER.toString('base64');
    const [notHex] = issuesOf(() => readMasterKey(secret(dir, 'b64.key', base64)));
    expect(notHex).toContain('not a hex key');
    expect(notHex).not.toContain(base64);
    const err = (() => {
      try {
        readMasterKey(secret(dir, 'b64.key2', base64));
      } catch (e) {
        return e as Error;
      }
    })()!;
    expect(err).toBeInstanceOf(CommandKeyError);
    expect(err.message).toMatch(/^命令密钥不能使用 \/ command key problem: .*b64\.key2\n {2}- /);
    const fifo = join(dir, 'fifo.key');
    execFileSync('mkfifo', ['-m', '0600', fifo]);
    expect(issuesOf(() => readMasterKey(fifo))).toEqual(['不是普通文件 / not a regular file']);
    expect(issuesOf(() => readMasterKey(secret(dir, 'big.key', 'ab'.repeat(4000))))[0]).toContain('too large for a key file');
    expect(issuesOf(() => readMasterKey(join(dir, 'missing.key')))).toEqual(['无法读取 / cannot read (ENOENT)']);
  });
});

describe('station lists', () => {
  it('take a flag value or a YAML list, and refuse what is not a station id', () => {
    expect(stationList('village-01,village-02 village-03', '--migrated-stations')).toEqual(['village-01', 'village-02', 'village-03']);
    expect(stationList('', '--migrated-stations')).toEqual([]);
    expect(stationList(['a', 'b'], 'migrated_stations')).toEqual(['a', 'b']);
    expect(issuesOf(() => stationList(['ok', 'Not-An-Id'], '--legacy-stations'))).toEqual(['第 2 项不是站点编号 / item 2 is not a station id: "Not-An-Id"']);
    expect(issuesOf(() => stationList(['ok', 5], '--legacy-stations'))[0]).toContain('item 2 is not a station id');
    expect(issuesOf(() => stationList({ a: 1 }, '--legacy-stations'))).toEqual(['须是站点编号列表 / must be a list of station ids']);
    expect(issuesOf(() => stationList(Array.from({ length: MAX_LISTED_STATIONS + 1 }, (_, i) => `s${i}`), 'x'))[0]).toContain('too many stations');
  });
});

describe('the config file', () => {
  it('has master_key_file and the two migration lists at the top level, explained in the example', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    const example = parseCountyConfig(text, '/etc/station-county/county.yaml');
    expect(example.master_key_file).toBe('/etc/station-county/secrets/master.key');
    expect(example.collector?.command_key_file).toBeUndefined();
    for (const key of ['migrated_stations', 'legacy_stations']) expect(text).toMatch(new RegExp(`^# ${key}: \\[`, 'm'));
    const c = parseCountyConfig('master_key_file: secrets/master.key\nmigrated_stations: [village-01, village-02]\n', '/etc/sc/county.yaml');
    expect(c.master_key_file).toBe('/etc/sc/secrets/master.key');
    expect(c.migrated_stations).toEqual(['village-01', 'village-02']);
  });

  it('refuses a bad station id or a key at the wrong place with its key path', () => {
    expect(issuesOf(() => parseCountyConfig('migrated_stations: [village-01, Village-02]\n', '/c.yaml'))).toEqual([expect.stringMatching(/^migrated_stations\.1: 不是站点编号 \/ not a station id/)]);
    expect(issuesOf(() => parseCountyConfig('legacy_stations: village-01\n', '/c.yaml'))).toEqual([expect.stringMatching(/^legacy_stations: 类型不对 \/ /)]);
    expect(issuesOf(() => parseCountyConfig('collector:\n  master_key_file: m\n', '/c.yaml'))).toEqual(['collector.master_key_file: 未知的键 / unknown key']);
    expect(issuesOf(() => parseCountyConfig('master_key: m\n', '/c.yaml'))).toEqual(['master_key: 未知的键 / unknown key']);
  });

  it('gives the top-level keys to the command’s options; flags win', async () => {
    const dir = tempDir();
    const file = join(dir, 'county.yaml');
    writeFileSync(file, 'db: county.db\nmaster_key_file: master.key\nmigrated_stations: [village-01]\ncollector:\n  command_key_file: old.key\n');
    const parse = async (argv: string[]): Promise<Record<string, unknown>> => {
      let got: Record<string, unknown> = {};
      const cmd = new Command('t').exitOverride();
      addConfigOption(cmd, 'collector')
        .option('--db <db>')
        .option('--master-key-file <f>')
        .option('--command-key-file <f>')
        .option('--migrated-stations <ids>')
        .option('--legacy-stations <ids>')
        .action((o: Record<string, unknown>) => {
          got = o;
        });
      await cmd.parseAsync(argv, { from: 'user' });
      return got;
    };
    expect(await parse(['--config', file])).toEqual({
      config: file,
      db: join(dir, 'county.db'),
      masterKeyFile: join(dir, 'master.key'),
      commandKeyFile: join(dir, 'old.key'),
      migratedStations: ['village-01'],
    });
    expect(await parse(['--config', file, '--migrated-stations', 'village-01,village-02'])).toMatchObject({ migratedStations: 'village-01,village-02' });
  });
});

describe('config-check on the command keys', () => {
  function county(lines: string[], files: (dir: string) => void = () => undefined): string[] {
    const dir = tempDir();
    files(dir);
    writeFileSync(join(dir, 'users'), '', { mode: 0o600 });
    const text = ['db: county.db', ...lines].join('\n') + '\n';
    return configProblems(parseCountyConfig(text, join(dir, 'county.yaml')));
  }
  const base = ['collector:', '  url: mqtt://b:1883', 'console:', '  users: users', '  url: mqtt://b:1883'];
  const master = (dir: string, mode = 0o600, text = MASTER_HEX) => secret(dir, 'master.key', text, mode);

  it('passes per-station keys, and a migration naming the old key in both sections', () => {
    expect(county(['master_key_file: master.key', ...base], (d) => master(d))).toEqual([]);
    const migration = ['master_key_file: master.key', 'legacy_stations: [village-02]', 'collector:', '  url: mqtt://b:1883', '  command_key_file: old.key', 'console:', '  users: users', '  url: mqtt://b:1883', '  command_key_file: old.key'];
    expect(county(migration, (d) => (master(d), secret(d, 'old.key', OLD)))).toEqual([]);
  });

  it('names what a start would refuse', () => {
    expect(county(['master_key_file: master.key', ...base], (d) => master(d, 0o640))).toEqual([expect.stringMatching(/^master_key_file: .*master\.key: 权限 0640.*chmod 0600/)]);
    expect(county(['master_key_file: master.key', ...base], (d) => master(d, 0o600, 'abcd'))).toEqual([expect.stringContaining('too short: 2 bytes')]);
    expect(county(['master_key_file: master.key', ...base])).toEqual([expect.stringMatching(/^master_key_file: .*: 无法读取 \/ cannot read \(ENOENT\)/)]);
    expect(county(base)).toEqual(['master_key_file: 控制台有 url 时需要命令密钥才能下发 / needed when the console has a url: nothing can be sent without command keys']);
    // A migration without saying who is migrated, a list without the old key, two different old keys.
    const both = (console: string) => ['master_key_file: master.key', 'collector:', '  url: mqtt://b:1883', '  command_key_file: old.key', 'console:', '  users: users', '  url: mqtt://b:1883', `  command_key_file: ${console}`];
    const files = (d: string) => (master(d), secret(d, 'old.key', OLD), secret(d, 'other.key', 'another-old-key-0123456789'));
    expect(county(both('old.key'), files)).toEqual([expect.stringMatching(/^迁移期间须说明.*during a migration \(master_key_file and collector\.command_key_file both given\)/), expect.stringContaining('(master_key_file and console.command_key_file both given)')]);
    expect(county(['migrated_stations: [village-01]', ...both('other.key')], files)).toEqual(['console.command_key_file: 与 collector.command_key_file 的密钥不同（站点只认一个）/ holds another key than collector.command_key_file (a station holds one)']);
    expect(county(['master_key_file: master.key', 'migrated_stations: []', ...base], (d) => master(d))).toEqual([
      expect.stringMatching(/^migrated_stations 只用于迁移期间.*needs both the master key \(master_key_file\) and the old shared key \(collector\.command_key_file\)/),
      expect.stringContaining('(console.command_key_file)'),
    ]);
  });
});
