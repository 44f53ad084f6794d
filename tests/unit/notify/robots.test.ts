/**
 * The group robots' request shapes and signatures. The signatures are checked against an independent
 * implementation: Python's hmac/base64/urllib run on the snippets the vendors' docs publish (DingTalk
 * 自定义机器人 加签, Feishu 自定义机器人 签名校验), not against our own belief.
 */
import { describe, it, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { clipUtf8, dingtalkSign, feishuSign, maskUrl, readAnswer, robotRequest } from '../../../county/notify/robots.js';

/** DingTalk's documented Python: hmac.new(secret, f"{timestamp}\n{secret}", sha256), base64, quote_plus. */
const DINGTALK_PY = `
import base64, hashlib, hmac, sys, urllib.parse
timestamp, secret = sys.argv[1], sys.argv[2]
string_to_sign = '{}\\n{}'.format(timestamp, secret)
hmac_code = hmac.new(secret.encode('utf-8'), string_to_sign.encode('utf-8'), digestmod=hashlib.sha256).digest()
print(urllib.parse.quote_plus(base64.b64encode(hmac_code)))
`;
/** Feishu's documented Python: key = f"{timestamp}\n{secret}", message "", sha256, base64. */
const FEISHU_PY = `
import base64, hashlib, hmac, sys
timestamp, secret = sys.argv[1], sys.argv[2]
key = f'{timestamp}\\n{secret}'
print(base64.b64encode(hmac.new(key.encode('utf-8'), ''.encode('utf-8'), digestmod=hashlib.sha256).digest()).decode('utf-8'))
`;
const py = (script: string, ...args: string[]) => execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8' }).trim();

describe('group robot requests', () => {
  it('signs DingTalk requests as the vendor documents (timestamp in ms, URL-encoded base64 HMAC)', () => {
    const secret = 'SEC0123456789abcdef+/=中文';
    const ts = 1_765_000_000_123;
    const req = robotRequest('dingtalk', 'https://oapi.example/robot/send?access_token=tok', secret, { text: '城关镇张家庄村已离线' }, ts);
    const url = new URL(req.url);
    expect(url.searchParams.get('access_token')).toBe('tok');
    expect(url.searchParams.get('timestamp')).toBe(String(ts));
    const documented = py(DINGTALK_PY, String(ts), secret);
    expect(req.url.split('&sign=')[1]).toBe(documented);
    expect(encodeURIComponent(dingtalkSign(secret, ts))).toBe(documented);
    expect(JSON.parse(req.body)).toEqual({ msgtype: 'text', text: { content: '城关镇张家庄村已离线' } });
  });

  it('signs Feishu requests as the vendor documents (timestamp in s, key = timestamp\\nsecret over "")', () => {
    const secret = 'feishu-secret-中文';
    const ms = 1_765_000_000_999;
    const req = robotRequest('feishu', 'https://open.example/open-apis/bot/v2/hook/abc', secret, { text: 'x' }, ms);
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(body).toEqual({ timestamp: '1765000000', sign: py(FEISHU_PY, '1765000000', secret), msg_type: 'text', content: { text: 'x' } });
    expect(feishuSign(secret, 1_765_000_000)).toBe(body['sign']);
  });

  it('keeps WeCom content within 2048 bytes of UTF-8, cut on a character', () => {
    const long = '张'.repeat(1000); // 3,000 bytes
    const req = robotRequest('wecom', 'https://qyapi.example/cgi-bin/webhook/send?key=k', undefined, { text: long }, 0);
    const content = (JSON.parse(req.body) as { text: { content: string } }).text.content;
    expect(Buffer.byteLength(content, 'utf8')).toBeLessThanOrEqual(2048);
    expect(content.endsWith('张…')).toBe(true);
    expect(clipUtf8('short')).toBe('short');
    expect(clipUtf8('a😀b', 5)).toBe('a…');
  });

  it('reads each vendor answer as sent, worth retrying, or never to be retried', () => {
    expect(readAnswer('wecom', 200, '{"errcode":0,"errmsg":"ok"}')).toEqual({ result: 'sent' });
    expect(readAnswer('wecom', 200, '{"errcode":45009,"errmsg":"api freq out of limit"}')).toMatchObject({ result: 'retry', rateLimited: true });
    expect(readAnswer('wecom', 200, '{"errcode":93000,"errmsg":"invalid webhook url"}')).toMatchObject({ result: 'permanent', reason: '93000 invalid webhook url' });
    expect(readAnswer('dingtalk', 200, '{"errcode":130101,"errmsg":"send too fast"}')).toMatchObject({ result: 'retry', rateLimited: true });
    expect(readAnswer('dingtalk', 200, '{"errcode":310000,"errmsg":"sign not match"}')).toMatchObject({ result: 'permanent' });
    expect(readAnswer('feishu', 200, '{"code":0,"msg":"success"}')).toEqual({ result: 'sent' });
    expect(readAnswer('feishu', 200, '{"code":11232,"msg":"frequency limited"}')).toMatchObject({ result: 'retry', rateLimited: true });
    expect(readAnswer('feishu', 200, '{"code":19021,"msg":"sign match fail"}')).toMatchObject({ result: 'permanent' });
    expect(readAnswer('feishu', 429, '')).toMatchObject({ result: 'retry', rateLimited: true });
    expect(readAnswer('wecom', 502, 'bad gateway')).toMatchObject({ result: 'retry', rateLimited: false });
    expect(readAnswer('webhook', 204, '')).toEqual({ result: 'sent' });
    expect(readAnswer('webhook', 401, '')).toMatchObject({ result: 'permanent' });
  });

  it('never shows a robot key or token', () => {
    expect(maskUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx')).toBe('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***');
    expect(maskUrl('https://open.feishu.cn/open-apis/bot/v2/hook/abcdef')).toBe('https://open.feishu.cn/open-apis/bot/v2/hook/***');
    expect(maskUrl('not a url with secret')).toBe('***');
  });
});
