/**
 * Request admission's own rules, driven by a fake connection: the concurrency limit (`busy`), the
 * seen-transaction cache written on every admitted request, and the rate-limited problem log. The
 * guard's refusals are unit tested in requests.test.ts; requests over a real broker in
 * tests/integration/county/requests.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { z } from 'zod';
import { ConfigSchema } from '../../../config/schema.js';
import { RequestAdmission } from '../../../agent/county/admission.js';
import type { SeenTransactions } from '../../../agent/county/meta.js';
import { Topics } from '../../../agent/county/topics.js';
import { CommandRegistry } from '../../../agent/commands.js';
import { FakeConnection, syncedClock } from './fake-connection.js';

const clock = syncedClock;
const county = ConfigSchema.parse({
  station: { id: 'village-01', name: '站点', town: '城关镇' },
  data_dir: '/nonexistent',
  county: { url: 'mqtt://127.0.0.1:1', allowed_commands: ['slow.op'] },
}).county!;

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(Date.parse('2026-03-01T12:00:00.000Z'));
});
afterEach(() => vi.useRealTimers());

function setup(max = 2, load: () => unknown = () => []) {
  const conn = new FakeConnection();
  const registry = new CommandRegistry();
  const release: Array<() => void> = [];
  registry.register({
    name: 'slow.op',
    description: 'waits until the test releases it',
    args: z.object({}).strict(),
    readOnly: true,
    handler: () => new Promise<string>((resolve) => release.push(() => resolve('done'))),
  });
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const saved: Array<Array<[string, number]>> = [];
  const seen: SeenTransactions = { load, save: (pairs) => void saved.push(pairs) };
  const admission = new RequestAdmission({
    county,
    stationId: 'village-01',
    registry,
    topics: new Topics('stations', 'village-01'),
    connection: conn,
    clock,
    log,
    seen,
    maxConcurrentCommands: max,
  });
  const responses = () => conn.client!.on('/response/slow.op').map((s) => JSON.parse(s.message) as { transaction: string; status: string; error?: { code: string } });
  return { conn, admission, release, lines, saved, responses };
}

const req = (tx: string) => Buffer.from(JSON.stringify({ transaction: tx }));

describe('request admission', () => {
  it('answers busy beyond maxConcurrentCommands and admits again once a command finished', async () => {
    const { admission, release, responses } = setup(2);
    expect(await admission.start()).toBeUndefined();
    admission.handle('slow.op', req('tx-1'));
    admission.handle('slow.op', req('tx-2'));
    admission.handle('slow.op', req('tx-3'));
    await vi.advanceTimersByTimeAsync(0);
    expect(responses()).toEqual([expect.objectContaining({ transaction: 'tx-3', status: 'error', error: { code: 'busy', message: 'too many county commands running' } })]);
    release.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(responses().map((r) => `${r.transaction}:${r.status}`)).toEqual(['tx-3:error', 'tx-1:ok']);
    admission.handle('slow.op', req('tx-4'));
    await vi.advanceTimersByTimeAsync(0);
    expect(release).toHaveLength(2);
    expect(responses().some((r) => r.transaction === 'tx-4')).toBe(false);
  });

  it('saves the seen transactions on every admitted request, so a replay after a restart is refused', async () => {
    const first = setup();
    await first.admission.start();
    first.admission.handle('slow.op', req('tx-1'));
    first.admission.handle('slow.op', Buffer.from('not json'));
    expect(first.saved).toHaveLength(1);
    expect(first.saved[0]!.map(([tx]) => tx)).toEqual(['tx-1']);

    const second = setup(2, () => first.saved[0]);
    await second.admission.start();
    second.admission.handle('slow.op', req('tx-1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(second.responses()).toEqual([expect.objectContaining({ transaction: 'tx-1', status: 'error', error: expect.objectContaining({ code: 'replayed' }) })]);
  });

  it('logs at most 20 refusals a minute, then how many it left out', async () => {
    const { admission, lines } = setup();
    await admission.start();
    for (let i = 0; i < 25; i++) admission.handle('slow.op', Buffer.from('not json'));
    expect(lines.filter((l) => l['msg'] === 'county request refused: payload is not valid JSON')).toHaveLength(20);
    vi.setSystemTime(Date.now() + 60_001);
    admission.handle('slow.op', Buffer.from('not json'));
    expect(lines.slice(20).map((l) => [l['msg'], l['suppressed']])).toEqual([
      ['county request problems not logged individually', 5],
      ['county request refused: payload is not valid JSON', undefined],
    ]);
  });

  it('refuses every action, fail closed, when the command key cannot be read, and says why', async () => {
    const { conn } = setup();
    const locked = new RequestAdmission({
      county: { ...county, command_key_file: '/nonexistent/county.key' },
      stationId: 'village-01',
      registry: new CommandRegistry(),
      topics: new Topics('stations', 'village-01'),
      connection: conn,
      clock,
      log: pino({ level: 'silent' }),
      seen: { load: () => [], save: () => undefined },
      maxConcurrentCommands: 2,
    });
    expect(await locked.start()).toMatch(/^cannot read county\.command_key_file \/nonexistent\/county\.key: /);
    locked.handle('slow.op', req('tx-1'));
    expect(JSON.parse(conn.client!.on('/response/slow.op')[0]!.message)).toMatchObject({ transaction: 'tx-1', status: 'error', error: { code: 'not_allowed' } });
  });
});
