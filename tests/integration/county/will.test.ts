/**
 * The status/Will cycle with a real agent process killed by SIGKILL: the broker publishes the Last Will,
 * and the county sees `online:false` with the boot of the session that died.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusOnlineSchema, StatusWillSchema } from '../../../protocol/payloads.js';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { CountyConsumer } from './harness.js';
import { tempDir } from '../../helpers/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const OUT = join(ROOT, 'node_modules', '.cache', 'county-will-child');
const CHILD = join(OUT, 'tests', 'integration', 'county', 'fixtures', 'station-child.js');

let broker: Mosquitto;
let county: CountyConsumer;
const children: ChildProcess[] = [];

beforeAll(async () => {
  // Node 20 cannot run TypeScript: compile just the child and what it imports.
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'package.json'), '{"type":"module"}\n');
  writeFileSync(
    join(OUT, 'tsconfig.json'),
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { outDir: OUT, rootDir: ROOT, noEmitOnError: false, sourceMap: false, typeRoots: [join(ROOT, 'node_modules', '@types')] },
      files: [join(ROOT, 'tests/integration/county/fixtures/station-child.ts')],
      include: [],
    }),
  );
  rmSync(CHILD, { force: true });
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(OUT, 'tsconfig.json')], { stdio: 'pipe' });
  } catch (err) {
    // Type errors elsewhere in the tree still emit; only a missing output is fatal here (typecheck is its own step).
    if (!existsSync(CHILD)) throw err;
  }
  broker = await Mosquitto.start();
  county = await CountyConsumer.connect(broker.url);
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await county?.close();
  await broker?.dispose();
});

function startChild(dataDir: string): { proc: ChildProcess; connected: Promise<number> } {
  const proc = spawn(process.execPath, [CHILD, broker.url, dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  const connected = new Promise<number>((res, rej) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /connected (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('exit', (code) => rej(new Error(`child exited ${code}: ${out}`)));
  });
  return { proc, connected };
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return r();
    proc.once('exit', () => r());
    proc.kill('SIGKILL');
  });
}

describe('status and Last Will', () => {
  it('kill -9 of the agent: the county sees online:false with the boot of the dead session', async () => {
    const dataDir = tempDir();
    const a = startChild(dataDir);
    expect(await a.connected).toBe(1);
    const online = await county.waitFor('/status', (r) => r.payload?.['online'] === true && r.payload['boot'] === 1);
    StatusOnlineSchema.parse(online.payload);

    await killed(a.proc);
    const will = await county.waitFor('/status', (r) => r.payload?.['online'] === false && r.payload['boot'] === 1, 5_000);
    expect(StatusWillSchema.parse(will.payload)).toEqual({ v: 1, online: false, station_id: 'village-01', boot: 1 });

    // The next start is the next MQTT session: boot 2, and its Will carries 2.
    const b = startChild(dataDir);
    expect(await b.connected).toBe(2);
    await county.waitFor('/status', (r) => r.payload?.['online'] === true && r.payload['boot'] === 2);
    await killed(b.proc);
    await county.waitFor('/status', (r) => r.payload?.['online'] === false && r.payload['boot'] === 2, 5_000);

    // The Will is retained: a county service starting later sees the station offline.
    const late = await CountyConsumer.connect(broker.url);
    try {
      const st = await late.waitFor('/village-01/status', (r) => r.retain);
      expect(st.payload).toEqual({ v: 1, online: false, station_id: 'village-01', boot: 2 });
    } finally {
      await late.close();
    }
  });

  it('SIGTERM: a clean stop publishes online:false with reason agent_stop', async () => {
    const dataDir = tempDir();
    const a = startChild(dataDir);
    const boot = await a.connected;
    await county.waitFor('/status', (r) => r.payload?.['online'] === true && r.payload['boot'] === boot);
    const exited = new Promise<number | null>((r) => a.proc.once('exit', (code) => r(code)));
    a.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const bye = await county.waitFor('/status', (r) => r.payload?.['online'] === false && r.payload['reason'] === 'agent_stop');
    expect(bye.payload).toMatchObject({ boot });
  });
});
