import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { ResponseSchema } from '../../../protocol/payloads.js';
import { signRequest } from '../../../protocol/signing.js';
import { CountyConsumer, makeStation, writeSecret, type Station } from './harness.js';
import { tempDir } from '../../helpers/temp.js';

const KEY = 'county-command-key-0123456789abcdef';
let broker: Mosquitto;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(county: Record<string, unknown>): Promise<{ s: Station; c: CountyConsumer; calls: Array<{ args: unknown; transaction?: string }> }> {
  const s = makeStation({ url: broker.url, county });
  cleanups.push(() => s.close());
  const calls: Array<{ args: unknown; transaction?: string }> = [];
  s.registry.register({
    name: 'device.power',
    description: 'test double of the integrator\'s command',
    args: z.object({ device: z.string(), value: z.enum(['on', 'off']) }).strict(),
    readOnly: false,
    handler: (args, ctx) => {
      calls.push({ args, ...(ctx.transaction ? { transaction: ctx.transaction } : {}) });
      return { device: args.device, power: args.value };
    },
  });
  const c = await CountyConsumer.connect(broker.url);
  cleanups.push(() => c.close());
  await s.link.start();
  await c.waitFor('/status');
  await waitFor(() => s.link.status().connected);
  return { s, c, calls };
}

const REQ = 'stations/village-01/request/';

async function ask(c: CountyConsumer, action: string, body: unknown): Promise<z.infer<typeof ResponseSchema>> {
  const tx = (body as { transaction: string }).transaction;
  const from = c.received.length;
  await c.publish(REQ + action, typeof body === 'string' ? body : JSON.stringify(body));
  const r = await waitFor(
    () => c.received.slice(from).find((m) => m.topic.endsWith(`/response/${action}`) && m.payload?.['transaction'] === tx),
    5_000,
  );
  return ResponseSchema.parse(r.payload);
}

function signed(action: string, body: Record<string, unknown>, key = KEY): Record<string, unknown> {
  return { ...body, sig: signRequest(key, 'village-01', action, body) };
}

describe('county requests', () => {
  it('dispatches allowed actions through the registry and answers with the transaction', async () => {
    const { c, calls } = await setup({ allowed_commands: ['device.power', 'diag.run', 'rebirth'] });
    const res = await ask(c, 'device.power', { transaction: 'tx-1', args: { device: 'proj1', value: 'on' } });
    expect(res).toMatchObject({ v: 1, transaction: 'tx-1', status: 'ok', data: { device: 'proj1', power: 'on' } });
    expect(calls).toEqual([{ args: { device: 'proj1', value: 'on' }, transaction: 'tx-1' }]);

    const diag = await ask(c, 'diag.run', { transaction: 'tx-2' });
    expect(diag.status).toBe('ok');
    expect(diag.data).toMatchObject({ station_id: 'village-01', devices: [{ id: 'proj1' }], outbox: { count: 0 }, county: { connected: true } });

    c.clear();
    const reb = await ask(c, 'rebirth', { transaction: 'tx-3', args: {} });
    expect(reb).toMatchObject({ status: 'ok', data: { published: 3 } });
    await c.waitFor('/inventory');
    await c.waitFor('/devices/proj1/state');

    const bad = await ask(c, 'device.power', { transaction: 'tx-4', args: { device: 'proj1', value: 'sideways' } });
    expect(bad).toMatchObject({ status: 'error', error: { code: 'invalid_args' } });
  });

  it('refuses actions outside allowed_commands, even registered ones', async () => {
    const { c, calls } = await setup({ allowed_commands: ['diag.run'] });
    const res = await ask(c, 'device.power', { transaction: 'tx-na', args: { device: 'proj1', value: 'on' } });
    expect(res).toMatchObject({ status: 'error', error: { code: 'not_allowed' } });
    const unknown = await ask(c, 'shell.exec', { transaction: 'tx-unk', args: { cmd: 'rm -rf /' } });
    expect(unknown).toMatchObject({ status: 'error', error: { code: 'not_allowed' } });
    expect(calls).toEqual([]);
  });

  it('with a command key: accepts signed requests, refuses unsigned, forged, stale and replayed ones', async () => {
    const keyFile = writeSecret(tempDir(), 'command.key', `${KEY}\n`);
    const { c, calls } = await setup({ allowed_commands: ['device.power'], command_key_file: keyFile });
    const now = () => new Date().toISOString();

    const ok = signed('device.power', { transaction: 's-1', ts: now(), args: { device: 'proj1', value: 'off' } });
    expect(await ask(c, 'device.power', ok)).toMatchObject({ status: 'ok' });
    expect(calls).toHaveLength(1);

    expect(await ask(c, 'device.power', ok)).toMatchObject({ status: 'error', error: { code: 'replayed' } });

    const unsigned = { transaction: 's-2', ts: now(), args: { device: 'proj1', value: 'on' } };
    expect(await ask(c, 'device.power', unsigned)).toMatchObject({ status: 'error', error: { code: 'bad_signature' } });

    const tampered = { ...signed('device.power', { transaction: 's-3', ts: now(), args: { device: 'proj1', value: 'off' } }), args: { device: 'proj1', value: 'on' } };
    expect(await ask(c, 'device.power', tampered)).toMatchObject({ status: 'error', error: { code: 'bad_signature' } });

    const wrongKey = signed('device.power', { transaction: 's-4', ts: now(), args: { device: 'proj1', value: 'on' } }, 'another-key-another-key');
    expect(await ask(c, 'device.power', wrongKey)).toMatchObject({ status: 'error', error: { code: 'bad_signature' } });

    // Signed for another station: the station id is part of the signed text.
    const otherStation = { transaction: 's-5', ts: now(), args: { device: 'proj1', value: 'on' } };
    const forOther = { ...otherStation, sig: signRequest(KEY, 'village-02', 'device.power', otherStation) };
    expect(await ask(c, 'device.power', forOther)).toMatchObject({ status: 'error', error: { code: 'bad_signature' } });

    const stale = signed('device.power', { transaction: 's-6', ts: new Date(Date.now() - 6 * 60_000).toISOString(), args: { device: 'proj1', value: 'on' } });
    expect(await ask(c, 'device.power', stale)).toMatchObject({ status: 'error', error: { code: 'stale' } });
    const future = signed('device.power', { transaction: 's-7', ts: new Date(Date.now() + 6 * 60_000).toISOString(), args: { device: 'proj1', value: 'on' } });
    expect(await ask(c, 'device.power', future)).toMatchObject({ status: 'error', error: { code: 'stale' } });
    const noTs = signed('device.power', { transaction: 's-8', args: { device: 'proj1', value: 'on' } });
    expect(await ask(c, 'device.power', noTs)).toMatchObject({ status: 'error', error: { code: 'stale' } });

    expect(calls).toHaveLength(1);
  });

  it('remembers seen transactions across a restart of the link', async () => {
    const keyFile = writeSecret(tempDir(), 'command.key', KEY);
    const dataDir = tempDir();
    const s1 = makeStation({ url: broker.url, dataDir, county: { allowed_commands: ['diag.run'], command_key_file: keyFile } });
    const c = await CountyConsumer.connect(broker.url);
    cleanups.push(() => c.close());
    await s1.link.start();
    await waitFor(() => s1.link.status().connected);
    const req = signed('diag.run', { transaction: 'persist-1', ts: new Date().toISOString() });
    expect(await ask(c, 'diag.run', req)).toMatchObject({ status: 'ok' });
    await s1.link.stop();
    s1.store.close();
    const s2 = makeStation({ url: broker.url, dataDir, county: { allowed_commands: ['diag.run'], command_key_file: keyFile } });
    cleanups.push(() => s2.close());
    await s2.link.start();
    await waitFor(() => s2.link.status().connected);
    c.clear();
    expect(await ask(c, 'diag.run', req)).toMatchObject({ status: 'error', error: { code: 'replayed' } });
  });

  it('survives 1,000 malformed requests and still answers', async () => {
    const { s, c, calls } = await setup({ allowed_commands: ['device.power', 'diag.run'] });
    const big = JSON.stringify({ transaction: 'big-1', args: { blob: 'x'.repeat(70 * 1024) } });
    const bad: Array<string | Buffer> = [
      'not json',
      '{"transaction":',
      '[]',
      'null',
      '42',
      '"string"',
      '{}',
      '{"transaction": 42}',
      '{"transaction": ""}',
      '{"transaction": "has space"}',
      '{"transaction": "t", "args": []}',
      '{"transaction": "t", "args": "on"}',
      '{"transaction": "t", "ts": "yesterday"}',
      '{"transaction": "t", "sig": "zz"}',
      Buffer.from([0xff, 0xfe, 0x00, 0x01]),
      '{"__proto__": {"polluted": true}, "transaction": "p"}',
      big,
    ];
    const started = Date.now();
    for (let i = 0; i < 1_000; i++) {
      const body = bad[i % bad.length]!;
      const action = i % 3 === 0 ? 'device.power' : i % 3 === 1 ? 'no.such.action' : 'diag.run';
      c.client.publish(REQ + action, body, { qos: i % 2 as 0 | 1 }, () => undefined);
    }
    // Transactions that could be read got an error response each; the rest were logged only.
    await waitFor(() => c.on('/response/device.power').length + c.on('/response/no.such.action').length + c.on('/response/diag.run').length >= 300, 15_000);
    const ok = await ask(c, 'device.power', { transaction: 'after-flood', args: { device: 'proj1', value: 'on' } });
    expect(ok).toMatchObject({ status: 'ok' });
    expect(calls).toHaveLength(1);
    expect(s.link.status().connected).toBe(true);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const responses = c.received.filter((r) => r.topic.includes('/response/')).map((r) => ResponseSchema.parse(r.payload));
    expect(responses.filter((r) => r.transaction === 'big-1').every((r) => r.error?.code === 'too_large')).toBe(true);
    expect(responses.some((r) => r.transaction === 'big-1')).toBe(true);
    expect(new Set(responses.filter((r) => r.status === 'error').map((r) => r.error!.code))).toEqual(
      new Set(['malformed', 'not_allowed', 'too_large', 'replayed', 'invalid_args']),
    );
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
