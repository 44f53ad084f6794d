/**
 * `POST /visit` over plain HTTP against a real SQLite county database (seeded through the store's write
 * path): the fleet page opens the items (the lifecycle pass), and only an operator's well-formed POST from
 * the console's own pages, with the session's form token, acknowledges or clears one — of the station it
 * names, while it is open; everything else is refused where it comes in and changes nothing.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountFile, upsertAccount } from '../../../county/console/accounts.js';
import type { ConsoleDb } from '../../../county/console/context.js';
import { startConsole, type ConsoleServer } from '../../../county/console/server.js';
import { openCollectorStore } from '../../../county/open-store.js';
import type { VisitRow } from '../../../county/visit-store.js';
import { seedConsoleDb } from '../../../scripts/console/seed.js';
import { ConsoleClient } from '../../helpers/console-client.js';
import { tempDir } from '../../helpers/temp.js';

const cleanups: Array<() => unknown> = [];
let store: ConsoleDb;
let server: ConsoleServer;

beforeAll(async () => {
  const dir = tempDir('console-visits-');
  store = await openCollectorStore(join(dir, 'county.db'));
  cleanups.push(() => store.close());
  await seedConsoleDb(store, { stations: 40, days: 3, historyHours: 1 });
  const users = join(dir, 'users');
  await upsertAccount(users, 'oper', 'operator', 'operator-password');
  await upsertAccount(users, 'view', 'viewer', 'viewer-password');
  server = await startConsole({ store, accounts: new AccountFile(users), port: 0 });
  cleanups.push(() => server.close());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const open = async (): Promise<VisitRow[]> => (await store.liveVisits()).filter((v) => v.cleared_at === null);

describe('POST /visit', () => {
  it('acknowledges and clears an open item for an operator, and refuses everything else', async () => {
    const operator = new ConsoleClient(server.url);
    await operator.login('oper', 'operator-password');
    const fleet = await (await operator.req('/fleet')).text();
    const items = await open();
    expect(items.length).toBeGreaterThan(2);
    const [first] = items;
    const second = items.find((v) => v.station_id !== first!.station_id);
    expect(second).toBeDefined();
    expect(fleet).toContain(`data-visit="${first!.id}"`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(fleet)![1]!;
    const form = (v: VisitRow, over: Record<string, string> = {}) => ({ _csrf: csrf, station: v.station_id, id: String(v.id), do: 'ack', note: '下午去', back: '/fleet?state=visit', ...over });

    // Refused where it comes in, nothing written.
    const before = JSON.stringify(await store.liveVisits());
    const viewer = new ConsoleClient(server.url);
    await viewer.login('view', 'viewer-password');
    expect((await viewer.post('/visit', form(first!, { _csrf: await viewer.csrf('/fleet') }))).status).toBe(403);
    expect((await operator.post('/visit', form(first!, { _csrf: 'x'.repeat(43) }))).status).toBe(403);
    expect((await operator.post('/visit', form(first!), { origin: 'https://evil.example' })).status).toBe(403);
    const bads: Array<Record<string, string>> = [{ do: 'delete' }, { id: '0' }, { id: '1e3' }, { id: '9'.repeat(16) }, { station: '' }, { note: 'a\u0007b' }, { note: '长'.repeat(201) }];
    for (const bad of bads) {
      expect((await operator.post('/visit', form(first!, bad))).status, JSON.stringify(bad)).toBe(400);
    }
    // Another station's id, or an id that does not exist: nothing of that station is open under it.
    expect((await operator.post('/visit', form(first!, { station: second!.station_id }))).status).toBe(409);
    // A station the county does not know (guard.ts requireStation).
    expect((await operator.post('/visit', form(first!, { station: 'someone-else' }))).status).toBe(404);
    expect((await operator.post('/visit', form(first!, { id: '999999' }))).status).toBe(409);
    expect(JSON.stringify(await store.liveVisits())).toBe(before);

    // An operator's acknowledgement, then the clear; only local places are followed back.
    const ack = await operator.post('/visit', form(first!));
    expect(ack.status).toBe(303);
    expect(ack.headers.get('location')).toBe('/fleet?state=visit');
    expect((await open()).find((v) => v.id === first!.id)).toMatchObject({ acked_by: 'oper', note: '下午去', cleared_at: null });
    const clear = await operator.post('/visit', form(first!, { do: 'clear', note: '', back: 'https://evil.example/' }));
    expect(clear.status).toBe(303);
    expect(clear.headers.get('location')).toBe(`/station?id=${encodeURIComponent(first!.station_id)}`);
    expect((await open()).some((v) => v.id === first!.id)).toBe(false);
    expect((await store.visitHistory(first!.station_id, 10)).find((v) => v.id === first!.id)).toMatchObject({ cleared_by: 'oper', acked_by: 'oper' });
    // Cleared: neither acknowledged nor cleared again; the fleet no longer lists it, and does not reopen it.
    expect((await operator.post('/visit', form(first!))).status).toBe(409);
    const after = await (await operator.req('/fleet')).text();
    expect(after).not.toContain(`data-visit="${first!.id}"`);
    expect((await open()).some((v) => v.station_id === first!.station_id && v.cause === first!.cause)).toBe(false);
  });
});
