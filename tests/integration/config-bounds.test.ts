/**
 * A config file is untrusted input too: a careless copy or a hostile file must stop the agent with exit
 * 78 and one clear message (never a stack trace, never gigabytes of memory), and `stationctl config check`
 * must say the same.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { writeFileSync, truncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startAgent, ctl, type RunningAgent } from '../helpers/agent.js';
import { tempDir, removeDir } from '../../scripts/lib/kit/temp.js';

const dirs: string[] = [];
const agents: RunningAgent[] = [];
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.stop('SIGKILL')));
  dirs.splice(0).forEach(removeDir);
});

function base(dir: string): Record<string, unknown> {
  return { station: { id: 'test-station', name: 'Test' }, data_dir: join(dir, 'data'), control: { socket: join(dir, 'ctl.sock') } };
}

/** The classic "billion laughs": nine levels of nine aliases each. */
function billionLaughs(dir: string): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= 9; i++) lines.push(`a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]`);
  lines.push(`station: { id: test-station, name: *a9 }`, `data_dir: ${join(dir, 'data')}`, `control: { socket: ${join(dir, 'ctl.sock')} }`);
  return `${lines.join('\n')}\n`;
}

const cases: Array<[string, (dir: string, file: string) => void, RegExp]> = [
  ['a billion-laughs alias bomb', (dir, file) => writeFileSync(file, billionLaughs(dir)), /aliases expand too far/],
  [
    'a file far larger than any config',
    (dir, file) => {
      writeFileSync(file, stringify(base(dir)));
      truncateSync(file, 64 * 2 ** 20); // 64 MB, the tail all NUL bytes
    },
    /larger than 1048576 bytes/,
  ],
  [
    'more devices than a station has',
    (dir, file) =>
      writeFileSync(
        file,
        stringify({
          ...base(dir),
          devices: Array.from({ length: 65 }, (_, i) => ({ id: `d${i}`, kind: 'settopbox', driver: 'net_presence', host: '127.0.0.1', port: 1 })),
        }),
      ),
    /devices: at most 64 devices/,
  ],
];

/**
 * Files that are not files: /dev/zero used to be read until V8 aborted (exit 134, and systemd restarts
 * into it), a FIFO with no writer hung the agent and stationctl for ever.
 */
const notFiles: Array<[string, (dir: string) => string, RegExp]> = [
  ['/dev/zero', () => '/dev/zero', /\/dev\/zero: not a regular file \(a character device\)/],
  [
    'a FIFO nobody writes to',
    (dir) => {
      const fifo = join(dir, 'config.fifo');
      execFileSync('mkfifo', ['-m', '0600', fifo]);
      return fifo;
    },
    /config\.fifo: not a regular file \(a FIFO\)/,
  ],
  ['a directory', (dir) => dir, /not a regular file \(a directory\)/],
  [
    'a config whose frame profile is /dev/zero',
    (dir) => {
      const file = join(dir, 'config.yaml');
      writeFileSync(
        file,
        stringify({ ...base(dir), devices: [{ id: 'p1', kind: 'projector', driver: 'frame_profile', profile: '/dev/zero', serial: { path: '/dev/ttyS0' } }] }),
      );
      return file;
    },
    /devices\[0\]\.profile: \/dev\/zero: not a regular file/,
  ],
];

describe('config paths that are not regular files', () => {
  it.each(notFiles)('%s: the agent exits 78 at once and config check says why', async (_name, make, message) => {
    const dir = tempDir('config-bounds-');
    dirs.push(dir);
    const file = make(dir);
    const agent = startAgent(file);
    agents.push(agent);
    expect(await agent.exited).toBe(78);
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    expect(flat(agent.output())).toMatch(message);
    expect(agent.output()).not.toMatch(/\n\s+at /);
    const check = await ctl(['--config', file, 'config', 'check'], {}, 15_000);
    expect(check.code).toBe(1);
    expect(flat(check.stdout + check.stderr)).toMatch(message);
  });
});

describe('bounded config', () => {
  it.each(cases)('%s: the agent exits 78 with a clear message and config check says why', async (_name, write, message) => {
    const dir = tempDir('config-bounds-');
    dirs.push(dir);
    const file = join(dir, 'config.yaml');
    write(dir, file);
    const agent = startAgent(file);
    agents.push(agent);
    expect(await agent.exited).toBe(78);
    // stationctl wraps at 80 columns and temp paths are long: compare with the line breaks folded.
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    expect(flat(agent.output())).toMatch(message);
    expect(agent.output()).not.toMatch(/\n\s+at /); // no stack trace
    const check = await ctl(['--config', file, 'config', 'check']);
    expect(check.code).toBe(1);
    expect(flat(check.stdout + check.stderr)).toMatch(message);
    expect(check.stdout + check.stderr).not.toMatch(/\n\s+at /);
  });
});
