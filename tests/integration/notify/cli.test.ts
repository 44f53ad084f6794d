/**
 * The notify file at the command line (the built collector, as the package runs it): a bad file stops
 * `run` before it connects anywhere, with exit 78 and every problem's key path, never the robot's key;
 * `config-check` checks the file the config's collector section names, or one given with --notify.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/agent.js';
import { tempDir } from '../../helpers/temp.js';

const COLLECTOR_JS = join(ROOT, 'dist', 'county', 'collector.js');
const KEY = 'f00dfeed-4bc4-97a0-0ec2sifa5aaa';

function collector(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [COLLECTOR_JS, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('the notify file at the command line', () => {
  it('stops run with exit 78 and the key paths, quoting no secret', async () => {
    const dir = tempDir('notify-cli-');
    writeFileSync(join(dir, 'wecom.url'), `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}\n`, { mode: 0o644 });
    writeFileSync(join(dir, 'notify.yaml'), 'targets:\n  - {id: county, kind: wecom, url_file: wecom.url, towns: all}\nrules:\n  quiet: true\n');
    // The broker is nowhere: the file is refused before anything connects.
    let r = await collector(['run', '--url', 'mqtt://127.0.0.1:9', '--db', join(dir, 'county.db'), '--create', '--notify', join(dir, 'notify.yaml')]);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain('rules.quiet: 未知的键 / unknown key');
    writeFileSync(join(dir, 'notify.yaml'), 'targets:\n  - {id: county, kind: wecom, url_file: wecom.url, towns: all}\n');
    r = await collector(['run', '--url', 'mqtt://127.0.0.1:9', '--db', join(dir, 'county.db'), '--create', '--notify', join(dir, 'notify.yaml')]);
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toContain(`targets.0.url_file: ${join(dir, 'wecom.url')}: 其他用户可读写`);
    expect(r.stderr + r.stdout).not.toContain(KEY);
  });

  it('is checked by config-check, from the config\'s collector section or named on its own', async () => {
    const dir = tempDir('notify-check-');
    writeFileSync(join(dir, 'wecom.url'), `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${KEY}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'users'), '', { mode: 0o600 });
    writeFileSync(join(dir, 'good.yaml'), 'targets:\n  - {id: county, kind: wecom, url_file: wecom.url, towns: all}\n');
    writeFileSync(join(dir, 'bad.yaml'), 'targets:\n  - {id: county, kind: dingtalk, url_file: wecom.url, towns: all}\n');
    const county = (notify: string) => `db: ${join(dir, 'county.db')}\ncollector:\n  url: mqtt://127.0.0.1:1883\n  notify: ${notify}\nconsole:\n  users: users\n`;
    writeFileSync(join(dir, 'county.yaml'), county('good.yaml'));
    expect((await collector(['config-check', '--config', join(dir, 'county.yaml')])).code).toBe(0);
    const named = await collector(['config-check', '--config', join(dir, 'county.yaml'), '--notify', join(dir, 'bad.yaml')]);
    expect(named.code).toBe(78);
    expect(named.stderr).toContain(`notify (${join(dir, 'bad.yaml')}): targets.0.secret_file: dingtalk 机器人须开启加签`);
    writeFileSync(join(dir, 'county.yaml'), county('bad.yaml'));
    const section = await collector(['config-check', '--config', join(dir, 'county.yaml')]);
    expect(section.code).toBe(78);
    expect(section.stderr).toContain(`collector.notify (${join(dir, 'bad.yaml')}): targets.0.secret_file`);
  });
});
