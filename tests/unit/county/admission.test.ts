/**
 * Request admission's own rules, driven by a fake connection: the concurrency limit (`busy`, and a
 * busy request not recorded as seen), one seen-transaction entry per admitted request, the start
 * warning for unsigned write commands, and the rate-limited problem log. The
 * guard's refusals are unit tested in requests.test.ts; requests over a real broker in
 * tests/integration/county/requests.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { z } from 'zod';
import { ConfigSchema } from '../../../config/schema.js';
import { RequestAdmission, writeCommandsAllowedUnsigned } from '../../../agent/county/admission.js';
import { loadCommandKey, NO_COMMAND_KEY } from '../../../agent/county/command-key.js';
import { Topics } from '../../../protocol/topics.js';
import { CommandRegistry } from '../../../agent/commands.js';
import { FakeConnection, MemorySeen, syncedClock } from './fake-connection.js';

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

function setup(max = 2, seen = new MemorySeen(), over: { county?: typeof county; readOnly?: boolean } = {}) {
  const conn = new FakeConnection();
  const registry = new CommandRegistry();
  const release: Array<() => void> = [];
  registry.register({
    name: 'slow.op',
    description: 'waits until the test releases it',
    args: z.object({}).strict(),
    readOnly: over.readOnly ?? true,
    handler: () => new Promise<string>((resolve) => release.push(() => resolve('done'))),
  });
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  const admission = new RequestAdmission({
    county: over.county ?? county,
    registry,
    stationId: 'village-01',
    topics: new Topics('stations', 'village-01'),
    connection: conn,
    clock,
    log,
    seen,
    maxConcurrentCommands: max,
  });
  const responses = () => conn.client!.on('/response/slow.op').map((s) => JSON.parse(s.message) as { transaction: string; status: string; error?: { code: string } });
  return { conn, admission, release, lines, seen, registry, responses };
}

const req = (tx: string) => Buffer.from(JSON.stringify({ transaction: tx }));

describe('request admission', () => {
  it('answers busy beyond maxConcurrentCommands and admits again once a command finished', async () => {
    const { admission, release, responses } = setup(2);
    expect(admission.start(NO_COMMAND_KEY)).toBeUndefined();
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

  it('does not record a request refused as busy, so the county can retry it with the same transaction', async () => {
    const { admission, release, responses, seen } = setup(1);
    admission.start(NO_COMMAND_KEY);
    admission.handle('slow.op', req('tx-1'));
    admission.handle('slow.op', req('tx-retry'));
    await vi.advanceTimersByTimeAsync(0);
    expect(responses()).toEqual([expect.objectContaining({ transaction: 'tx-retry', error: expect.objectContaining({ code: 'busy' }) })]);
    expect([...seen.entries.keys()]).toEqual(['tx-1']);
    release.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    admission.handle('slow.op', req('tx-retry'));
    await vi.advanceTimersByTimeAsync(0);
    expect(release).toHaveLength(1);
    release.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(responses().filter((r) => r.transaction === 'tx-retry').map((r) => r.status)).toEqual(['error', 'ok']);
  });

  it('records one entry per admitted request and nothing for a refused one, so a replay after a restart is refused', async () => {
    const first = setup();
    first.admission.start(NO_COMMAND_KEY);
    first.admission.handle('slow.op', req('tx-1'));
    first.admission.handle('slow.op', Buffer.from('not json'));
    first.admission.handle('slow.op', req('tx-1'));
    expect(first.seen.adds).toBe(1);
    expect([...first.seen.entries.keys()]).toEqual(['tx-1']);

    const second = setup(2, first.seen);
    second.admission.start(NO_COMMAND_KEY);
    second.admission.handle('slow.op', req('tx-1'));
    await vi.advanceTimersByTimeAsync(0);
    expect(second.responses()).toEqual([expect.objectContaining({ transaction: 'tx-1', status: 'error', error: expect.objectContaining({ code: 'replayed' }) })]);
  });

  it('warns at start when commands that change the station are allowed unsigned, by the registry\'s readOnly flag', () => {
    const unsignedCounty = { ...county, allowed_commands: ['slow.op', 'not.registered'] };
    const write = setup(2, new MemorySeen(), { county: unsignedCounty, readOnly: false });
    expect(writeCommandsAllowedUnsigned(unsignedCounty, write.registry)).toEqual(['slow.op', 'not.registered']);
    write.admission.start(NO_COMMAND_KEY);
    expect(write.lines).toEqual([expect.objectContaining({ level: 40, commands: ['slow.op', 'not.registered'], msg: expect.stringMatching(/allowed without signing.*county\.command_key_file/) })]);

    const readOnly = setup(2, new MemorySeen(), { county: { ...county, allowed_commands: ['slow.op'] } });
    readOnly.admission.start(NO_COMMAND_KEY);
    expect(readOnly.lines).toEqual([]);
    const signed = { ...unsignedCounty, command_key_file: '/etc/station-agent/secrets/command.key' };
    expect(writeCommandsAllowedUnsigned(signed, write.registry)).toEqual([]);
  });

  it('logs at most 20 refusals a minute, then how many it left out', async () => {
    const { admission, lines } = setup();
    admission.start(NO_COMMAND_KEY);
    for (let i = 0; i < 25; i++) admission.handle('slow.op', Buffer.from('not json'));
    expect(lines.filter((l) => l['msg'] === 'county request refused: payload is not valid JSON')).toHaveLength(20);
    vi.setSystemTime(Date.now() + 60_001);
    admission.handle('slow.op', Buffer.from('not json'));
    expect(lines.slice(20).map((l) => [l['msg'], l['suppressed']])).toEqual([
      ['county request refused: payload is not valid JSON (lines not logged)', 5],
      ['county request refused: payload is not valid JSON', undefined],
    ]);
  });

  it('refuses every action, fail closed, when the command key cannot be read, and says why', async () => {
    const { conn, admission } = setup();
    const key = await loadCommandKey({ command_key_file: '/nonexistent/county.key' }, pino({ level: 'silent' }));
    expect(key).toMatchObject({ state: 'unreadable', problem: expect.stringMatching(/^cannot read county\.command_key_file \/nonexistent\/county\.key: /) });
    expect(admission.start(key)).toMatch(/^cannot read county\.command_key_file \/nonexistent\/county\.key: /);
    admission.handle('slow.op', req('tx-1'));
    expect(JSON.parse(conn.client!.on('/response/slow.op')[0]!.message)).toMatchObject({ transaction: 'tx-1', status: 'error', error: { code: 'not_allowed' } });
  });
});
