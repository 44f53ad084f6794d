/**
 * A set-top box (net_presence) whose `playing` follows a MediaMTX stream served by the fake over real
 * HTTP: available → playing, stalled → not playing (after two still samples), gone → not playing,
 * MediaMTX down → unknown with a warning. Presence goes away and comes back on real TCP.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaMtxClient } from '../../../drivers/mediamtx/client.js';
import { NetPresenceDriver } from '../../../drivers/net-presence/driver.js';
import { MediaMtxFake } from '../../../scripts/sims/mediamtx-fake.js';
import { freePort } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

let fake: MediaMtxFake | undefined;
let box: Server | undefined;
afterEach(async () => {
  if (fake) {
    expect(fake.responseViolations).toEqual([]);
    expect(fake.requestViolations).toEqual([]);
    await fake.close();
  }
  fake = undefined;
  if (box) await new Promise<void>((r) => box!.close(() => r()));
  box = undefined;
});

async function listen(port: number): Promise<Server> {
  const srv = createServer((s) => s.destroy());
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  return srv;
}

describe('set-top box playing from MediaMTX', () => {
  it('follows the stream: available, stalled, gone, back; and presence away and back', async () => {
    fake = new MediaMtxFake();
    await fake.start();
    const port = await freePort();
    box = await listen(port);
    const cfg = { id: 'stb', kind: 'settopbox', driver: 'net_presence', poll_s: 1, offline_warn_min: 10, host: '127.0.0.1', port, media_path: 'stb/main' } as never;
    const d = new NetPresenceDriver({ ...driverContext(cfg), media: new MediaMtxClient({ url: fake.url }) }, { timeoutMs: 300 });

    expect(await d.open()).toMatchObject({ reachable: true, power: 'on', playing: false });
    fake.setStream('stb/main', 'publishing');
    expect((await d.poll()).playing).toBeNull();
    expect(await d.poll()).toMatchObject({ playing: true, errors: [] });

    fake.setStream('stb/main', 'stalled');
    expect((await d.poll()).playing).toBe(true);
    const stalled = await d.poll();
    expect(stalled.playing).toBe(false);
    expect(stalled.errors).toEqual([expect.objectContaining({ code: 'stream_stalled' })]);

    fake.setStream('stb/main', 'publishing');
    expect((await d.poll()).playing).toBe(true);
    fake.setStream('stb/main', 'gone');
    expect(await d.poll()).toMatchObject({ playing: false, errors: [] });

    await new Promise<void>((r) => box!.close(() => r()));
    expect(await d.poll()).toMatchObject({ reachable: false, power: 'unknown', playing: false });
    box = await listen(port);
    fake.setStream('stb/main', 'publishing');
    await d.poll();
    expect(await d.poll()).toMatchObject({ reachable: true, power: 'on', playing: true });

    await fake.close();
    fake = undefined;
    const down = await d.poll();
    expect(down.playing).toBeNull();
    expect(down.errors).toEqual([expect.objectContaining({ code: 'media_unreachable', severity: 'warning' })]);
  });
});
