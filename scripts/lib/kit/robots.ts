/**
 * Loopback stand-ins for the group robots the county notifies (WeCom, DingTalk, Feishu) and a plain
 * webhook, checking what the vendors' public docs define: the path and its key or token, the JSON shape,
 * the content length in UTF-8 bytes, the DingTalk and Feishu signatures with their timestamps (an hour of
 * skew at most), and the answers, the rate limits included (20 a minute per robot for WeCom and DingTalk,
 * 5 a second for Feishu). Tests script extra answers (`answerNext`) and read what arrived (`received`).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StandInKind = 'wecom' | 'dingtalk' | 'feishu' | 'webhook';

export interface Received {
  kind: StandInKind;
  /** The robot: WeCom key, DingTalk access_token, Feishu hook token, webhook path. */
  robot: string;
  text: string;
  body: Record<string, unknown>;
  atMs: number;
}

interface Robot {
  kind: StandInKind;
  secret?: string;
  sent: number[];
}

const WINDOW_MS = 60_000;
const MAX_SKEW_MS = 3_600_000;

export class RobotStandIns {
  readonly received: Received[] = [];
  /** Every answer given, in order: `kind robot code`. */
  readonly answers: string[] = [];
  private readonly robots = new Map<string, Robot>();
  private readonly scripted = new Map<string, Array<Record<string, unknown>>>();
  private server: Server | undefined;
  private base = '';

  constructor(private readonly now: () => number = Date.now) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.base;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /** A robot of `kind`, and the URL a county puts in its url_file. */
  add(kind: StandInKind, robot: string, secret?: string): string {
    this.robots.set(`${kind}:${robot}`, { kind, ...(secret !== undefined ? { secret } : {}), sent: [] });
    switch (kind) {
      case 'wecom':
        return `${this.base}/cgi-bin/webhook/send?key=${robot}`;
      case 'dingtalk':
        return `${this.base}/robot/send?access_token=${robot}`;
      case 'feishu':
        return `${this.base}/open-apis/bot/v2/hook/${robot}`;
      case 'webhook':
        return `${this.base}/hooks/${robot}`;
    }
  }

  /** The next answer this robot gives (before any check), e.g. `{errcode: 45009, errmsg: '…'}`. */
  answerNext(kind: StandInKind, robot: string, answer: Record<string, unknown>): void {
    const key = `${kind}:${robot}`;
    this.scripted.set(key, [...(this.scripted.get(key) ?? []), answer]);
  }

  textsFor(kind: StandInKind, robot: string): string[] {
    return this.received.filter((r) => r.kind === kind && r.robot === robot).map((r) => r.text);
  }

  private async handle(req: IncomingMessage): Promise<{ status: number; body: Record<string, unknown> }> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1_000_000) return { status: 413, body: {} };
      chunks.push(c as Buffer);
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.base);
    if (req.method !== 'POST') return { status: 405, body: {} };
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return { status: 200, body: { errcode: 40001, errmsg: 'invalid json' } };
    }
    if (url.pathname === '/cgi-bin/webhook/send') return this.answer('wecom', url.searchParams.get('key') ?? '', body, () => this.wecom(body));
    if (url.pathname === '/robot/send') return this.answer('dingtalk', url.searchParams.get('access_token') ?? '', body, (r) => this.dingtalk(r, url, body));
    const feishu = /^\/open-apis\/bot\/v2\/hook\/([\w-]+)$/.exec(url.pathname);
    if (feishu) return this.answer('feishu', feishu[1]!, body, (r) => this.feishu(r, body));
    const hook = /^\/hooks\/([\w-]+)$/.exec(url.pathname);
    if (hook) return this.answer('webhook', hook[1]!, body, (r) => this.webhook(r, raw, req.headers['x-signature']));
    return { status: 404, body: {} };
  }

  private answer(kind: StandInKind, name: string, body: Record<string, unknown>, check: (r: Robot) => { status: number; body: Record<string, unknown> } | string): { status: number; body: Record<string, unknown> } {
    const robot = this.robots.get(`${kind}:${name}`);
    const give = (a: { status: number; body: Record<string, unknown> }) => {
      this.answers.push(`${kind} ${name} ${String(a.body['errcode'] ?? a.body['code'] ?? a.status)}`);
      return a;
    };
    if (!robot) return give(kind === 'feishu' ? { status: 200, body: { code: 19001, msg: 'param invalid: incoming webhook access token invalid' } } : kind === 'webhook' ? { status: 404, body: {} } : { status: 200, body: { errcode: kind === 'wecom' ? 93000 : 300001, errmsg: 'invalid webhook url' } });
    const scripted = this.scripted.get(`${kind}:${name}`)?.shift();
    if (scripted) return give({ status: typeof scripted['status'] === 'number' ? (scripted['status'] as number) : 200, body: scripted });
    const text = check(robot);
    if (typeof text !== 'string') return give(text);
    const now = this.now();
    robot.sent = robot.sent.filter((t) => now - t < WINDOW_MS);
    const perSecond = robot.sent.filter((t) => now - t < 1000).length;
    if (kind === 'feishu' && perSecond >= 5) return give({ status: 200, body: { code: 11232, msg: 'frequency limited' } });
    if ((kind === 'wecom' || kind === 'dingtalk') && robot.sent.length >= 20) {
      return give({ status: 200, body: kind === 'wecom' ? { errcode: 45009, errmsg: 'api freq out of limit' } : { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' } });
    }
    robot.sent.push(now);
    this.received.push({ kind, robot: name, text, body, atMs: now });
    return give({ status: 200, body: kind === 'feishu' ? { code: 0, msg: 'success', data: {} } : kind === 'webhook' ? { ok: true } : { errcode: 0, errmsg: 'ok' } });
  }

  private wecom(body: Record<string, unknown>): { status: number; body: Record<string, unknown> } | string {
    const type = body['msgtype'];
    const part = (type === 'text' || type === 'markdown' ? body[type] : undefined) as { content?: unknown } | undefined;
    if (typeof part?.content !== 'string' || part.content === '') return { status: 200, body: { errcode: 40008, errmsg: 'invalid message type or empty content' } };
    if (Buffer.byteLength(part.content, 'utf8') > (type === 'text' ? 2048 : 4096)) return { status: 200, body: { errcode: 40058, errmsg: 'content exceed max length' } };
    return part.content;
  }

  private dingtalk(robot: Robot, url: URL, body: Record<string, unknown>): { status: number; body: Record<string, unknown> } | string {
    if (robot.secret !== undefined) {
      const ts = Number(url.searchParams.get('timestamp'));
      const sign = url.searchParams.get('sign') ?? '';
      const expected = createHmac('sha256', robot.secret).update(`${ts}\n${robot.secret}`).digest('base64');
      if (!Number.isInteger(ts) || Math.abs(this.now() - ts) > MAX_SKEW_MS || sign !== expected) return { status: 200, body: { errcode: 310000, errmsg: 'sign not match' } };
    }
    const text = (body['text'] as { content?: unknown } | undefined)?.content;
    if (body['msgtype'] !== 'text' || typeof text !== 'string' || text === '') return { status: 200, body: { errcode: 40035, errmsg: 'missing content' } };
    return text;
  }

  private feishu(robot: Robot, body: Record<string, unknown>): { status: number; body: Record<string, unknown> } | string {
    if (robot.secret !== undefined) {
      const ts = Number(body['timestamp']);
      const expected = createHmac('sha256', `${ts}\n${robot.secret}`).update('').digest('base64');
      if (!Number.isInteger(ts) || Math.abs(this.now() / 1000 - ts) > MAX_SKEW_MS / 1000 || body['sign'] !== expected) return { status: 200, body: { code: 19021, msg: 'sign match fail or timestamp is not within one hour from current time' } };
    }
    const text = (body['content'] as { text?: unknown } | undefined)?.text;
    if (body['msg_type'] !== 'text' || typeof text !== 'string' || text === '') return { status: 200, body: { code: 9499, msg: 'Bad Request' } };
    return text;
  }

  private webhook(robot: Robot, raw: string, signature: string | string[] | undefined): { status: number; body: Record<string, unknown> } | string {
    if (robot.secret !== undefined && signature !== `sha256=${createHmac('sha256', robot.secret).update(raw).digest('hex')}`) return { status: 401, body: {} };
    const text = (JSON.parse(raw) as { text?: unknown }).text;
    return typeof text === 'string' ? text : { status: 400, body: {} };
  }
}
