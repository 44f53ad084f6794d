import { afterEach, describe, expect, it } from 'vitest';
import { findSimulator, SIMULATORS } from '../../../scripts/sims/index.js';
import type { RunningSim } from '../../../scripts/sims/shared.js';
import { parseFlags } from '../../../scripts/sims/shared.js';
import { PjlinkDriver } from '../../../drivers/pjlink/driver.js';
import { NecDriver } from '../../../drivers/nec/driver.js';
import { Escvp21Driver } from '../../../drivers/escvp21/driver.js';
import { DRIVERS } from '../../../drivers/registry.js';
import { PtyPair, freePort } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function run(name: string, argv: string[]): Promise<RunningSim> {
  const sim = await findSimulator(name)!.start(parseFlags(argv));
  cleanups.push(() => sim.stop());
  return sim;
}

describe('simulator table (npm run sim)', () => {
  it('lists the projector simulators and parses flags', () => {
    expect(SIMULATORS.map((s) => s.name)).toEqual(expect.arrayContaining(['pjlink', 'escvp21', 'nec']));
    expect(parseFlags(['--port', '4352', '--password=x', '--laser'])).toEqual(
      new Map([
        ['port', '4352'],
        ['password', 'x'],
        ['laser', 'true'],
      ]),
    );
    expect(() => parseFlags(['stray'])).toThrow(/unexpected/);
  });

  it('registry maps config driver names to the projector drivers', () => {
    for (const name of ['pjlink', 'escvp21', 'nec']) expect(DRIVERS.get(name)?.kinds).toEqual(['projector']);
  });

  it('pjlink from flags, with password', async () => {
    const port = await freePort();
    const sim = await run('pjlink', ['--port', String(port), '--password', 'x', '--class', '1']);
    expect(sim.describe).toMatch(/auth on/);
    const driver = new PjlinkDriver(driverContext({ id: 'p', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port, poll_s: 1, offline_warn_min: 10 }), { timeoutMs: 500 });
    cleanups.push(() => driver.close());
    await expect(driver.open()).rejects.toMatchObject({ code: 'auth' });
  });

  it('nec on TCP and escvp21 on a PTY from flags', async () => {
    const port = await freePort();
    await run('nec', ['--port', String(port)]);
    const nec = new NecDriver(driverContext({ id: 'n', kind: 'projector', driver: 'nec', host: '127.0.0.1', port, poll_s: 1, offline_warn_min: 10 }), { timeoutMs: 500 });
    cleanups.push(() => nec.close());
    expect((await nec.open()).model).toBe('NP-M311X');

    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    await run('escvp21', ['--serial', pty.b]);
    const serial = { path: pty.a, baud_rate: 9600, data_bits: 8 as const, parity: 'none' as const, stop_bits: 1 as const };
    const epson = new Escvp21Driver(driverContext({ id: 'e', kind: 'projector', driver: 'escvp21', serial, port: 3629, poll_s: 1, offline_warn_min: 10 }), { timeoutMs: 500 });
    cleanups.push(() => epson.close());
    expect((await epson.open()).power).toBe('off');
  });

  it('bad flags are refused', async () => {
    await expect(findSimulator('pjlink')!.start(parseFlags(['--class', '3']))).rejects.toThrow(/class/);
    await expect(findSimulator('pjlink')!.start(parseFlags(['--chunking', 'odd']))).rejects.toThrow(/chunking/);
  });
});
