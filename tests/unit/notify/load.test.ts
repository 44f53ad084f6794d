/**
 * The notify file (county/notify/load.ts): the example names every key and parses, unknown keys and bad
 * values are refused with their key path (a CountyConfigError: exit 78), the robots' URLs and secrets
 * are read from their own files (relative to the notify file), never shown, and refused when other users
 * may read them or when the URL is not https (http only on this host).
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CountyConfigError } from '../../../county/config.js';
import { configProblems } from '../../../county/config-check.js';
import { NotifyRulesSchema, NotifyTargetSchema } from '../../../county/notify/config.js';
import { loadNotifyConfig, parseNotifyConfig } from '../../../county/notify/load.js';
import { tempDir } from '../../helpers/temp.js';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', 'county', 'notify.example.yaml');
const KEY = '693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof CountyConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('no CountyConfigError');
}

/** A notify folder with the example's secret files, 0640. */
function exampleFolder(): string {
  const dir = tempDir('notify-load-');
  mkdirSync(join(dir, 'secrets'));
  const files: Record<string, string> = {
    'county-wecom.url': `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}\n`,
    'chengguan-dingtalk.url': 'https://oapi.dingtalk.com/robot/send?access_token=tok123\n',
    'chengguan-dingtalk.secret': 'SECabc\n',
    'hekou-feishu.url': 'https://open.feishu.cn/open-apis/bot/v2/hook/abc\n',
    'hekou-feishu.secret': 'fs-secret\n',
    'county-oa.url': 'https://oa.county.example/hooks/stations\n',
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'secrets', name), text, { mode: 0o640 });
  writeFileSync(join(dir, 'notify.yaml'), readFileSync(EXAMPLE, 'utf8'));
  return dir;
}

describe('the notify file', () => {
  it('parses the example, which names every key (commented ones count), and reads each secret from its file', () => {
    const text = readFileSync(EXAMPLE, 'utf8');
    for (const key of [...Object.keys(NotifyTargetSchema.shape), ...Object.keys(NotifyRulesSchema.shape)]) expect(text, key).toMatch(new RegExp(`^\\s+(- )?#? ?${key}:`, 'm'));
    const dir = exampleFolder();
    const n = loadNotifyConfig(join(dir, 'notify.yaml'));
    expect(n.targets.map((t) => [t.id, t.kind, t.towns, t.lang, t.secret ?? null])).toEqual([
      ['county-wecom', 'wecom', 'all', 'zh', null],
      ['chengguan-dingtalk', 'dingtalk', ['城关镇'], 'zh', 'SECabc'],
      ['hekou-feishu', 'feishu', ['河口镇'], 'zh', 'fs-secret'],
      ['county-oa', 'webhook', 'all', 'en', null],
    ]);
    expect(n.targets[0]!.url).toBe(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}`);
    expect(n.targets[1]!.url_file).toBe(join(dir, 'secrets', 'chengguan-dingtalk.url'));
    expect(n.config.rules.station_offline_after_s).toBeUndefined();
    expect(n.config.rules).toMatchObject({ quiet_hours: { from: '22:00', to: '07:00' }, daily_digest: '08:00', monthly: { day: 20, time: '09:00' }, timezone: 'Asia/Shanghai' });
  });

  it('refuses unknown keys and bad values with their key path, in Chinese and English', () => {
    const problems = problemsOf(() =>
      parseNotifyConfig(
        [
          'targets:',
          '  - {id: a, kind: wecom, url_file: u, towns: all, colour: red}',
          '  - {id: a, kind: dingtalk, url_file: u, towns: [城关镇]}',
          '  - {id: B!, kind: slack, url_file: u, towns: all}',
          'rules:',
          '  station_offline_after_s: 5',
          '  faults: [lamp, modbus_unit_silent]',
          '  quiet_hours: {from: "25:00", to: "07:00"}',
          '  timezone: Mars/Olympus',
          '  console_url: "https://x.example/?a=1"',
          'extra: 1',
        ].join('\n'),
        '/etc/sc/notify.yaml',
      ),
    );
    const has = (path: string, words: RegExp) => expect(problems.some((p) => p.startsWith(`${path}: `) && words.test(p)), `${path} ${words} in\n${problems.join('\n')}`).toBe(true);
    has('targets.0.colour', /未知的键 \/ unknown key/);
    has('targets.1.secret_file', /加签/);
    has('targets.2.id', /小写字母/);
    has('targets.2.kind', /不是允许的值/);
    has('rules.station_offline_after_s', /太小/);
    has('rules.faults.1', /不认识的故障代码/);
    has('rules.quiet_hours.from', /HH:MM/);
    has('rules.timezone', /未知时区/);
    has('rules.console_url', /不带 \? 与 #/);
    has('extra', /未知的键/);
    expect(problems.join('\n')).not.toMatch(/格式不对 \/ 须为/);
    // Checked once every target is well formed: an id used twice.
    expect(problemsOf(() => parseNotifyConfig('targets:\n  - {id: a, kind: wecom, url_file: u, towns: all}\n  - {id: a, kind: webhook, url_file: v, towns: all}\n', '/x/n.yaml'))).toEqual([
      'targets.1.id: 目标 a 重复 / target id a is used twice',
    ]);
  });

  it('reads the URL and secret files relative to the notify file, and never quotes what is in them', () => {
    const dir = tempDir('notify-secrets-');
    const write = (name: string, text: string, mode = 0o640) => {
      writeFileSync(join(dir, name), text, { mode });
      chmodSync(join(dir, name), mode);
    };
    write('open.url', `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}`, 0o644);
    write('plain.url', `http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}`);
    write('local.url', 'http://127.0.0.1:8999/cgi-bin/webhook/send?key=local');
    write('creds.url', `https://user:${KEY}@oa.example/hook`);
    write('two.secret', 'SEC1\nSEC2');
    write('empty.secret', '\n');
    write('ok.url', 'https://oapi.dingtalk.com/robot/send?access_token=t');
    const yaml = [
      'targets:',
      '  - {id: open, kind: wecom, url_file: open.url, towns: all}',
      '  - {id: plain, kind: wecom, url_file: plain.url, towns: all}',
      '  - {id: creds, kind: webhook, url_file: creds.url, towns: all}',
      '  - {id: missing, kind: wecom, url_file: nowhere.url, towns: all}',
      '  - {id: two, kind: dingtalk, url_file: ok.url, secret_file: two.secret, towns: all}',
      '  - {id: empty, kind: feishu, url_file: ok.url, secret_file: empty.secret, towns: all}',
      `  - {id: dir, kind: wecom, url_file: ${dir}, towns: all}`,
      '  - {id: local, kind: wecom, url_file: local.url, towns: all}',
    ].join('\n');
    writeFileSync(join(dir, 'notify.yaml'), yaml);
    const problems = problemsOf(() => loadNotifyConfig(join(dir, 'notify.yaml')));
    expect(problems.join('\n')).not.toContain(KEY);
    expect(problems).toEqual([
      `targets.0.url_file: ${join(dir, 'open.url')}: 其他用户可读写，请 chmod o-rwx（例如 0640 root:station-county）/ other users may read or write it: chmod o-rwx (e.g. 0640 root:station-county)`,
      `targets.1.url_file: ${join(dir, 'plain.url')}: 须为 https://（http:// 只限本机）/ must be https:// (http:// only on this host)`,
      `targets.2.url_file: ${join(dir, 'creds.url')}: 网址中不能带用户名或密码 / must not carry a user name or password`,
      `targets.3.url_file: ${join(dir, 'nowhere.url')}: 无法打开 / cannot open (ENOENT)`,
      `targets.4.secret_file: ${join(dir, 'two.secret')}: 须只有一行，不含控制字符 / must be one line without control characters`,
      `targets.5.secret_file: ${join(dir, 'empty.secret')}: 文件是空的 / empty`,
      `targets.6.url_file: ${dir}: 不是普通文件 / not a regular file`,
    ]);
  });

  it('is checked by config-check through the county config (collector.notify) or named on its own', () => {
    const dir = exampleFolder();
    const county = (notify: string) => ({ file: join(dir, 'county.yaml'), db: join(dir, 'county.db'), collector: { url: 'mqtt://127.0.0.1:1883', notify }, console: { users: join(dir, 'users') } });
    writeFileSync(join(dir, 'users'), '', { mode: 0o640 });
    expect(configProblems(county(join(dir, 'notify.yaml')))).toEqual([]);
    chmodSync(join(dir, 'secrets', 'hekou-feishu.secret'), 0o644);
    expect(configProblems(county(join(dir, 'notify.yaml')))).toEqual([
      `collector.notify (${join(dir, 'notify.yaml')}): targets.2.secret_file: ${join(dir, 'secrets', 'hekou-feishu.secret')}: 其他用户可读写，请 chmod o-rwx（例如 0640 root:station-county）/ other users may read or write it: chmod o-rwx (e.g. 0640 root:station-county)`,
    ]);
    writeFileSync(join(dir, 'other.yaml'), 'targets: []\n');
    expect(configProblems(county(join(dir, 'notify.yaml')), join(dir, 'other.yaml'))).toEqual([`notify (${join(dir, 'other.yaml')}): targets: 太小或太短 / Too small: expected array to have >=1 items`]);
  });
});
