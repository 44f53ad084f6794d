/**
 * The group robots the county notifies, as their vendors document them. Each kind turns a message into
 * one HTTP request (URL, JSON body) and reads the answer into sent / retry later / never retry.
 *
 * - WeCom (企业微信) group robot: POST <url> (`…/cgi-bin/webhook/send?key=…`), `{msgtype: 'text', text:
 *   {content}}` or `{msgtype: 'markdown', markdown: {content}}`; content at most 2048 bytes (text) or 4096
 *   (markdown), UTF-8; 20 messages a minute per robot, over it `errcode` 45009. An unknown key: 93000.
 * - DingTalk (钉钉) custom robot with 加签: POST <url> (`…/robot/send?access_token=…`) plus `timestamp` (ms)
 *   and `sign` = URL-encoded base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret));
 *   `{msgtype: 'text', text: {content}}`; a wrong signature: `errcode` 310000; too fast: 130101; 20 a minute.
 * - Feishu (飞书) custom bot with 签名校验: POST <url> (`…/open-apis/bot/v2/hook/…`), `{timestamp (s), sign,
 *   msg_type: 'text', content: {text}}` with sign = base64(HmacSHA256(key = timestamp + "\n" + secret,
 *   message = "")); answers `{code, msg}`: 19021 a wrong signature, 11232 or HTTP 429 too fast.
 * - webhook: a plain JSON POST of the message for the county's own systems, signed like a county request
 *   when a secret is given (`X-Signature: sha256=<hex HMAC of the body>`).
 */
import { createHmac } from 'node:crypto';

export const ROBOT_KINDS = ['wecom', 'dingtalk', 'feishu', 'webhook'] as const;
export type RobotKind = (typeof ROBOT_KINDS)[number];

/** What a robot is sent: the text people read, and for a webhook the facts behind it. */
export interface RobotMessage {
  text: string;
  /** For `webhook` targets: the message's type and facts (town, station, …). */
  facts?: Record<string, unknown>;
}

export interface RobotRequest {
  url: string;
  body: string;
  headers: Record<string, string>;
}

/** The vendors' content limits in UTF-8 bytes (WeCom text 2048; DingTalk and Feishu allow more, keep one rule). */
export const CONTENT_MAX_BYTES = 2048;

/** `text` cut to `maxBytes` of UTF-8 on a character boundary, marked with an ellipsis when cut. */
export function clipUtf8(text: string, maxBytes = CONTENT_MAX_BYTES): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  const room = maxBytes - Buffer.byteLength('…', 'utf8');
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > room) break;
    out += ch;
    used += n;
  }
  return `${out}…`;
}

/** DingTalk's 加签: base64(HmacSHA256(secret, `${timestamp}\n${secret}`)), before URL encoding. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** Feishu's 签名校验: base64(HmacSHA256 keyed with `${timestamp}\n${secret}` over the empty string). */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64');
}

/** The webhook target's signature header value: `sha256=` + hex HMAC of the body. */
export function webhookSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function robotRequest(kind: RobotKind, url: string, secret: string | undefined, message: RobotMessage, nowMs: number): RobotRequest {
  const content = clipUtf8(message.text);
  switch (kind) {
    case 'wecom':
      return { url, body: JSON.stringify({ msgtype: 'text', text: { content } }), headers: JSON_HEADERS };
    case 'dingtalk': {
      const signed = new URL(url);
      if (secret !== undefined) {
        signed.searchParams.set('timestamp', String(nowMs));
        signed.searchParams.set('sign', dingtalkSign(secret, nowMs));
      }
      return { url: signed.toString(), body: JSON.stringify({ msgtype: 'text', text: { content } }), headers: JSON_HEADERS };
    }
    case 'feishu': {
      const timestamp = Math.floor(nowMs / 1000);
      const sign = secret === undefined ? {} : { timestamp: String(timestamp), sign: feishuSign(secret, timestamp) };
      return { url, body: JSON.stringify({ ...sign, msg_type: 'text', content: { text: content } }), headers: JSON_HEADERS };
    }
    case 'webhook': {
      const body = JSON.stringify({ text: message.text, ...(message.facts ?? {}), sent_at: new Date(nowMs).toISOString() });
      return { url, body, headers: secret === undefined ? JSON_HEADERS : { ...JSON_HEADERS, 'x-signature': webhookSignature(secret, body) } };
    }
  }
}

/** How a send ended: delivered, worth trying again later (network, rate limit, server error), or never. */
export type RobotOutcome = { result: 'sent' } | { result: 'retry'; reason: string; rateLimited: boolean } | { result: 'permanent'; reason: string };

const RATE_LIMIT_CODES: Record<RobotKind, ReadonlySet<number>> = {
  wecom: new Set([45009]),
  dingtalk: new Set([130101]),
  feishu: new Set([11232, 230020]),
  webhook: new Set(),
};

/** The vendor's answer (HTTP status and body) read into an outcome. */
export function readAnswer(kind: RobotKind, status: number, body: string): RobotOutcome {
  if (status === 429) return { result: 'retry', reason: `HTTP 429`, rateLimited: true };
  if (status >= 500) return { result: 'retry', reason: `HTTP ${status}`, rateLimited: false };
  let answer: { errcode?: unknown; code?: unknown; errmsg?: unknown; msg?: unknown } = {};
  try {
    answer = JSON.parse(body) as typeof answer;
  } catch {
    /* not JSON: judged by the status alone */
  }
  const code = typeof answer.errcode === 'number' ? answer.errcode : typeof answer.code === 'number' ? answer.code : undefined;
  const words = String(answer.errmsg ?? answer.msg ?? '').slice(0, 200);
  if (kind === 'webhook') {
    if (status >= 200 && status < 300) return { result: 'sent' };
    return { result: 'permanent', reason: `HTTP ${status}` };
  }
  if (status >= 200 && status < 300 && code === 0) return { result: 'sent' };
  if (code !== undefined && RATE_LIMIT_CODES[kind].has(code)) return { result: 'retry', reason: `${code} ${words}`.trim(), rateLimited: true };
  if (code === undefined && status >= 200 && status < 300) return { result: 'retry', reason: `unreadable answer`, rateLimited: false };
  return { result: 'permanent', reason: `${code ?? `HTTP ${status}`} ${words}`.trim() };
}

/** Sends one request; a network failure or a timeout is worth retrying, never thrown. */
export async function sendRobot(kind: RobotKind, request: RobotRequest, timeoutMs = 10_000): Promise<RobotOutcome> {
  try {
    const res = await fetch(request.url, { method: 'POST', body: request.body, headers: request.headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const text = (await res.text()).slice(0, 4096);
    return readAnswer(kind, res.status, text);
  } catch (err) {
    return { result: 'retry', reason: (err as Error).name === 'TimeoutError' ? 'timeout' : `network: ${(err as Error).message}`.slice(0, 200), rateLimited: false };
  }
}

/** A robot URL shown to people: the scheme, host and path, its key or token replaced. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '***');
    const path = u.pathname.replace(/\/hook\/[^/]+$/, '/hook/***');
    return `${u.protocol}//${u.host}${path}${u.search ? u.search.replace(/%2A/g, '*') : ''}`;
  } catch {
    return '***';
  }
}
