/**
 * A fake MediaMTX control API (node:http on 127.0.0.1) for tests and the demo. It behaves like
 * v1.20.1 as described in docs/reference/mediamtx-notes.md: pagination by the rules of paginate.go, Basic
 * and "Bearer user:pass" auth with 401 + WWW-Authenticate, the {status:"error"} envelope, gin's
 * plain-text 404 for unknown routes, 400 `json: unknown field` for unknown keys, "<redacted>" passwords
 * in config reads, and path state that can be made available, stalled, offline or gone.
 *
 * EVERY JSON response is validated against the OpenAPI document before it is sent; a mismatch is
 * recorded in `responseViolations` and answered with a 500, so the fake cannot drift from the contract.
 * Requests are checked too (`requestViolations`), which is how the client is contract-tested.
 *
 * `legacy: true` emits only the deprecated fields (ready/readyTime/bytesReceived/bytesSent/tracks) and
 * has no /v3/info, like the servers before v1.16 that are still in the field; as those, it rejects the
 * hook names introduced in v1.19.3 (runOnAvailable…, runOnOnline…) as unknown keys. The current server
 * still accepts the deprecated hook names but logs a warning (internal/conf/path.go), recorded in
 * `deprecationWarnings`.
 *
 * `tokens`: bearer tokens (JWTs, `authMethod: jwt`) the fake accepts; any other bearer value that is not
 * `user:pass` is refused, as a JWT that does not verify.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { OpenApiContract, findOpenApiFile } from './mediamtx-contract.js';

export type FakeStreamState = 'publishing' | 'stalled' | 'offline' | 'gone';

interface FakePath {
  /** Set for paths with a config entry (they are listed even when offline). */
  conf: Record<string, unknown> | undefined;
  state: FakeStreamState;
  inboundBytes: number;
  outboundBytes: number;
  availableTime: string | null;
}

export interface FakeUser {
  user: string;
  pass: string;
}

export interface MediaMtxFakeOptions {
  users?: FakeUser[];
  /** Accepted `Authorization: Bearer <token>` values. */
  tokens?: string[];
  legacy?: boolean;
  /** Bytes added to a publishing path's inbound counter each time it is observed. */
  chunkBytes?: number;
}

/** PathConf keys the fake accepts (a subset of components.schemas.PathConf, like the real jsonwrapper check). */
const PATH_CONF_DEFAULTS: Record<string, unknown> = {
  source: 'publisher',
  sourceOnDemand: false,
  maxReaders: 0,
  overridePublisher: true,
  record: false,
  recordFormat: 'fmp4',
  recordPath: './recordings/%path/%Y-%m-%d_%H-%M-%S-%f',
  recordSegmentDuration: '1h',
  recordDeleteAfter: '1d',
  // Passwords come back redacted since v1.20.1 (PR #6110).
  publishPass: '',
  readPass: '',
};

export class MediaMtxFake {
  readonly contract: OpenApiContract;
  readonly requestViolations: string[] = [];
  readonly responseViolations: string[] = [];
  /** Every request seen: method, path with query, parsed body. */
  readonly requests: Array<{ method: string; url: string; body: unknown; authorization: string | undefined }> = [];
  /** Deprecated PathConf keys written (the real server accepts them with a warning). */
  readonly deprecationWarnings: string[] = [];
  /** A slow server: every answer leaves this long after its request (ms). */
  responseDelayMs = 0;
  /** Requests being held back by responseDelayMs right now. */
  delaying = 0;
  legacy: boolean;
  users: FakeUser[];
  tokens: string[];
  chunkBytes: number;
  private readonly paths = new Map<string, FakePath>();
  private server: Server | undefined;
  private readonly started = new Date().toISOString();

  constructor(opts: MediaMtxFakeOptions = {}, contract?: OpenApiContract) {
    this.contract = contract ?? OpenApiContract.load();
    this.legacy = opts.legacy ?? false;
    this.users = opts.users ?? [];
    this.tokens = opts.tokens ?? [];
    this.chunkBytes = opts.chunkBytes ?? 188 * 7 * 10;
  }

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.responseViolations.push(`handler crashed: ${String(err)}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('fake not started');
    return `http://127.0.0.1:${a.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Adds a configured path (as in mediamtx.yml `paths:`). */
  configurePath(name: string, conf: Record<string, unknown> = {}): void {
    const existing = this.paths.get(name);
    this.paths.set(name, existing ? { ...existing, conf: { ...PATH_CONF_DEFAULTS, ...conf, name } } : this.newPath({ ...PATH_CONF_DEFAULTS, ...conf, name }));
  }

  /**
   * publishing: available, online, bytes grow on every observation; stalled: available and online,
   * bytes frozen; offline: configured but no source; gone: unknown to the server (404), as an ad-hoc
   * all_others path whose publisher left.
   */
  setStream(name: string, state: FakeStreamState): void {
    let p = this.paths.get(name);
    if (!p) {
      p = this.newPath(undefined);
      this.paths.set(name, p);
    }
    if (state === 'gone' && !p.conf) {
      this.paths.delete(name);
      return;
    }
    const wasUp = p.state === 'publishing' || p.state === 'stalled';
    p.state = state;
    const up = state === 'publishing' || state === 'stalled';
    if (up && !wasUp) p.availableTime = new Date().toISOString();
    if (!up) {
      p.availableTime = null;
      p.inboundBytes = 0;
    }
  }

  private newPath(conf: Record<string, unknown> | undefined): FakePath {
    return { conf, state: 'offline', inboundBytes: 0, outboundBytes: 0, availableTime: null };
  }

  private runtimeView(name: string, p: FakePath): Record<string, unknown> {
    const up = p.state === 'publishing' || p.state === 'stalled';
    if (p.state === 'publishing') p.inboundBytes += this.chunkBytes;
    const common = {
      name,
      confName: p.conf ? name : 'all_others',
      source: up ? { type: 'rtspSession', id: '0c4a5f4e-8a3c-4b2f-9f59-1a2b3c4d5e6f' } : null,
      readers: [] as unknown[],
    };
    if (this.legacy) {
      return { ...common, ready: up, readyTime: p.availableTime, tracks: up ? ['H264', 'MPEG-4 Audio'] : [], bytesReceived: p.inboundBytes, bytesSent: p.outboundBytes };
    }
    return {
      ...common,
      available: up,
      availableTime: p.availableTime,
      online: up,
      onlineTime: p.availableTime,
      ready: up,
      readyTime: p.availableTime,
      tracks: up ? ['H264', 'MPEG-4 Audio'] : [],
      tracks2: up
        ? [
            { codec: 'H264', codecProps: { width: 1280, height: 720, profile: 'Main', level: '3.1' } },
            { codec: 'MPEG-4 Audio', codecProps: { sampleRate: 48000, channelCount: 2 } },
          ]
        : [],
      inboundBytes: p.inboundBytes,
      outboundBytes: p.outboundBytes,
      inboundFramesInError: 0,
      bytesReceived: p.inboundBytes,
      bytesSent: p.outboundBytes,
    };
  }

  private confView(conf: Record<string, unknown>): Record<string, unknown> {
    const out = { ...conf };
    for (const k of ['publishPass', 'readPass']) if (typeof out[k] === 'string' && out[k] !== '') out[k] = '<redacted>';
    return out;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const raw = await readBody(req);
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    this.requests.push({ method, url: url.pathname + url.search, body, authorization: req.headers.authorization });
    if (this.responseDelayMs > 0) {
      this.delaying++;
      try {
        await new Promise((r) => setTimeout(r, this.responseDelayMs));
      } finally {
        this.delaying--;
      }
    }

    const op = this.contract.operation(method, url.pathname);
    const routeKnown = op !== undefined && !(this.legacy && op.template === '/v3/info');
    if (!routeKnown) {
      // gin's answer for a route that does not exist (or whose server is disabled): not JSON.
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found');
      return;
    }
    this.requestViolations.push(...this.contract.validateRequest(method, url, body));

    if ((this.users.length > 0 || this.tokens.length > 0) && !this.authorised(req)) {
      const headers: Record<string, string> = {};
      if (!req.headers.authorization) headers['www-authenticate'] = 'Basic realm="mediamtx"';
      this.send(res, method, url.pathname, 401, { status: 'error', error: 'authentication error' }, headers);
      return;
    }
    const [status, out] = this.route(method, url, op.template, body);
    this.send(res, method, url.pathname, status, out);
  }

  private authorised(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    // credentials.go: a Bearer value with exactly one ':' is user:pass, anything else is a token.
    if (h.startsWith('Bearer ') && h.split(':').length !== 2) return this.tokens.includes(h.slice(7));
    let cred = '';
    if (h.startsWith('Basic ')) cred = Buffer.from(h.slice(6), 'base64').toString('utf8');
    else if (h.startsWith('Bearer ') && h.split(':').length === 2) cred = h.slice(7);
    const i = cred.indexOf(':');
    if (i < 0) return false;
    return this.users.some((u) => u.user === cred.slice(0, i) && u.pass === cred.slice(i + 1));
  }

  private route(method: string, url: URL, template: string, body: unknown): [number, unknown] {
    const name = (url.pathname.match(/^\/v3\/(?:config\/)?paths\/[a-z]+\/(.+)$/)?.[1] ?? '')
      .split('/')
      .map(decodeURIComponent)
      .join('/');
    const err = (status: number, error: string): [number, unknown] => [status, { status: 'error', error }];
    switch (template) {
      case '/v3/info':
        return [200, { version: 'v1.20.1', started: this.started }];
      case '/v3/paths/list':
      case '/v3/config/paths/list': {
        const page = paginate(url);
        if (typeof page === 'string') return err(400, page);
        const runtime = template === '/v3/paths/list';
        const names = [...this.paths.keys()].filter((n) => (runtime ? this.paths.get(n)!.conf !== undefined || this.paths.get(n)!.state !== 'gone' : this.paths.get(n)!.conf !== undefined)).sort();
        const all = names.map((n) => (runtime ? this.runtimeView(n, this.paths.get(n)!) : this.confView(this.paths.get(n)!.conf!)));
        return [200, { itemCount: all.length, pageCount: all.length === 0 ? 0 : Math.ceil(all.length / page.itemsPerPage), items: all.slice(page.page * page.itemsPerPage, (page.page + 1) * page.itemsPerPage) }];
      }
      case '/v3/paths/get/{name}': {
        const p = this.paths.get(name);
        if (!p) return err(404, 'path not found');
        return [200, this.runtimeView(name, p)];
      }
      case '/v3/config/paths/get/{name}': {
        const c = this.paths.get(name)?.conf;
        if (!c) return err(404, 'path configuration not found');
        return [200, this.confView(c)];
      }
      case '/v3/config/paths/add/{name}':
      case '/v3/config/paths/patch/{name}':
      case '/v3/config/paths/replace/{name}': {
        if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) return err(400, 'invalid JSON');
        // jsonwrapper rejects unknown keys (internal/conf/jsonwrapper/unmarshal.go).
        const bad = Object.keys(body).find((k) => !knownPathConfKey(this.contract, k) || (this.legacy && HOOKS_SINCE_1_19_3.has(k)));
        if (bad !== undefined) return err(400, `json: unknown field "${bad}"`);
        for (const k of Object.keys(body)) if (!this.legacy && deprecatedPathConfKeys().has(k)) this.deprecationWarnings.push(`${name}: parameter '${k}' is deprecated`);
        const existing = this.paths.get(name);
        if (template.includes('/add/')) {
          if (existing?.conf) return err(400, 'path already exists');
          this.configurePath(name, body as Record<string, unknown>);
        } else {
          if (!existing?.conf) return err(404, 'path configuration not found');
          existing.conf = template.includes('/patch/')
            ? { ...existing.conf, ...(body as Record<string, unknown>) }
            : { ...PATH_CONF_DEFAULTS, ...(body as Record<string, unknown>), name };
        }
        return [200, { status: 'ok' }];
      }
      case '/v3/config/paths/delete/{name}': {
        const p = this.paths.get(name);
        if (!p?.conf) return err(404, 'path configuration not found');
        this.paths.delete(name);
        return [200, { status: 'ok' }];
      }
      default:
        // A documented route the fake does not implement: answer like a disabled server.
        return err(500, `fake: ${method} ${template} not implemented`);
    }
  }

  private send(res: ServerResponse, method: string, pathname: string, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const problems = status === 401 ? this.check401(body) : this.contract.validateResponse(method, pathname, status, body);
    if (problems.length > 0) {
      this.responseViolations.push(...problems);
      status = 500;
      body = { status: 'error', error: `fake violated the OpenAPI contract: ${problems[0]}` };
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
  }

  /** 401 is not declared per operation in the document; it carries the Error schema (api.go writeError). */
  private check401(body: unknown): string[] {
    return this.contract.validateSchema('Error', body, 'auth 401 response');
  }
}

/** Hook names a server before v1.19.3 does not know (renamed in PR #5957; notes "Path hooks"). */
const HOOKS_SINCE_1_19_3 = new Set(['runOnAvailable', 'runOnAvailableRestart', 'runOnUnavailable', 'runOnOnline', 'runOnOnlineRestart', 'runOnOffline']);

let deprecatedKeys: Set<string> | undefined;
/** PathConf properties marked `deprecated: true` in the OpenAPI document. */
function deprecatedPathConfKeys(): Set<string> {
  if (!deprecatedKeys) {
    const doc = parse(readFileSync(findOpenApiFile(), 'utf8')) as { components?: { schemas?: { PathConf?: { properties?: Record<string, { deprecated?: boolean }> } } } };
    const props = doc.components?.schemas?.PathConf?.properties ?? {};
    deprecatedKeys = new Set(Object.entries(props).filter(([, v]) => v.deprecated === true).map(([k]) => k));
  }
  return deprecatedKeys;
}

function knownPathConfKey(contract: OpenApiContract, key: string): boolean {
  return contract.schemaProperties('PathConf').includes(key);
}

/** paginate.go: itemsPerPage default 100, must be ≥ 1; page 0-based, default 0. */
function paginate(url: URL): { page: number; itemsPerPage: number } | string {
  const ipp = url.searchParams.get('itemsPerPage');
  const pg = url.searchParams.get('page');
  const itemsPerPage = ipp === null ? 100 : Number(ipp);
  const page = pg === null ? 0 : Number(pg);
  if (!Number.isInteger(itemsPerPage) || itemsPerPage < 1) return 'invalid items per page';
  if (!Number.isInteger(page) || page < 0) return 'invalid page';
  return { page, itemsPerPage };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    // maxInboundConfigSize in internal/api/api.go.
    if (size > 10 * 1024 * 1024) break;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
