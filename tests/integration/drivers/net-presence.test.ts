/**
 * net_presence over real loopback TCP: a box answering, going away (listener closed) and coming back
 * on the same port; ICMP through a `ping` found on PATH (a stand-in script in a temp dir, because the
 * test machine has no raw-socket ping) and a clear fault when there is no ping at all.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NetPresenceDriver, icmpProbe } from '../../../drivers/net-presence/driver.js';
import type { DeviceState } from '../../../drivers/types.js';
import { freePort } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listen(port: number): Promise<Server> {
  const srv = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve());
  });
  return srv;
}
const stop = (srv: Server): Promise<void> => new Promise((r) => srv.close(() => r()));

const config = (extra: Record<string, unknown>) =>
  ({ id: 'stb', kind: 'settopbox', driver: 'net_presence', poll_s: 1, offline_warn_min: 10, host: '127.0.0.1', ...extra }) as never;

describe('net_presence over TCP', () => {
  it('present, gone, back', async () => {
    const port = await freePort();
    let srv = await listen(port);
    cleanups.push(() => stop(srv));
    const d = new NetPresenceDriver(driverContext(config({ port })), { timeoutMs: 300 });
    expect(await d.open()).toMatchObject({ reachable: true, power: 'on', errors: [] });
    await stop(srv);
    expect(await d.poll()).toMatchObject({ reachable: false, power: 'unknown' });
    srv = await listen(port);
    expect(await d.poll()).toMatchObject({ reachable: true, power: 'on' });
    await expect(d.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'unsupported' });
    await d.close();
  });

  it('a host that swallows SYNs is unreachable after the timeout, not a hang', async () => {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never routed; with no network the connect fails or times out.
    const d = new NetPresenceDriver(driverContext({ ...(config({ port: 9 }) as object), host: '192.0.2.1' } as never), { timeoutMs: 200 });
    const t = Date.now();
    expect(await d.poll()).toMatchObject({ reachable: false });
    expect(Date.now() - t).toBeLessThan(1500);
  });

  it('reports playing from the projector it feeds', async () => {
    const port = await freePort();
    const srv = await listen(port);
    cleanups.push(() => stop(srv));
    const projector: Partial<DeviceState> = { id: 'proj', kind: 'projector', online: true, power: 'on', input: '31', signal: true };
    const ctx = { ...driverContext(config({ port, signal_from: 'proj', input: '31' })), peerState: (id: string) => (id === 'proj' ? (projector as DeviceState) : undefined) };
    const d = new NetPresenceDriver(ctx, { timeoutMs: 300 });
    expect(await d.poll()).toMatchObject({ reachable: true, playing: true });
    projector.signal = false;
    expect(await d.poll()).toMatchObject({ playing: false });
  });
});

describe('net_presence over ICMP', () => {
  function fakePing(exitCode: number): string {
    const dir = mkdtempSync(join(tmpdir(), 'ping-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'ping');
    // Records its argv so the test sees the exact, shell-free invocation.
    writeFileSync(file, `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\nexit ${exitCode}\n`);
    chmodSync(file, 0o755);
    return file;
  }

  it('exit 0 is reachable, exit 1 is not; argv is an array, host last', async () => {
    const up = fakePing(0);
    expect(await icmpProbe('10.1.2.3', 1000, up)).toEqual({ reachable: true });
    expect(readFileSync(join(dirname(up), 'argv'), 'utf8').split('\n').filter(Boolean)).toEqual(['-c', '1', '-W', '1', '10.1.2.3']);
    const down = fakePing(1);
    const d = new NetPresenceDriver(driverContext(config({ host: '10.1.2.3' })), { pingCommand: down });
    expect(await d.poll()).toMatchObject({ reachable: false, power: 'unknown', errors: [] });
  });

  it('no ping on the system is one clear fault, not a crash', async () => {
    const d = new NetPresenceDriver(driverContext(config({})), { pingCommand: '/nonexistent/ping' });
    const r = await d.poll();
    expect(r.reachable).toBeNull();
    expect(r.errors).toEqual([expect.objectContaining({ code: 'ping_missing', severity: 'error' })]);
  });

  it('a host that looks like an option never reaches ping', async () => {
    expect(await icmpProbe('-f', 1000, fakePing(0))).toMatchObject({ error: expect.objectContaining({ code: 'invalid_args' }) });
  });
});
