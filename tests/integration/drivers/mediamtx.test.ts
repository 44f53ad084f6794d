/**
 * Contract tests of the MediaMTX client against the fake server over real loopback HTTP. The fake
 * checks every request against the OpenAPI document (requestViolations) and every response it sends
 * (responseViolations); both must stay empty.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaMtxClient, createMediaMtxClient } from '../../../drivers/mediamtx/client.js';
import { StreamWatch } from '../../../drivers/mediamtx/stream-watch.js';
import { MediaMtxFake } from '../../../scripts/sims/mediamtx-fake.js';
import { OpenApiContract, findOpenApiFile } from '../../../scripts/sims/mediamtx-contract.js';
import { AgentError } from '../../../protocol/errors.js';
import { parse as parseYaml } from 'yaml';

const contract = OpenApiContract.load();
let fake: MediaMtxFake | undefined;
let hang: Server | undefined;
const hangSockets: Socket[] = [];

afterEach(async () => {
  if (fake) {
    expect(fake.responseViolations).toEqual([]);
    await fake.close();
  }
  fake = undefined;
  if (hang) {
    for (const s of hangSockets) s.destroy();
    await new Promise<void>((r) => hang!.close(() => r()));
  }
  hang = undefined;
});

async function start(opts: ConstructorParameters<typeof MediaMtxFake>[0] = {}): Promise<MediaMtxFake> {
  fake = new MediaMtxFake(opts, contract);
  await fake.start();
  return fake;
}

const codeOf = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AgentError);
    return (err as AgentError).code;
  }
  throw new Error('expected a rejection');
};

describe('the OpenAPI contract itself', () => {
  it('is the verbatim v1.20.1 document (sha256 from docs/reference/README-mediamtx.md)', () => {
    const sha = createHash('sha256').update(readFileSync(findOpenApiFile())).digest('hex');
    expect(sha.startsWith('f1d35287')).toBe(true);
    expect(sha.endsWith('593b08')).toBe(true);
  });

  it('accepts real-shaped responses and catches wrong ones', () => {
    const good = {
      name: 'stb',
      confName: 'stb',
      source: null,
      available: true,
      ready: true,
      tracks2: [{ codec: 'H264', codecProps: null }],
      readers: [{ type: 'rtspSession', id: 'x' }],
    };
    expect(contract.validateResponse('GET', '/v3/paths/get/stb', 200, good)).toEqual([]);
    expect(contract.validateResponse('GET', '/v3/paths/get/stb', 200, { ...good, ready: 'yes' })).not.toEqual([]);
    expect(contract.validateResponse('GET', '/v3/paths/get/stb', 200, { ...good, source: { type: 'carrierPigeon', id: '1' } })).not.toEqual([]);
    expect(contract.validateResponse('GET', '/v3/paths/get/stb', 200, { ...good, availabel: true })).not.toEqual([]);
    expect(contract.validateResponse('GET', '/v3/paths/get/stb', 418, good)).not.toEqual([]);
    expect(contract.validateRequest('GET', new URL('http://x/v3/paths/list?pages=1'), undefined)).toEqual([expect.stringMatching(/unknown query parameter pages/)]);
    expect(contract.validateRequest('PATCH', new URL('http://x/v3/config/paths/patch/a'), { recrod: true })).not.toEqual([]);
    expect(contract.validateRequest('DELETE', new URL('http://x/v3/paths/get/a'), undefined)).not.toEqual([]);
  });
});

describe('MediaMtxClient against the fake (v1.20)', () => {
  it('walks every page of paths/list with valid requests', async () => {
    const f = await start();
    for (const n of ['a', 'b', 'c', 'd', 'e']) f.configurePath(n);
    f.setStream('c', 'publishing');
    const client = new MediaMtxClient({ url: f.url, itemsPerPage: 2 });
    const paths = await client.listPaths();
    expect(paths.map((p) => p.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(paths.find((p) => p.name === 'c')).toMatchObject({ available: true, online: true, up: true, codecs: ['H264', 'MPEG-4 Audio'] });
    expect(paths.find((p) => p.name === 'a')).toMatchObject({ available: false, up: false, inboundBytes: 0 });
    expect(f.requests.map((r) => r.url)).toEqual([
      '/v3/paths/list?page=0&itemsPerPage=2',
      '/v3/paths/list?page=1&itemsPerPage=2',
      '/v3/paths/list?page=2&itemsPerPage=2',
    ]);
    expect(f.requestViolations).toEqual([]);
  });

  it('info, get with a slash in the name, 404 as null, empty list', async () => {
    const f = await start();
    const client = new MediaMtxClient({ url: f.url });
    expect(await client.listPaths()).toEqual([]);
    expect((await client.info())?.version).toBe('v1.20.1');
    expect(await client.getPath('cam/front')).toBeNull();
    f.setStream('cam/front', 'publishing');
    expect(await client.getPath('cam/front')).toMatchObject({ name: 'cam/front', confName: 'all_others', up: true });
    expect(f.requests.at(-1)?.url).toBe('/v3/paths/get/cam/front');
    expect(f.requestViolations).toEqual([]);
  });

  it('path config add / patch / delete, and refuses to write back a fetched config', async () => {
    const f = await start();
    const client = new MediaMtxClient({ url: f.url });
    await client.addPathConf('county_preview', { source: 'rtsp://127.0.0.1:8554/stb', sourceOnDemand: true, readPass: undefined } as never);
    await client.patchPathConf('county_preview', { maxReaders: 2 });
    f.configurePath('secure', { readPass: 'hunter2' });
    const conf = await client.getPathConf('secure');
    expect(conf?.readPass).toBe('<redacted>');
    const before = f.requests.length;
    expect(await codeOf(client.patchPathConf('secure', conf as never))).toBe('invalid_args');
    expect(await codeOf(client.patchPathConf('secure', { ...conf } as never))).toBe('invalid_args');
    expect(f.requests.length).toBe(before);
    expect((await client.getPathConf('county_preview'))?.maxReaders).toBe(2);
    await client.deletePathConf('county_preview');
    expect(await client.getPathConf('county_preview')).toBeNull();
    expect(await codeOf(client.deletePathConf('county_preview'))).toBe('not_found');
    expect(await codeOf(client.addPathConf('secure', {}))).toBe('invalid_args');
    expect(f.requestViolations).toEqual([]);
  });

  it('ensurePathConf adds a county preview path once, then only patches it', async () => {
    const f = await start();
    const client = new MediaMtxClient({ url: f.url });
    const preview = { source: 'rtsp://127.0.0.1:8554/stb', sourceOnDemand: true };
    expect(await client.ensurePathConf('county_preview', preview)).toBe('added');
    expect(await client.ensurePathConf('county_preview', { maxReaders: 3 })).toBe('patched');
    expect(await client.getPathConf('county_preview')).toMatchObject({ ...preview, maxReaders: 3 });
    expect(f.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /v3/config/paths/get/county_preview',
      'POST /v3/config/paths/add/county_preview',
      'GET /v3/config/paths/get/county_preview',
      'PATCH /v3/config/paths/patch/county_preview',
      'GET /v3/config/paths/get/county_preview',
    ]);
    expect(f.requests[3]!.body).toEqual({ maxReaders: 3 });
    expect(f.requestViolations).toEqual([]);
  });

  it('an unknown key is rejected the way MediaMTX does, and the fake records the contract breach', async () => {
    const f = await start();
    f.configurePath('x');
    const client = new MediaMtxClient({ url: f.url });
    const err = await client.patchPathConf('x', { recrod: true } as never).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_args', status: 400, mtxMessage: 'json: unknown field "recrod"' });
    expect(f.requestViolations).toEqual([expect.stringMatching(/configPathsPatch/)]);
  });

  it('Basic credentials: missing and wrong ones are `auth`, right ones pass', async () => {
    const f = await start({ users: [{ user: 'agent', pass: 's3cret' }] });
    f.configurePath('stb');
    expect(await codeOf(new MediaMtxClient({ url: f.url }).listPaths())).toBe('auth');
    expect(await codeOf(new MediaMtxClient({ url: f.url, username: 'agent', password: 'nope' }).listPaths())).toBe('auth');
    const client = await createMediaMtxClient({ url: f.url, username: 'agent', password_file: '/secret' }, async (p) => {
      expect(p).toBe('/secret');
      return 's3cret';
    });
    expect((await client.listPaths()).map((p) => p.name)).toEqual(['stb']);
  });

  it('no answer is a timeout; nobody listening is disconnected', async () => {
    // Accepts and never answers.
    hang = createServer((s) => hangSockets.push(s));
    await new Promise<void>((r) => hang!.listen(0, '127.0.0.1', () => r()));
    const port = (hang.address() as { port: number }).port;
    expect(await codeOf(new MediaMtxClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 150 }).listPaths())).toBe('timeout');
    const f = await start();
    const url = f.url;
    await f.close();
    fake = undefined;
    expect(await codeOf(new MediaMtxClient({ url }).getPath('x'))).toBe('disconnected');
  });
});

/** PathConf properties of docs/reference/mediamtx-openapi.yaml (v1.20.1) and which of them are `deprecated: true`. */
function pathConfProperties(): Map<string, { deprecated: boolean }> {
  const doc = parseYaml(readFileSync(findOpenApiFile(), 'utf8')) as { components: { schemas: { PathConf: { properties: Record<string, { deprecated?: boolean }> } } } };
  return new Map(Object.entries(doc.components.schemas.PathConf.properties).map(([k, v]) => [k, { deprecated: v.deprecated === true }]));
}

describe('path hooks: the current names, never the deprecated ones', () => {
  /**
   * The OpenAPI document (v1.20.1) marks runOnReady/runOnNotReady/runOnReadyRestart `deprecated: true` and
   * has runOnAvailable/runOnUnavailable/runOnOnline/runOnOffline (renamed in v1.19.3, PR #5957;
   * docs/reference/mediamtx-notes.md "Path hooks").
   */
  it('a v1.20 server gets runOnAvailable/runOnUnavailable/runOnOnline/runOnOffline, none deprecated', async () => {
    const f = await start();
    const client = new MediaMtxClient({ url: f.url });
    const hooks = {
      runOnAvailable: 'notify available $MTX_PATH',
      runOnAvailableRestart: true,
      runOnUnavailable: 'notify unavailable $MTX_PATH',
      runOnOnline: 'notify online $MTX_PATH',
      runOnOffline: 'notify offline $MTX_PATH',
    };
    expect(await client.ensurePathConf('stb', hooks)).toBe('added');
    const props = pathConfProperties();
    const sent = f.requests.find((r) => r.method === 'POST')!.body as Record<string, unknown>;
    expect(sent).toEqual(hooks);
    for (const k of Object.keys(sent)) expect(props.get(k), k).toEqual({ deprecated: false });
    expect(f.deprecationWarnings).toEqual([]);
    expect(f.requestViolations).toEqual([]);
  });

  it('the deprecated names are not offered: runOnReady is refused before anything is sent', async () => {
    const f = await start();
    f.configurePath('stb');
    const client = new MediaMtxClient({ url: f.url });
    const before = f.requests.length;
    // @ts-expect-error runOnReady is deprecated (OpenAPI `deprecated: true`): use runOnAvailable
    expect(await codeOf(client.patchPathConf('stb', { runOnReady: 'x' }))).toBe('invalid_args');
    // @ts-expect-error runOnNotReady is deprecated: use runOnUnavailable
    expect(await codeOf(client.ensurePathConf('stb', { runOnNotReady: 'x' }))).toBe('invalid_args');
    expect(f.requests.length).toBe(before);
  });

  /**
   * Servers before v1.19.3 do not know the new names and reject unknown keys (`json: unknown field`,
   * notes §3 and the upgrade notes): the client asks /v3/info and writes the old names there; the
   * online/offline hooks have no older equivalent.
   */
  it('an older server gets runOnReady/runOnNotReady; runOnOnline is unsupported there', async () => {
    const f = await start({ legacy: true });
    const client = new MediaMtxClient({ url: f.url });
    expect(await client.ensurePathConf('stb', { runOnAvailable: 'a', runOnAvailableRestart: true, runOnUnavailable: 'b' })).toBe('added');
    expect(f.requests.find((r) => r.method === 'POST')!.body).toEqual({ runOnReady: 'a', runOnReadyRestart: true, runOnNotReady: 'b' });
    const before = f.requests.filter((r) => r.method !== 'GET').length;
    const err = await client.patchPathConf('stb', { runOnOnline: 'c' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'unsupported', message: expect.stringMatching(/runOnOnline.*v1\.19\.3/) });
    expect(f.requests.filter((r) => r.method !== 'GET').length).toBe(before);
    expect(await client.getPathConf('stb')).toMatchObject({ runOnReady: 'a', runOnNotReady: 'b' });
  });
});

describe('bearer (JWT) auth', () => {
  /**
   * `Authorization: Bearer <JWT>` with `authMethod: jwt` (notes §2, internal/protocols/httpp/credentials.go).
   * A JWT is three base64url parts joined by dots: no ':' in it, so it is never read as `user:pass`.
   */
  const jwt = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZWRpYW10eF9wZXJtaXNzaW9ucyI6W3siYWN0aW9uIjoiYXBpIn1dfQ.c2lnbmF0dXJl';

  it('the configured token passes; another token, basic credentials or none are `auth`', async () => {
    const f = await start({ tokens: [jwt] });
    f.configurePath('stb');
    const client = await createMediaMtxClient({ url: f.url, token_file: '/secret/mediamtx.jwt' }, async (p) => {
      expect(p).toBe('/secret/mediamtx.jwt');
      return jwt;
    });
    expect((await client.listPaths()).map((p) => p.name)).toEqual(['stb']);
    expect(f.requests.at(-1)!.authorization).toBe(`Bearer ${jwt}`);
    expect(await codeOf(new MediaMtxClient({ url: f.url, token: `${jwt}x` }).listPaths())).toBe('auth');
    expect(await codeOf(new MediaMtxClient({ url: f.url, username: 'agent', password: jwt }).listPaths())).toBe('auth');
    expect(await codeOf(new MediaMtxClient({ url: f.url }).listPaths())).toBe('auth');
    expect(f.requestViolations).toEqual([]);
  });

  it('a token with a space or a line break is refused before anything is sent', () => {
    expect(() => new MediaMtxClient({ url: 'http://127.0.0.1:9997', token: 'a b' })).toThrow(AgentError);
    expect(() => new MediaMtxClient({ url: 'http://127.0.0.1:9997', token: 'a\r\nX-Evil: 1' })).toThrow(AgentError);
    expect(() => new MediaMtxClient({ url: 'http://127.0.0.1:9997', token: jwt, username: 'agent' })).toThrow(AgentError);
  });
});

describe('MediaMtxClient against a legacy server (deprecated fields only)', () => {
  it('reads ready/bytesReceived/tracks and has no /v3/info', async () => {
    const f = await start({ legacy: true });
    f.configurePath('stb');
    f.setStream('stb', 'publishing');
    const client = new MediaMtxClient({ url: f.url });
    expect(await client.info()).toBeNull();
    const p = await client.getPath('stb');
    expect(p).toMatchObject({ available: true, online: true, up: true, codecs: ['H264', 'MPEG-4 Audio'] });
    expect(p!.inboundBytes).toBeGreaterThan(0);
    const raw = (await (await fetch(`${f.url}/v3/paths/get/stb`)).json()) as Record<string, unknown>;
    expect(Object.keys(raw)).not.toContain('available');
    expect(Object.keys(raw)).not.toContain('inboundBytes');
    expect(f.requestViolations).toEqual([]);
  });
});

describe('StreamWatch: playing follows the stream', () => {
  for (const legacy of [false, true]) {
    it(`available → stalled → gone → back${legacy ? ' (legacy fields)' : ''}`, async () => {
      const f = await start({ legacy });
      const client = new MediaMtxClient({ url: f.url });
      const watch = new StreamWatch(client, 'stb', { stallSamples: 2 });
      expect(await watch.sample()).toMatchObject({ state: 'gone', playing: false });
      f.setStream('stb', 'publishing');
      expect(await watch.sample()).toMatchObject({ state: 'starting', playing: null });
      expect(await watch.sample()).toMatchObject({ state: 'playing', playing: true });
      f.setStream('stb', 'stalled');
      expect(await watch.sample()).toMatchObject({ state: 'playing', playing: true });
      expect(await watch.sample()).toMatchObject({ state: 'stalled', playing: false });
      f.setStream('stb', 'publishing');
      expect(await watch.sample()).toMatchObject({ state: 'playing', playing: true });
      f.setStream('stb', 'gone');
      expect(await watch.sample()).toMatchObject({ state: 'gone', playing: false });
      await f.close();
      fake = undefined;
      expect(await watch.sample()).toMatchObject({ state: 'unknown', playing: null });
    });
  }
});
