/**
 * Small, bounded HTTP helpers for the console: cookies, form bodies with a size limit, responses with the
 * security headers every page carries (a CSP without inline scripts, no framing, no sniffing).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly key: 'error.bad_request' | 'error.too_large' | 'error.forbidden' | 'error.not_found' | 'error.csrf' | 'error.busy' | 'error.visit_gone' | 'error.other_town',
    /** Parameters of the message (error.other_town names the account's town). */
    readonly params?: Record<string, string | number>,
  ) {
    super(key);
  }
}

export const MAX_FORM_BYTES = 64 * 1024;
const MAX_FIELDS = 200;
const MAX_FIELD_CHARS = 4000;
const MAX_URL_CHARS = 2048;

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(secure: boolean): Record<string, string> {
  return {
    'Content-Security-Policy': CSP,
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    ...(secure ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  };
}

/** The request's path and query; refuses absurdly long URLs before parsing them. */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  if (target.length > MAX_URL_CHARS || !target.startsWith('/')) throw new HttpError(400, 'error.bad_request');
  return new URL(target, 'http://console.invalid');
}

/** A query parameter, bounded and trimmed; '' when absent. */
export function param(url: URL, name: string, max = 128): string {
  const v = url.searchParams.get(name) ?? '';
  if (v.length > max) throw new HttpError(400, 'error.bad_request');
  return v.trim();
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  const header = req.headers.cookie;
  if (!header || header.length > 8192) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (name.length <= 64 && value.length <= 256 && !out.has(name)) out.set(name, value);
  }
  return out;
}

export interface CookieOptions {
  secure: boolean;
  maxAgeS?: number;
  httpOnly?: boolean;
}

export function setCookie(name: string, value: string, o: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'SameSite=Strict'];
  if (o.httpOnly !== false) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${o.maxAgeS}`);
  return parts.join('; ');
}

/** An `application/x-www-form-urlencoded` body, at most MAX_FORM_BYTES, MAX_FIELDS fields. */
export async function readForm(req: IncomingMessage, limit = MAX_FORM_BYTES): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError(400, 'error.bad_request');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, 'error.too_large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'error.too_large');
    chunks.push(chunk);
  }
  const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  let fields = 0;
  for (const [, v] of form) {
    if (++fields > MAX_FIELDS || v.length > MAX_FIELD_CHARS) throw new HttpError(413, 'error.too_large');
  }
  return form;
}

/** A form field, trimmed and bounded (a field over `max` is a bad request, not silently cut). */
export function field(form: URLSearchParams, name: string, max = 200): string {
  const v = form.get(name) ?? '';
  if (v.length > max) throw new HttpError(400, 'error.bad_request');
  return v.trim();
}

export function send(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { Location: location, 'Content-Length': 0, ...headers });
  res.end();
}

/** Only local paths are followed after a login or a language switch (no open redirect). */
export function localPath(candidate: string, fallback = '/fleet'): string {
  return /^\/(?![/\\])[\x21-\x7e]{0,500}$/.test(candidate) ? candidate : fallback;
}

/** POSTs must come from our own pages: when the browser names an Origin it must be this host. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  // Behind a reverse proxy the proxy must pass the public Host on (nginx: proxy_set_header Host $host).
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * The client's address: the reverse proxy's X-Real-IP when the console is told to trust it (`trust_proxy`),
 * else the socket's. For the per-address lockout and the audit log.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const realIp = trustProxy ? req.headers['x-real-ip'] : undefined;
  return typeof realIp === 'string' && realIp.length <= 64 ? realIp : (req.socket.remoteAddress ?? '');
}
