/** The simulator table entries for amplifiers, LED and set-top boxes start, describe themselves and stop. */
import { afterEach, describe, expect, it } from 'vitest';
import { findSimulator } from '../../../scripts/sims/index.js';
import type { RunningSim } from '../../../scripts/sims/shared.js';
import { PtyPair } from '../../../scripts/lib/kit/index.js';

const running: RunningSim[] = [];
let pty: PtyPair | undefined;
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
  await pty?.stop();
  pty = undefined;
});

const flags = (o: Record<string, string>) => new Map(Object.entries(o));

describe('station simulator entries', () => {
  it('TCP ones listen on the given port', async () => {
    for (const name of ['novastar', 'pa-amplifier', 'power-sequencer']) {
      const r = await findSimulator(name)!.start(flags({ port: '0' }));
      running.push(r);
      expect(r.describe).toMatch(/127\.0\.0\.1:\d+/);
    }
    const m = await findSimulator('mediamtx')!.start(flags({ port: '0', paths: 'stb=publishing', legacy: 'true' }));
    running.push(m);
    const url = /http:\/\/\S+/.exec(m.describe)![0];
    const body = (await (await fetch(`${url}/v3/paths/get/stb`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'stb', ready: true });
  });

  it('serial ones attach to a PTY; bad flags are refused', async () => {
    pty = await PtyPair.start();
    const r = await findSimulator('modbus-relay')!.start(flags({ serial: pty.b, units: '1,2', silent: '2' }));
    running.push(r);
    expect(r.describe).toBe(`modbus relay units 1, 2 on serial ${pty.b}`);
    await expect(findSimulator('modbus-relay')!.start(flags({}))).rejects.toThrow(/--serial/);
    await expect(findSimulator('modbus-relay')!.start(flags({ serial: pty.b, units: '300' }))).rejects.toThrow(/unit id/);
    await expect(findSimulator('mediamtx')!.start(flags({ port: '0', paths: 'x=dancing' }))).rejects.toThrow(/unknown state/);
  });
});
