/**
 * Issue 12, configuration and files, on real parts: the built daemon and stationctl as child
 * processes, a real mosquitto for the county link and for doctor's broker checks.
 *
 * - County commands that change the station allowed without `county.command_key_file`: anyone who can
 *   publish to the broker may run them. Nothing used to say so; now the agent warns at start, and
 *   `config check` and `doctor` warn with a fix line, in both languages.
 * - A secret file other users can read: now a warning with the `chmod 0640` fix line.
 * - Outside systemd (no StateDirectoryMode, no UMask) the database used to be created with whatever the
 *   umask allowed, 0666 under umask 000: now the data dir is 0750 and the database files 0640.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_NODE_FLAGS } from '../../agent/version.js';
import { Mosquitto, removeDir, tempDir, waitFor } from '../../scripts/lib/kit/index.js';
import { AGENT_JS, ctl, startAgent, waitReady, writeConfig, type RunningAgent } from '../helpers/agent.js';

let broker: Mosquitto;
const dirs: string[] = [];
beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
  dirs.splice(0).forEach(removeDir);
});

function fresh(): string {
  const d = tempDir('trust-config-');
  dirs.push(d);
  return d;
}

function secret(dir: string, name: string, mode: number): string {
  const f = join(dir, name);
  writeFileSync(f, 'a-secret-0123456789abcdef\n');
  chmodSync(f, mode);
  return f;
}

/** stationctl wraps at 80 columns and temp paths are long: compare with the line breaks folded. */
const flat = (text: string) => text.replace(/\s+/g, ' ');

interface Row {
  check: string;
  status: string;
  detail: string;
  fix?: string;
}

async function doctor(file: string, lang: 'en' | 'zh'): Promise<Row[]> {
  const r = await ctl(['--json', '--lang', lang, '--config', file, 'doctor', '--timeout', '2000'], { STATION_AGENT_CLOCK_SYNCED: '1' });
  return JSON.parse(r.stdout) as Row[];
}

describe('trust in the configuration', () => {
  it('write commands allowed unsigned: the agent warns at start, config check and doctor warn with a fix, in en and zh', async () => {
    const dir = fresh();
    const file = writeConfig(dir, { county: { url: broker.url, allowed_commands: ['device.power', 'diag.run', 'schedule.set', 'sessions.resend'] } });
    const agent: RunningAgent = startAgent(file);
    try {
      await waitReady(agent, file);
      const line = await waitFor(() =>
        agent
          .output()
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as { level: number; msg: string; commands?: string[] })
          .find((l) => /allowed without signing/.test(l.msg)),
      );
      expect(line).toMatchObject({ level: 40, commands: ['device.power', 'schedule.set'] });
    } finally {
      await agent.stop();
    }

    const json = await ctl(['--json', '--config', file, 'config', 'check']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      valid: true,
      warnings: [
        {
          code: 'unsigned_commands',
          key: 'county.allowed_commands',
          message: expect.stringContaining('run device.power, schedule.set without a signature'),
          fix: expect.stringContaining('set county.command_key_file'),
        },
      ],
    });
    const en = await ctl(['--lang', 'en', '--config', file, 'config', 'check']);
    expect(en.code).toBe(0);
    expect(flat(en.stdout)).toMatch(/1 warning\(s\):/);
    expect(flat(en.stdout)).toMatch(/Fix: set county\.command_key_file/);
    for (const l of en.stdout.trimEnd().split('\n')) expect(l.length, l).toBeLessThanOrEqual(80);
    const zh = await ctl(['--lang', 'zh', '--config', file, 'config', 'check']);
    expect(flat(zh.stdout)).toMatch(/1 条警告：/);
    expect(flat(zh.stdout)).toMatch(/修复：将 county\.command_key_file 设为/);

    const rows = await doctor(file, 'en');
    expect(rows.find((r) => r.check === 'signing')).toMatchObject({ status: 'warn', detail: expect.stringContaining('device.power, schedule.set'), fix: expect.stringContaining('county.command_key_file') });
    const rowsZh = await doctor(file, 'zh');
    expect(rowsZh.find((r) => r.check === 'signing')).toMatchObject({ status: 'warn', detail: expect.stringContaining('无签名执行'), fix: expect.stringContaining('密钥文件') });

    // With the county's key set, the same allowlist is fine.
    const signedFile = writeConfig(dir, {
      county: { url: broker.url, allowed_commands: ['device.power', 'schedule.set'], command_key_file: secret(dir, 'command.key', 0o640) },
    }, 'signed.yaml');
    expect(JSON.parse((await ctl(['--json', '--config', signedFile, 'config', 'check'])).stdout)).toMatchObject({ valid: true, warnings: [] });
    expect((await doctor(signedFile, 'en')).find((r) => r.check === 'signing')).toMatchObject({ status: 'pass' });
  });

  it('secret files other users can read: config check and doctor warn with the chmod fix, in en and zh', async () => {
    const dir = fresh();
    const pw = secret(dir, 'county.pass', 0o644);
    const key = secret(dir, 'command.key', 0o604);
    const file = writeConfig(dir, { county: { url: broker.url, password_file: pw, username: 'test-station', command_key_file: key } });

    const json = JSON.parse((await ctl(['--json', '--config', file, 'config', 'check'])).stdout) as { warnings: Array<Record<string, string>> };
    expect(json.warnings).toEqual([
      { code: 'secret_file_open', key: 'county.password_file', message: `county.password_file: ${pw} can be read by other users (mode 0644)`, fix: `let only the agent's group read it: chmod 0640 ${pw}` },
      { code: 'secret_file_open', key: 'county.command_key_file', message: `county.command_key_file: ${key} can be read by other users (mode 0604)`, fix: `let only the agent's group read it: chmod 0640 ${key}` },
    ]);
    const zh = await ctl(['--lang', 'zh', '--config', file, 'config', 'check']);
    expect(flat(zh.stdout)).toContain('其他用户可以读取');
    expect(flat(zh.stdout)).toContain(`chmod 0640 ${pw}`);

    const rows = await doctor(file, 'en');
    expect(rows.find((r) => r.check === 'secret:county.password_file')).toMatchObject({ status: 'warn', fix: expect.stringContaining(`chmod 0640 ${pw}`) });
    expect(rows.find((r) => r.check === 'secret:county.command_key_file')).toMatchObject({ status: 'warn', fix: expect.stringContaining(`chmod 0640 ${key}`) });
    expect((await doctor(file, 'zh')).find((r) => r.check === 'secret:county.password_file')).toMatchObject({ detail: expect.stringContaining('其他用户可以读取') });

    chmodSync(pw, 0o640);
    chmodSync(key, 0o640);
    expect(JSON.parse((await ctl(['--json', '--config', file, 'config', 'check'])).stdout)).toMatchObject({ warnings: [] });
    expect((await doctor(file, 'en')).filter((r) => r.check.startsWith('secret:'))).toEqual([]);
  });

  it('outside systemd, under umask 000: the data dir is created 0750 and the database, -wal and -shm are 0640', async () => {
    const dir = fresh();
    const file = writeConfig(dir);
    // As a technician might start it by hand from a shell with a careless umask.
    const proc = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, ...AGENT_NODE_FLAGS, AGENT_JS, '--config', file], { stdio: 'ignore' });
    const exited = new Promise((resolve) => proc.on('exit', resolve));
    const agent = { proc, output: () => '', exited, stop: async () => (proc.kill('SIGTERM'), exited) } as unknown as RunningAgent;
    try {
      await waitReady(agent, file);
      const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
      const data = join(dir, 'data');
      expect(mode(data)).toBe('750');
      for (const f of ['station.db', 'station.db-wal', 'station.db-shm']) expect(mode(join(data, f)), f).toBe('640');
    } finally {
      await agent.stop();
    }
    // stationctl still reads the database on its own once the agent is down.
    const events = await ctl(['--json', '--config', file, 'events']);
    expect(events.code).toBe(0);
    expect(JSON.parse(events.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'agent_start' })]));
  });
});
