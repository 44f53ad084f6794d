/**
 * The console over plain HTTP against a real SQLite collector database (seeded through the store's write
 * path) and a real mosquitto: sign-in with CSRF and lockout, cookies and security headers, bounded
 * input, role checks on the server, the Chinese CSV, and a push whose requests are signed for each
 * station (checked with the agent's verifyRequest) and whose answers are recorded.
 */
import { ConsoleClient } from '../../helpers/console-client.js';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { verifyRequest } from '../../../protocol/signing.js';
import { FleetTopics } from '../../../protocol/topics.js';
import { hoursText, monthlyReport } from '../../../county/report.js';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import { openCollectorStore } from '../../../county/open-store.js';
import { Pusher } from '../../../county/console/pusher.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { localMonth } from '../../../county/console/time.js';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { tempDir } from '../../helpers/temp.js';

const KEY = 'county-command-key-for-the-http-test-0123456789';
const cleanups: Array<() => unknown> = [];
let store: ConsoleDb;
let server: ConsoleServer;
let broker: Mosquitto;


beforeAll(async () => {
  const dir = tempDir('console-http-');
  store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  await seedConsoleDb(store, { stations: 40, days: 20, historyHours: 2 });
  const users = join(dir, 'users');
  await upsertAccount(users, 'oper', 'operator', 'operator-password');
  await upsertAccount(users, 'view', 'viewer', 'viewer-password');
  await upsertAccount(users, 'lock', 'viewer', 'lockout-password');
  broker = await Mosquitto.start();
  cleanups.push(() => broker.dispose());
  const pusher = await Pusher.start({ url: broker.url, store, commandKey: KEY });
  cleanups.push(() => pusher.stop());
  server = await startConsole({ store, accounts: new AccountFile(users), port: 0, pusher, lockout: { maxFailures: 3 } });
  cleanups.push(() => server.close());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A GET with exactly these headers and the body as sent (fetch would decode a gzipped body itself). */
function rawGet(path: string, headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    httpGet(server.url + path, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('console over HTTP', () => {
  it('listens on loopback and sends signed-out visitors to the sign-in page', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const c = new ConsoleClient(server.url);
    const res = await c.req('/fleet?town=x');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?back=%2Ffleet%3Ftown%3Dx');
    expect((await c.req('/push.json?id=x')).status).toBe(403);
    expect((await c.req('/nothing-here')).status).toBe(404);
    expect((await c.post('/schedules', { target: 'all' })).status).toBe(403);
  });

  it('serves its icon, and its assets gzipped to a client that takes gzip (ECharts to a township line)', async () => {
    const page = await (await new ConsoleClient(server.url).req('/login')).text();
    expect(page).toContain('<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">');
    const icon = await fetch(`${server.url}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(await icon.text()).toMatch(/^<svg /);
    const plain = await rawGet('/static/echarts.min.js', {});
    const zipped = await rawGet('/static/echarts.min.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toBe('Accept-Encoding');
    expect(gunzipSync(zipped.body)).toEqual(plain.body);
    expect(plain.body.length).toBeGreaterThan(1_000_000);
    expect(zipped.body.length).toBeLessThan(plain.body.length / 2);
  });

  it('serves pages with a strict CSP and cookies that scripts cannot read', async () => {
    const c = new ConsoleClient(server.url);
    const res = await c.req('/login');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.getSetCookie()[0]).toMatch(/^sa_login=[\w-]{43}; Path=\/; SameSite=Strict; HttpOnly$/);
    const ok = await c.login('oper', 'operator-password');
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/fleet');
    expect(ok.headers.getSetCookie()[0]).toMatch(/^sa_session=[\w-]{43}; Path=\/; SameSite=Strict; HttpOnly$/);
    const fleet = await c.req('/fleet');
    expect(fleet.status).toBe(200);
    expect(fleet.headers.get('cache-control')).toBe('no-store');
    expect(fleet.headers.get('server-timing')).toMatch(/^app;dur=\d+\.\d$/);
    expect(await fleet.text()).toContain('共 40 个站点');
  });

  it('refuses a wrong password, a sign-in without the form token or from another origin, and locks after 3 failures', async () => {
    const c = new ConsoleClient(server.url);
    expect((await c.login('oper', 'wrong-password')).status).toBe(401);
    expect((await c.post('/login', { user: 'oper', password: 'operator-password' })).status).toBe(403);
    const token = await c.csrf('/login');
    expect((await c.post('/login', { _csrf: token, user: 'oper', password: 'operator-password' }, { origin: 'http://evil.example' })).status).toBe(403);
    for (let i = 0; i < 3; i++) expect((await c.login('lock', 'not-the-password')).status).toBe(401);
    const locked = await c.login('lock', 'lockout-password');
    expect(locked.status).toBe(429);
    expect(await locked.text()).toContain('失败次数过多');
    expect(c.jar.has('sa_session')).toBe(false);
  });

  it('bounds what it reads: oversized bodies, long URLs, bad months', async () => {
    const c = new ConsoleClient(server.url);
    await c.login('view', 'viewer-password');
    expect((await c.post('/schedules', { _csrf: 'x', name: 'x'.repeat(70_000) })).status).toBe(413);
    expect((await c.req('/fleet?q=' + 'x'.repeat(3000))).status).toBe(400);
    expect((await c.req('/monthly?month=2026-13')).status).toBe(400);
    expect((await c.req('/station?id=no-such-station')).status).toBe(404);
  });

  it('downloads the monthly table as CSV with Chinese headers and the report’s numbers', async () => {
    const c = new ConsoleClient(server.url);
    await c.login('view', 'viewer-password');
    const month = localMonth(Date.now(), 'Asia/Shanghai');
    const res = await c.req(`/monthly.csv?month=${month}`);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toContain(`filename*=UTF-8''${encodeURIComponent(`进度表-${month}.csv`)}`);
    const text = await res.text();
    const [header, ...lines] = text.replace(/^\uFEFF/, '').trim().split('\n');
    expect(header).toBe('月份,行类型,乡镇,站点编号,站点名称,使用次数,使用时长（小时）,有信号时长（小时）,短时次数,短时时长（小时）,站点数,无活动站点数');
    const report = await monthlyReport(store, month);
    const total = lines.find((l) => l.split(',')[1] === '合计')!.split(',');
    expect(Number(total[5])).toBe(report.total.sessions);
    expect(total[6]).toBe(hoursText(report.total.hours_100));
    expect(lines.filter((l) => l.split(',')[1] === '站点')).toHaveLength(40);
  });

  it('refuses a viewer’s forged push and a push without the form token', async () => {
    const viewer = new ConsoleClient(server.url);
    await viewer.login('view', 'viewer-password');
    const page = await (await viewer.req('/schedules')).text();
    expect(page).not.toContain('id="compose"');
    const token = await viewer.csrf('/schedules');
    const before = (await store.recentPushes(100)).length;
    const forged = await viewer.post('/schedules', { _csrf: token, target: 'all', mode: 'delete', id: 'x' });
    expect(forged.status).toBe(403);
    const operator = new ConsoleClient(server.url);
    await operator.login('oper', 'operator-password');
    expect((await operator.post('/schedules', { target: 'all', mode: 'delete', id: 'x' })).status).toBe(403);
    expect((await operator.post('/schedules', { _csrf: token, target: 'all', mode: 'delete', id: 'x' })).status).toBe(403);
    expect((await store.recentPushes(100)).length).toBe(before);
  });

  it('sends one signed request per station of the town and records their answers', async () => {
    const fleet = new FleetTopics('stations');
    const station = mqtt.connect(broker.url);
    cleanups.push(() => station.endAsync(true));
    const heard: Array<{ topic: string; body: Record<string, unknown> }> = [];
    station.on('message', (topic, payload) => heard.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await station.subscribeAsync(fleet.filter('request'));
    const town = (await store.stations()).filter((s) => s.town === '东山乡').map((s) => s.station_id);
    expect(town.length).toBeGreaterThan(5);

    const c = new ConsoleClient(server.url);
    await c.login('oper', 'operator-password');
    const bad = await c.post('/schedules', { _csrf: await c.csrf('/schedules'), target: 'town', town: '东山乡', mode: 'set', id: 'evening', days: [], time: '20:00', duration: '45', step_0: 'projector-1|power|on' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('请至少选择一天');
    const fields = { _csrf: await c.csrf('/schedules'), target: 'town', town: '东山乡', mode: 'set', id: 'evening', days: ['2'], time: '20:00', duration: '45', enabled: 'on', step_0: 'projector-1|power|on' };
    // The form's own submit shows the confirmation and sends nothing; a confirmation of other values is shown again.
    const confirmed = await c.confirmed(fields);
    expect(heard).toEqual([]);
    const changed = await c.post('/schedules', { ...confirmed, duration: '50' });
    expect(changed.status).toBe(409);
    expect(await changed.text()).toContain('核对之后计划内容或下发对象有变化');
    expect(heard).toEqual([]);
    const res = await c.post('/schedules', confirmed);
    expect(res.status).toBe(303);
    const pushId = /^\/push\?id=([0-9A-Z]{26})$/.exec(res.headers.get('location')!)![1]!;

    await waitFor(() => heard.length === town.length, 10_000);
    for (const { topic, body } of heard) {
      const t = fleet.parse(topic)!;
      expect(t).toMatchObject({ kind: 'request', action: 'schedule.set' });
      expect(town).toContain(t.station);
      expect(verifyRequest(KEY, t.station, 'schedule.set', body)).toBe(true);
      // Bound to its station: the same request is worthless for another.
      expect(verifyRequest(KEY, t.station === town[0] ? town[1]! : town[0]!, 'schedule.set', body)).toBe(false);
      expect(body['args']).toEqual({ schedule: { id: 'evening', cron: '0 20 * * 2', duration_min: 45, enabled: true, steps: [{ device: 'projector-1', action: 'power', value: 'on' }] } });
    }

    // Three stations answer, as an agent does (one with an error code this console has no words for);
    // the rest stay unanswered.
    const answers = [
      { status: 'ok', data: { ids: ['evening'] } },
      { status: 'error', error: { code: 'not_allowed', message: 'action schedule.set is not in county.allowed_commands' } },
      { status: 'error', error: { code: 'quota_exceeded', message: 'too many schedules' } },
    ];
    for (const [i, { topic, body }] of heard.slice(0, 3).entries()) {
      const s = fleet.parse(topic)!.station;
      const answer = answers[i]!;
      station.publish(fleet.station(s).response('schedule.set'), JSON.stringify({ v: 1, transaction: body['transaction'], ...answer, ts: new Date().toISOString(), clock: 'synced' }), { qos: 1 });
    }
    type Answer = { text: string; own: boolean; title: string };
    const progress = async () => (await (await c.req(`/push.json?id=${pushId}`)).json()) as { ok: number; error: number; pending: number; rows: Array<{ status: string; answer: Answer }> };
    await waitFor(async () => (await progress()).error === 2, 10_000);
    const p = await progress();
    expect(p).toMatchObject({ ok: 1, error: 2, pending: town.length - 3, silent: 0 });
    // A known code in the console's words, the station's English on hover; an unknown one as its own words.
    const errors = p.rows.filter((r) => r.status === 'error').map((r) => r.answer);
    expect(errors).toContainEqual({ text: '站点配置不允许县级下发此命令', own: false, title: 'action schedule.set is not in county.allowed_commands' });
    expect(errors).toContainEqual({ text: 'quota_exceeded: too many schedules', own: true, title: '' });
    const html = await (await c.req(`/push?id=${pushId}`)).text();
    expect(html).toContain('已向');
    expect(html).toContain('等待回复的站点');
    expect(html).toContain('<span title="action schedule.set is not in county.allowed_commands">站点配置不允许县级下发此命令</span>');
    expect(html).toMatch(/<span class="own-tag">站点原文<\/span> <q>quota_exceeded: too many schedules<\/q>/);
  });

  it('signs out: the session no longer opens pages', async () => {
    const c = new ConsoleClient(server.url);
    await c.login('view', 'viewer-password');
    const session = c.jar.get('sa_session')!;
    const res = await c.post('/logout', { _csrf: await c.csrf('/fleet') });
    expect(res.status).toBe(303);
    c.jar.set('sa_session', session);
    expect((await c.req('/fleet')).status).toBe(303);
  });
});

describe('console behind TLS', () => {
  it('marks its cookies Secure with the __Host- prefix and sends HSTS', async () => {
    const dir = tempDir('console-tls-');
    const users = join(dir, 'users');
    await upsertAccount(users, 'oper', 'operator', 'operator-password');
    const s = await startConsole({ store, accounts: new AccountFile(users), port: 0, secureCookies: true });
    try {
      const res = await fetch(`${s.url}/login`);
      expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-sa_login=[\w-]{43}; Path=\/; SameSite=Strict; HttpOnly; Secure$/);
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000');
    } finally {
      await s.close();
    }
  });
});
