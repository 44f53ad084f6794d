/**
 * A town account sees and pushes only its own town, checked by direct HTTP requests (no page followed,
 * nothing hidden counts) against a real console on a real store, SQLite on a file and PostgreSQL 15, with
 * a real mosquitto for the pushes: another town's station page, its monthly rows, CSV, .xlsx and print
 * page, a town filter naming it, a push naming its station or the town (at the picker, the review and the
 * confirmation that signs), another town's push progress,
 * acknowledging or clearing another town's visit item: each refused with 403 and a message in the
 * reader's language, and nothing sent or changed; the notifications page, which names every town's
 * groups, is not a town account's at all (403). Every route the console has is in the table below, so
 * a new route cannot arrive without saying how it keeps a town account in its town.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import mqtt from 'mqtt';
import { FleetTopics } from '../../../protocol/topics.js';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { Pusher } from '../../../county/console/pusher.js';
import { PAGES, startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { openCollectorStore } from '../../../county/open-store.js';
import type { VisitRow } from '../../../county/visit-store.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { Mosquitto, Postgres, removeDir, tempDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { ConsoleClient } from '../../helpers/console-client.js';

const KEY = 'county-command-key-town-scope-0123456789';
const MINE = '城关镇';
const OTHER = '东山乡';
const TOWN_REFUSED_ZH = `您的账号只能查看和操作${MINE}的站点：此站点或乡镇不属于${MINE}。`;
const TOWN_REFUSED_EN = `Your account sees and works on the stations of ${MINE} only: this station or town is not in ${MINE}.`;

/** How each route keeps a town account in its town (every route of the console must be here). */
const ROUTE_CHECKS: Record<string, string> = {
  'GET /fleet': 'only its stations; ?town= of another town: 403',
  'GET /station': 'another town’s station: 403',
  'GET /monthly': 'only its rows and totals; ?town= of another town: 403',
  'GET /monthly.csv': 'only its rows and totals; ?town= of another town: 403',
  'GET /monthly.xlsx': 'only its stations, totals and sessions; ?town= of another town: 403',
  'GET /monthly/print': 'only its stations and totals; ?town= of another town: 403',
  'GET /schedules': 'only its towns, stations and pushes; ?target= naming another town or its station: 403',
  'POST /schedules': 'review, edit and confirm alike: a station or town of another town: 403, nothing signed or sent; all = its town; audited once, at the confirmed push',
  'GET /push': 'only its rows; a push that reached none of them: 403',
  'GET /push.json': 'only its rows; a push that reached none of them: 403',
  'POST /visit': 'another town’s station: 403, the item unchanged, nothing in the audit log',
  'GET /notify': 'not a town account’s page: 403 (every town’s groups and history are on it)',
  'POST /notify/test': 'operators and admins only: 403, nothing queued',
  'GET /accounts': 'admins only: 403',
  'POST /accounts/add': 'admins only: 403',
  'GET /accounts/edit': 'admins only: 403',
  'POST /accounts/role': 'admins only: 403',
  'POST /accounts/password': 'admins only: 403',
  'GET /accounts/remove': 'admins only: 403',
  'POST /accounts/remove': 'admins only: 403',
  'GET /audit': 'admins only: 403',
  'GET /audit.csv': 'admins only: 403',
};

let broker: Mosquitto;
let pg: Postgres;
const outer: Array<() => unknown> = [];

beforeAll(async () => {
  broker = await Mosquitto.start();
  outer.push(() => broker.dispose());
  pg = await Postgres.start();
  outer.push(() => pg.dispose());
}, 90_000);

afterAll(async () => {
  for (const c of outer.splice(0).reverse()) await c();
});

const STORES: Array<[string, (dir: string) => Promise<ConsoleDb>]> = [
  ['SQLite', (dir) => openCollectorStore(join(dir, 'county.db'))],
  ['PostgreSQL', async () => openCollectorStore(await pg.createDatabase('town_scope'))],
];

describe.each(STORES)('a town account on %s', (_name, openStore) => {
  const cleanups: Array<() => unknown> = [];
  let store: ConsoleDb;
  let server: ConsoleServer;
  let mine: string[];
  let other: string[];
  /** Requests the console published, by station. */
  const heard: string[] = [];

  beforeAll(async () => {
    const dir = tempDir('console-town-');
    cleanups.push(() => removeDir(dir));
    store = await openStore(dir);
    cleanups.push(() => store.close());
    const ids = await seedConsoleDb(store, { stations: 40, days: 20, historyHours: 2 });
    mine = ids.filter((s) => s.town === MINE).map((s) => s.id);
    other = ids.filter((s) => s.town === OTHER).map((s) => s.id);
    const users = join(dir, 'users');
    await upsertAccount(users, 'zhang', 'town', 'zhangs-password', MINE);
    await upsertAccount(users, 'oper', 'operator', 'operator-password');
    await upsertAccount(users, 'view', 'viewer', 'viewer-password');
    const pusher = await Pusher.start({ url: broker.url, store, commandKey: KEY });
    cleanups.push(() => pusher.stop());
    server = await startConsole({ store, accounts: new AccountFile(users), port: 0, pusher });
    cleanups.push(() => server.close());
    const listener = await mqtt.connectAsync(broker.url);
    cleanups.push(() => listener.endAsync());
    const fleet = new FleetTopics('stations');
    listener.on('message', (topic) => heard.push(fleet.parse(topic)!.station));
    await listener.subscribeAsync(fleet.filter('request'));
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const signedIn = async (user: string, password: string, lang: 'zh' | 'en' = 'zh') => {
    const c = new ConsoleClient(server.url);
    c.jar.set('sa_lang', lang);
    expect((await c.login(user, password)).status).toBe(303);
    return c;
  };
  const refusedAsOtherTown = async (res: Response, text = TOWN_REFUSED_ZH) => {
    expect(res.status).toBe(403);
    expect(await res.text()).toContain(text);
  };
  const pushFields = async (c: ConsoleClient, target: Record<string, string>): Promise<Record<string, string | string[]>> => ({
    _csrf: await c.csrf('/schedules'),
    ...target,
    mode: 'set',
    id: 'evening',
    days: ['2'],
    time: '20:00',
    duration: '45',
    enabled: 'on',
    step_0: 'projector-1|power|on',
  });
  /** A push as a browser makes it: the form (its review), then the confirmation that signs; a refused review is the answer. */
  const push = async (c: ConsoleClient, target: Record<string, string>) => {
    const fields = await pushFields(c, target);
    const review = await c.post('/schedules', fields);
    if (review.status !== 200) return review;
    const digest = /name="review" value="([0-9a-f]{32})"/.exec(await review.text())?.[1];
    expect(digest).toBeDefined();
    return c.post('/schedules', { ...fields, do: 'confirm', review: digest! });
  };

  it('has every route of the console in its table', () => {
    expect(Object.keys(PAGES).sort()).toEqual(Object.keys(ROUTE_CHECKS).sort());
    expect(mine.length).toBeGreaterThan(5);
    expect(other.length).toBeGreaterThan(5);
  });

  it('sees only its own stations on the fleet page, and is refused another town by name', async () => {
    const c = await signedIn('zhang', 'zhangs-password');
    const page = await (await c.req('/fleet')).text();
    expect(page).toContain(`data-stations="${mine.length}"`);
    for (const id of mine) expect(page).toContain(`data-station="${id}"`);
    for (const id of other) expect(page).not.toContain(id);
    expect(page).not.toContain(OTHER);
    expect(page).toContain(`zhang（乡镇账号·${MINE}）`);
    await refusedAsOtherTown(await c.req(`/fleet?town=${encodeURIComponent(OTHER)}`));
    expect((await c.req(`/fleet?town=${encodeURIComponent(MINE)}`)).status).toBe(200);
  });

  it('opens its own station pages, and is refused another town’s with the reason in Chinese and English', async () => {
    const c = await signedIn('zhang', 'zhangs-password');
    expect((await c.req(`/station?id=${mine[0]}`)).status).toBe(200);
    await refusedAsOtherTown(await c.req(`/station?id=${other[0]}`));
    expect((await c.req('/station?id=no-such-station')).status).toBe(404);
    const en = await signedIn('zhang', 'zhangs-password', 'en');
    await refusedAsOtherTown(await en.req(`/station?id=${other[0]}`), TOWN_REFUSED_EN);
    // The operator sees both towns.
    const oper = await signedIn('oper', 'operator-password');
    expect((await oper.req(`/station?id=${other[0]}`)).status).toBe(200);
  });

  it('gets the monthly table, its charts and its CSV over its own stations only', async () => {
    const c = await signedIn('zhang', 'zhangs-password');
    const page = await (await c.req('/monthly')).text();
    expect(page).toContain(MINE);
    expect(page).not.toContain(OTHER);
    for (const id of other) expect(page).not.toContain(id);
    const csv = await (await c.req('/monthly.csv')).text();
    const lines = csv.trim().split('\n').slice(1);
    expect(lines.filter((l) => l.includes(',站点,')).length).toBe(mine.length);
    expect(csv).not.toContain(OTHER);
    // The total is the town's own: the sum of its station rows.
    const sessions = (l: string) => Number(l.split(',')[5]);
    const total = lines.find((l) => l.includes(',合计,'))!;
    const townRow = lines.find((l) => l.includes(`,乡镇,${MINE},`))!;
    expect(sessions(total)).toBe(lines.filter((l) => l.includes(',站点,')).reduce((n, l) => n + sessions(l), 0));
    expect(sessions(total)).toBe(sessions(townRow));
    const all = await (await (await signedIn('oper', 'operator-password')).req('/monthly.csv')).text();
    expect(all).toContain(OTHER);
    await refusedAsOtherTown(await c.req(`/monthly?town=${encodeURIComponent(OTHER)}`));
    await refusedAsOtherTown(await c.req(`/monthly.csv?town=${encodeURIComponent(OTHER)}`));
  });

  it('gets the monthly 通报 (.xlsx and print page) over its own stations only, and is refused another town', async () => {
    const c = await signedIn('zhang', 'zhangs-password');
    const print = await c.req('/monthly/print');
    expect(print.status).toBe(200);
    const page = await print.text();
    expect(page).toContain(MINE);
    expect(page).not.toContain(OTHER);
    for (const id of other) expect(page).not.toContain(id);
    const xlsx = await c.req('/monthly.xlsx');
    expect(xlsx.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(await xlsx.arrayBuffer());
    const cells: string[] = [];
    wb.eachSheet((ws) => ws.eachRow((row) => row.eachCell((cell) => void cells.push(cell.text))));
    const text = cells.join('\n');
    expect(text).toContain(MINE);
    expect(text).not.toContain(OTHER);
    for (const id of other) expect(text).not.toContain(id);
    await refusedAsOtherTown(await c.req(`/monthly/print?town=${encodeURIComponent(OTHER)}`));
    await refusedAsOtherTown(await c.req(`/monthly.xlsx?town=${encodeURIComponent(OTHER)}`));
    expect((await c.req(`/monthly/print?town=${encodeURIComponent(MINE)}`)).status).toBe(200);
    // The operator's holds both towns.
    expect(await (await (await signedIn('oper', 'operator-password')).req('/monthly/print')).text()).toContain(OTHER);
  });

  it('acknowledges and clears the visit items of its own stations, is refused another town’s, and each action is in the audit log', async () => {
    // The operator's fleet page judges every station (the lifecycle pass), so both towns have items open.
    const oper = await signedIn('oper', 'operator-password');
    expect((await oper.req('/fleet')).status).toBe(200);
    const open = (await store.liveVisits()).filter((v) => v.cleared_at === null);
    const theirs = open.find((v) => other.includes(v.station_id));
    const ours = open.find((v) => mine.includes(v.station_id));
    expect(theirs).toBeDefined();
    expect(ours).toBeDefined();
    const c = await signedIn('zhang', 'zhangs-password');
    expect(await (await c.req(`/station?id=${ours!.station_id}`)).text()).toContain('action="/visit"');
    const csrf = await c.csrf('/fleet');
    const form = (v: VisitRow, over: Record<string, string> = {}) => ({ _csrf: csrf, station: v.station_id, id: String(v.id), do: 'ack', note: '明早去', back: '/fleet', ...over });

    const before = JSON.stringify(await store.liveVisits(theirs!.station_id));
    await refusedAsOtherTown(await c.post('/visit', form(theirs!)));
    await refusedAsOtherTown(await c.post('/visit', form(theirs!, { do: 'clear', note: '' })));
    // Its own station named with the other town's item: not that station's item (409).
    expect((await c.post('/visit', form(theirs!, { station: ours!.station_id }))).status).toBe(409);
    expect(JSON.stringify(await store.liveVisits(theirs!.station_id))).toBe(before);
    // A viewer has no buttons and its POST is refused.
    const view = await signedIn('view', 'viewer-password');
    expect(await (await view.req(`/station?id=${ours!.station_id}`)).text()).not.toContain('action="/visit"');
    expect((await view.post('/visit', form(ours!, { _csrf: await view.csrf('/fleet') }))).status).toBe(403);
    expect(await store.countAudit({ kinds: ['visit_ack', 'visit_clear'] })).toBe(0);

    expect((await c.post('/visit', form(ours!))).status).toBe(303);
    expect((await store.liveVisits(ours!.station_id)).find((v) => v.id === ours!.id)).toMatchObject({ acked_by: 'zhang', note: '明早去', cleared_at: null });
    expect((await c.post('/visit', form(ours!, { do: 'clear', note: '' }))).status).toBe(303);
    expect((await store.visitHistory(ours!.station_id, 10)).find((v) => v.id === ours!.id)).toMatchObject({ cleared_by: 'zhang' });
    const entries = await store.auditLog({ kinds: ['visit_ack', 'visit_clear'], limit: 10, offset: 0 });
    expect(entries.map((r) => [r.kind, r.actor, r.target])).toEqual([
      ['visit_clear', 'zhang', `station:${ours!.station_id}`],
      ['visit_ack', 'zhang', `station:${ours!.station_id}`],
    ]);
    expect(JSON.parse(entries[1]!.detail!)).toEqual({ station: ours!.station_id, visit: ours!.id, kind: ours!.kind, note: '明早去' });
    expect(JSON.parse(entries[0]!.detail!)).toEqual({ station: ours!.station_id, visit: ours!.id, kind: ours!.kind });
  });

  it('is refused a push naming another town or its station before anything is signed, and pushes to its own town', async () => {
    const c = await signedIn('zhang', 'zhangs-password');
    const page = await (await c.req('/schedules')).text();
    expect(page).toContain('id="pick"');
    expect(page).not.toContain(OTHER);
    for (const id of other) expect(page).not.toContain(id);
    // "All stations" offered and composed is all of its own.
    const all = await (await c.req('/schedules?target=all')).text();
    expect(all).toContain('id="compose"');
    expect(all).toContain(`全部 ${mine.length} 个站点`);
    expect(all).not.toContain(OTHER);
    // Another town, or its station, named in the address: refused, not searched.
    await refusedAsOtherTown(await c.req(`/schedules?target=town&town=${encodeURIComponent(OTHER)}`));
    await refusedAsOtherTown(await c.req(`/schedules?target=station&station=${other[0]}`));
    // A village name both towns have (the seed names each town's villages alike) is its own town's station.
    const otherName = (await store.station(other[0]!))!.name!;
    const namesake = (await store.stations()).find((r) => r.town === MINE && r.name === otherName);
    expect(namesake).toBeDefined();
    const byName = await c.req(`/schedules?target=station&station=${encodeURIComponent(otherName)}`);
    expect(byName.status).toBe(200);
    const composed = await byName.text();
    expect(composed).toContain(`name="station" value="${namesake!.station_id}"`);
    expect(composed).not.toContain(other[0]!);
    const before = heard.length;
    await refusedAsOtherTown(await push(c, { target: 'station', station: other[0]! }));
    await refusedAsOtherTown(await push(c, { target: 'town', town: OTHER }));
    // A confirmation forged from its own reviewed form, its station swapped for another town's: refused
    // before anything is signed (the digest is checked only after the towns).
    const own = await pushFields(c, { target: 'station', station: mine[0]! });
    const confirmed = await c.confirmed(own);
    await refusedAsOtherTown(await c.post('/schedules', { ...confirmed, station: other[0]! }));
    await refusedAsOtherTown(await c.post('/schedules', { ...confirmed, target: 'town', town: OTHER }));
    expect(heard.length).toBe(before);
    expect(await store.countAudit({ kinds: ['push'] })).toBe(0);

    // The groups the collector wrote from its notify file: the county's and this town's.
    await store.notify.setNotifyTargets(
      [
        { id: 'county', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***', towns: 'all', lang: 'zh' },
        { id: 'mine', kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***', towns: [MINE], lang: 'zh' },
      ],
      Date.now(),
    );
    // "All stations" is all of its own; its own station and town go through.
    for (const target of [{ target: 'all' }, { target: 'town', town: MINE }, { target: 'station', station: mine[1]! }] as Array<Record<string, string>>) {
      const res = await push(c, target);
      expect(res.status).toBe(303);
      const id = /^\/push\?id=([0-9A-Z]{26})$/.exec(res.headers.get('location')!)![1]!;
      const rows = await store.push(id);
      expect(rows.length).toBe(target.target === 'station' ? 1 : mine.length);
      for (const r of rows) expect(mine).toContain(r.station_id);
    }
    await waitFor(() => heard.length === before + 2 * mine.length + 1, 10_000);
    expect(heard.slice(before).every((s) => mine.includes(s))).toBe(true);
    // Each push is in the audit log once (its review was not a push), with its target and content.
    const pushes = await store.auditLog({ kinds: ['push'], limit: 10, offset: 0 });
    expect(pushes.map((r) => [r.actor, r.target])).toEqual([
      ['zhang', `station:${mine[1]}`],
      ['zhang', `town:${MINE}`],
      ['zhang', 'all:'],
    ]);
    expect(JSON.parse(pushes[0]!.detail!)).toMatchObject({ action: 'schedule.set', stations: 1, args: { schedule: { id: 'evening', cron: '0 20 * * 2' } } });
    // The groups hear of its "all" and of its town as pushes to its town (never "the whole county"), and
    // nothing of the push to one station.
    const told = (await store.notify.notifyQueued(100)).map((i) => [i.target, i.notice.kind, i.notice.town, i.notice.detail?.['stations']]);
    expect(told).toEqual([
      ['county', 'schedule_pushed', MINE, mine.length],
      ['mine', 'schedule_pushed', MINE, mine.length],
      ['county', 'schedule_pushed', MINE, mine.length],
      ['mine', 'schedule_pushed', MINE, mine.length],
    ]);
  });

  it('follows only its own stations’ answers to a county-wide push, and is refused another town’s push', async () => {
    const oper = await signedIn('oper', 'operator-password');
    const ids: string[] = [];
    for (const target of [{ target: 'all' }, { target: 'town', town: OTHER }] as Array<Record<string, string>>) {
      const res = await push(oper, target);
      expect(res.status).toBe(303);
      ids.push(/id=([0-9A-Z]{26})$/.exec(res.headers.get('location')!)![1]!);
    }
    const c = await signedIn('zhang', 'zhangs-password');
    const json = (await (await c.req(`/push.json?id=${ids[0]}`)).json()) as { pending: number; rows: Array<{ station: string }> };
    expect(json.pending).toBe(mine.length);
    expect(json.rows.map((r) => r.station).sort()).toEqual([...mine].sort());
    const page = await (await c.req(`/push?id=${ids[0]}`)).text();
    for (const id of other) expect(page).not.toContain(id);
    await refusedAsOtherTown(await c.req(`/push?id=${ids[1]}`));
    const refused = await c.req(`/push.json?id=${ids[1]}`);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: 'error.other_town', message: TOWN_REFUSED_ZH });
    // Its recent pushes: the county-wide one counted over its stations, the other town's not at all.
    const schedules = await (await c.req('/schedules')).text();
    expect(schedules).toContain(`/push?id=${ids[0]}`);
    expect(schedules).not.toContain(`/push?id=${ids[1]}`);
    const recent = await store.recentPushes(5, [MINE]);
    expect(recent.find((p) => p.push_id === ids[0])?.stations).toBe(mine.length);
    expect(recent.find((p) => p.push_id === ids[1])).toBeUndefined();
    expect((await store.recentPushes(5)).find((p) => p.push_id === ids[0])?.stations).toBe(mine.length + other.length);
  });

  it('keeps the notifications page from a town account (every town’s groups and history are on it), and gives the county’s accounts theirs', async () => {
    const c = await signedIn('zhang', 'zhangs-password');
    expect(await (await c.req('/fleet')).text()).not.toContain('href="/notify"');
    expect((await c.req('/notify')).status).toBe(403);
    const queued = (await store.notify.notifyQueued(100)).length;
    expect((await c.post('/notify/test', { _csrf: await c.csrf('/fleet'), target: 'county' })).status).toBe(403);
    expect((await store.notify.notifyQueued(100)).length).toBe(queued);
    // A viewer reads the history, an operator everything.
    const view = await (await (await signedIn('view', 'viewer-password')).req('/notify')).text();
    expect(view).toContain('id="viewer-note"');
    expect(view).not.toContain('action="/notify/test"');
    expect((await (await signedIn('oper', 'operator-password')).req('/notify')).status).toBe(200);
  });

  it('keeps the accounts and audit pages to admins: town, operator and viewer accounts are refused', async () => {
    for (const [user, password] of [
      ['zhang', 'zhangs-password'],
      ['oper', 'operator-password'],
      ['view', 'viewer-password'],
    ] as const) {
      const c = await signedIn(user, password);
      expect(await (await c.req('/fleet')).text()).not.toContain('href="/accounts"');
      for (const path of ['/accounts', '/accounts/edit?name=oper', '/accounts/remove?name=oper', '/audit', '/audit.csv']) expect((await c.req(path)).status, path).toBe(403);
      const csrf = await c.csrf('/fleet');
      for (const path of ['/accounts/add', '/accounts/role', '/accounts/password', '/accounts/remove']) {
        const res = await c.post(path, { _csrf: csrf, name: 'oper', role: 'admin', password: 'a-very-long-password', password2: 'a-very-long-password', confirm: 'yes' });
        expect(res.status, path).toBe(403);
      }
    }
    // A viewer still cannot push at all.
    const view = await signedIn('view', 'viewer-password');
    const res = await push(view, { target: 'station', station: mine[0]! });
    expect(res.status).toBe(403);
  });
});
