/**
 * A small typed client for the MediaMTX v3 control API (contract: docs/reference/mediamtx-openapi.yaml,
 * a verbatim copy of api/openapi.yaml at v1.20.1; notes: docs/reference/mediamtx-notes.md).
 *
 * Tolerant by design (notes §6): every response field is optional, old and new names are both read
 * (`ready` → `available`/`online` in v1.16, `bytesReceived` → `inboundBytes` in v1.17), unknown fields
 * and enum values are ignored. Requests carry only the keys the caller sets: the server rejects unknown
 * keys, and a fetched config must never be written back (since v1.20.1 passwords come back as
 * "<redacted>" and would be stored literally). Those rules of writing a path config, and the hook names
 * each server version knows, are path-conf.ts; this file is the HTTP: requests, pages, errors.
 */
import { AgentError, ErrorCodes, type ErrorCode } from '../../protocol/errors.js';
import type { RawPath, RawPathConf, RawList, PathConfPatch } from './types.js';
import { assertWritable, hooksForServer, markFetched } from './path-conf.js';

export type { PathConfPatch, RawPath, RawPathConf } from './types.js';
export { REDACTED, parseVersion } from './path-conf.js';

/** A runtime path, normalised across MediaMTX versions. */
export interface MediaPath {
  name: string;
  confName: string | null;
  /** The stream exists and can be read (`available`, or `ready` before v1.16). */
  available: boolean;
  /** A real source feeds it (`online`, v1.16+; assumed true when the server does not say). */
  online: boolean;
  /** available && online: the robust "stream up" of notes §6. */
  up: boolean;
  since: string | null;
  inboundBytes: number;
  outboundBytes: number;
  codecs: string[];
  readers: number;
  sourceType: string | null;
}

/** What a set-top box driver needs from MediaMTX; the integrator passes a MediaMtxClient. */
export interface MediaPathSource {
  /** `signal`: the agent's stop signal; a request under way then ends at once with `aborted`. */
  getPath(name: string, signal?: AbortSignal): Promise<MediaPath | null>;
}

export class MediaMtxError extends AgentError {
  readonly status: number | undefined;
  /** The `error` of a `{status:"error"}` body. */
  readonly mtxMessage: string | undefined;
  /** A non-JSON body, e.g. gin's "404 page not found" for a route the server does not have. */
  readonly plainText: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    extra: { status?: number; mtxMessage?: string; plainText?: string; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, { retryable: extra.retryable ?? false, cause: extra.cause });
    this.name = 'MediaMtxError';
    this.status = extra.status;
    this.mtxMessage = extra.mtxMessage;
    this.plainText = extra.plainText;
  }
}

export interface MediaMtxClientOptions {
  /** e.g. http://127.0.0.1:9997 */
  url: string;
  username?: string;
  password?: string;
  /** A bearer token (a JWT, with `authMethod: jwt`); instead of username/password. */
  token?: string;
  /**
   * Above 5 s on purpose: MediaMTX answers a wrong password only after a random 0–4 s delay
   * (auth.LogAndDelayError), which a shorter timeout would misreport as a timeout.
   */
  timeoutMs?: number;
  /** Page size for list walks (server default 100). */
  itemsPerPage?: number;
}

/** Percent-encodes each segment but keeps `/`: path names like `cam/front` are legal (gin `*name`). */
export function encodePathName(name: string): string {
  if (name === '' || name.startsWith('/') || name.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new AgentError(ErrorCodes.invalid_args, `invalid MediaMTX path name ${JSON.stringify(name)}`);
  }
  return name.split('/').map(encodeURIComponent).join('/');
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Field fallbacks of notes §6 rule 1. */
export function normalisePath(p: RawPath): MediaPath {
  const available = typeof p.available === 'boolean' ? p.available : p.ready === true;
  const online = typeof p.online === 'boolean' ? p.online : true;
  const codecs = Array.isArray(p.tracks2)
    ? p.tracks2.map((t) => (t && typeof t.codec === 'string' ? t.codec : '')).filter((c) => c !== '')
    : Array.isArray(p.tracks)
      ? p.tracks.filter((t): t is string => typeof t === 'string')
      : [];
  return {
    name: typeof p.name === 'string' ? p.name : '',
    confName: str(p.confName),
    available,
    online,
    up: available && online,
    since: str(p.onlineTime) ?? str(p.availableTime) ?? str(p.readyTime),
    inboundBytes: num(p.inboundBytes ?? p.bytesReceived),
    outboundBytes: num(p.outboundBytes ?? p.bytesSent),
    codecs,
    readers: Array.isArray(p.readers) ? p.readers.length : 0,
    sourceType: p.source && typeof p.source === 'object' && typeof p.source.type === 'string' ? p.source.type : null,
  };
}

export class MediaMtxClient implements MediaPathSource {
  private readonly base: string;
  private readonly auth: string | undefined;
  private readonly timeoutMs: number;
  private readonly itemsPerPage: number;

  constructor(opts: MediaMtxClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      throw new AgentError(ErrorCodes.invalid_args, `invalid MediaMTX url ${opts.url}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new AgentError(ErrorCodes.invalid_args, `MediaMTX url must be http(s): ${opts.url}`);
    this.base = u.origin;
    if (opts.token !== undefined) {
      if (opts.username !== undefined) throw new AgentError(ErrorCodes.invalid_args, 'MediaMTX: a bearer token or a username, not both');
      // A header value: visible ASCII only, so a stray newline in the token file cannot inject a header.
      if (!/^[\x21-\x7e]{1,8192}$/.test(opts.token)) throw new AgentError(ErrorCodes.invalid_args, 'MediaMTX bearer token must be one line of visible ASCII (a JWT)');
      this.auth = `Bearer ${opts.token}`;
    } else {
      this.auth =
        opts.username !== undefined
          ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`, 'utf8').toString('base64')}`
          : undefined;
    }
    this.timeoutMs = opts.timeoutMs ?? 6000;
    this.itemsPerPage = opts.itemsPerPage ?? 100;
  }

  get description(): string {
    return `mediamtx ${this.base}`;
  }

  /** `GET /v3/info`; null on servers older than v1.15.2, which answer a plain-text 404. */
  async info(): Promise<{ version?: string; started?: string } | null> {
    try {
      const r = await this.request<Record<string, unknown>>('GET', '/v3/info');
      return {
        ...(typeof r.version === 'string' ? { version: r.version } : {}),
        ...(typeof r.started === 'string' ? { started: r.started } : {}),
      };
    } catch (err) {
      if (err instanceof MediaMtxError && err.status === 404 && err.plainText !== undefined) return null;
      throw err;
    }
  }

  async listPaths(): Promise<MediaPath[]> {
    return (await this.walk<RawPath>('/v3/paths/list')).map(normalisePath);
  }

  /** null when the path is not active (404): for regex/all_others paths that is normal, not an error. */
  async getPath(name: string, signal?: AbortSignal): Promise<MediaPath | null> {
    const raw = await this.getOrNull<RawPath>(`/v3/paths/get/${encodePathName(name)}`, signal);
    return raw === null ? null : normalisePath(raw);
  }

  async listPathConfs(): Promise<RawPathConf[]> {
    const list = await this.walk<RawPathConf>('/v3/config/paths/list');
    for (const c of list) markFetched(c);
    return list;
  }

  async getPathConf(name: string): Promise<RawPathConf | null> {
    const c = await this.getOrNull<RawPathConf>(`/v3/config/paths/get/${encodePathName(name)}`);
    markFetched(c);
    return c;
  }

  async addPathConf(name: string, conf: PathConfPatch = {}): Promise<void> {
    assertWritable(conf, 'addPathConf');
    const body = await hooksForServer(conf, 'addPathConf', () => this.info());
    await this.request('POST', `/v3/config/paths/add/${encodePathName(name)}`, body);
  }

  async patchPathConf(name: string, patch: PathConfPatch): Promise<void> {
    assertWritable(patch, 'patchPathConf');
    const body = await hooksForServer(patch, 'patchPathConf', () => this.info());
    await this.request('PATCH', `/v3/config/paths/patch/${encodePathName(name)}`, body);
  }

  /**
   * Makes a path configuration exist with at least these keys, e.g. a "county preview" path enabled on
   * demand: adds it when absent, else patches only the given keys. Changes made through the API are not
   * persisted by MediaMTX (issues #1406, #3397), so call it again after a MediaMTX restart.
   */
  async ensurePathConf(name: string, conf: PathConfPatch): Promise<'added' | 'patched'> {
    assertWritable(conf, 'ensurePathConf');
    if ((await this.getPathConf(name)) === null) {
      await this.addPathConf(name, conf);
      return 'added';
    }
    await this.patchPathConf(name, conf);
    return 'patched';
  }

  async deletePathConf(name: string): Promise<void> {
    await this.request('DELETE', `/v3/config/paths/delete/${encodePathName(name)}`);
  }

  private async getOrNull<T>(path: string, signal?: AbortSignal): Promise<T | null> {
    try {
      return await this.request<T>('GET', path, undefined, signal);
    } catch (err) {
      // A JSON 404 is "no such path"; a plain-text 404 is a missing route and stays an error.
      if (err instanceof MediaMtxError && err.status === 404 && err.plainText === undefined) return null;
      throw err;
    }
  }

  /**
   * Walks every page. Lists are rebuilt per request (sorted by name), so a walk can tear when a path
   * comes or goes between pages: notice it by `itemCount` changing and start again (notes §3).
   */
  private async walk<T>(path: string): Promise<T[]> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const items: T[] = [];
      let itemCount: number | undefined;
      let torn = false;
      for (let page = 0; page < 10_000; page++) {
        const r = await this.request<RawList<T>>('GET', `${path}?page=${page}&itemsPerPage=${this.itemsPerPage}`);
        if (!r || typeof r !== 'object' || !Array.isArray(r.items)) {
          throw new MediaMtxError(ErrorCodes.protocol, `${path}: response has no items list`, { retryable: true });
        }
        if (itemCount === undefined) itemCount = num(r.itemCount);
        else if (num(r.itemCount) !== itemCount) {
          torn = true;
          break;
        }
        items.push(...r.items);
        const pageCount = num(r.pageCount);
        if (page + 1 >= pageCount || r.items.length === 0) break;
      }
      if (!torn) return items;
    }
    throw new MediaMtxError(ErrorCodes.busy, `${path}: list kept changing while paging`, { retryable: true });
  }

  private async request<T>(method: string, path: string, body?: unknown, stop?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.auth) headers.authorization = this.auth;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.base}${path}`;
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: stop ? AbortSignal.any([AbortSignal.timeout(this.timeoutMs), stop]) : AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (stop?.aborted) throw new MediaMtxError(ErrorCodes.aborted, `${method} ${path}: the agent is stopping`, { cause: err });
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new MediaMtxError(ErrorCodes.timeout, `${method} ${path}: no answer from MediaMTX within ${this.timeoutMs} ms`, { retryable: true, cause: err });
      }
      throw new MediaMtxError(ErrorCodes.disconnected, `${method} ${path}: cannot reach MediaMTX at ${this.base} (${e.cause?.code ?? e.message})`, {
        retryable: true,
        cause: err,
      });
    }
    // The API never sends large bodies to an edge agent; a huge one is not MediaMTX.
    if (text.length > 16 * 1024 * 1024) throw new MediaMtxError(ErrorCodes.protocol, `${method} ${path}: response too large`);
    let json: unknown;
    let isJson = false;
    try {
      json = JSON.parse(text);
      isJson = json !== null && typeof json === 'object';
    } catch {
      /* plain text, e.g. gin's 404 */
    }
    if (res.ok) {
      if (!isJson) throw new MediaMtxError(ErrorCodes.protocol, `${method} ${path}: expected JSON, got ${JSON.stringify(text.slice(0, 80))}`, { status: res.status });
      const env = json as { status?: unknown; error?: unknown };
      if (env.status === 'error') {
        throw new MediaMtxError(ErrorCodes.device_error, `MediaMTX: ${String(env.error)}`, { status: res.status, mtxMessage: String(env.error) });
      }
      return json as T;
    }
    const mtxMessage = isJson && typeof (json as { error?: unknown }).error === 'string' ? (json as { error: string }).error : undefined;
    const extra = {
      status: res.status,
      ...(mtxMessage !== undefined ? { mtxMessage } : {}),
      ...(!isJson ? { plainText: text.trim() } : {}),
    };
    const what = mtxMessage ?? text.trim().slice(0, 200);
    switch (res.status) {
      case 401:
      case 403:
        throw new MediaMtxError(
          ErrorCodes.auth,
          `MediaMTX refused the credentials (${res.status}${mtxMessage ? `: ${mtxMessage}` : ''}); check media.mediamtx.username/password_file or token_file`,
          extra,
        );
      case 404:
        throw new MediaMtxError(
          isJson ? ErrorCodes.not_found : ErrorCodes.unsupported,
          isJson ? `MediaMTX: ${what}` : `MediaMTX has no route ${method} ${path} (older version or protocol disabled)`,
          extra,
        );
      case 400:
        throw new MediaMtxError(ErrorCodes.invalid_args, `MediaMTX rejected ${method} ${path}: ${what}`, extra);
      default:
        throw new MediaMtxError(ErrorCodes.device_error, `MediaMTX ${res.status} on ${method} ${path}: ${what}`, { ...extra, retryable: res.status >= 500 });
    }
  }
}

/** Builds the client from the top-level `media.mediamtx` config. */
export async function createMediaMtxClient(
  cfg: { url: string; username?: string | undefined; password_file?: string | undefined; token_file?: string | undefined },
  readSecret: (path: string) => Promise<string>,
): Promise<MediaMtxClient> {
  const password = cfg.password_file !== undefined ? await readSecret(cfg.password_file) : undefined;
  const token = cfg.token_file !== undefined ? await readSecret(cfg.token_file) : undefined;
  return new MediaMtxClient({
    url: cfg.url,
    ...(cfg.username !== undefined ? { username: cfg.username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(token !== undefined ? { token } : {}),
  });
}
