import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PjlinkDriver, type PjlinkConfig } from '../../../drivers/pjlink/driver.js';
import { PjlinkSimulator, type PjlinkSimOptions } from '../../../scripts/sims/pjlink.js';
import { waitFor } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(simOpts: PjlinkSimOptions = {}, password?: string) {
  const sim = new PjlinkSimulator({ warmupMs: 300, cooldownMs: 300, ...simOpts });
  const port = await sim.start();
  cleanups.push(() => sim.stop());
  const config: PjlinkConfig = { id: 'proj', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port, poll_s: 1, offline_warn_min: 10 };
  if (password !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'pjlink-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    config.password_file = join(dir, 'password');
    await writeFile(config.password_file, `${password}\n`);
  }
  const driver = new PjlinkDriver(driverContext(config), { timeoutMs: 400, idleCloseMs: 5000 });
  cleanups.push(() => driver.close());
  return { sim, driver };
}

describe('PJLink driver against the simulator', () => {
  /** PJLink 2.02: input type 6 (INTERNAL) exists only in class 2 (higashi3939/pjlink-python PJLink.py `InputType`). */
  it('selects an internal (type 6) input with %2INPT, which %1INPT refuses', async () => {
    const { sim, driver } = await setup({ inputs: ['11', '31', '61'] });
    await driver.open();
    sim.power = 1;
    expect(await driver.execute({ action: 'input', value: '61' })).toEqual({ input: '61' });
    expect(sim.input).toBe('61');
    expect(sim.received.filter((l) => l.includes('INPT 6'))).toEqual(['%2INPT 61']);
    expect(await driver.execute({ action: 'input', value: '31' })).toEqual({ input: '31' });
    expect(sim.received.at(-1)).toBe('%1INPT 31');
  });

  it('identifies a class 2 projector and runs a power cycle through warming and cooling', async () => {
    const { sim, driver } = await setup();
    const first = await driver.open();
    expect(first).toMatchObject({
      manufacturer: 'EPSON',
      model: 'EB-X51',
      serial_number: 'X5SIM0001',
      firmware: '1.04',
      power: 'off',
      signal: false,
      errors: [],
      filter_hours: 300,
    });
    // In standby INPT/AVMT/LAMP answer ERR3: busy, not a failure — the fields are simply not reported.
    expect(first).not.toHaveProperty('input');
    expect(driver.projectorClass).toBe(2);

    expect(await driver.execute({ action: 'power', value: 'on' })).toEqual({ power: 'warming' });
    // POWR during warm-up → ERR3 → busy (retryable), with the reason.
    await expect(driver.execute({ action: 'power', value: 'off' })).rejects.toMatchObject({ code: 'busy', retryable: true, message: expect.stringMatching(/warming/) });
    // The first poll that finds the lamp lit also learns its hours (LAMP was ERR3 until then).
    const on = await waitFor(async () => {
      const r = await driver.poll();
      return r.power === 'on' ? r : undefined;
    }, 3000, 50);
    expect(on).toMatchObject({ power: 'on', input: '31', av_mute: false, lamp_hours: 1200, signal: true, errors: [] });

    expect(await driver.execute({ action: 'input', value: '11' })).toEqual({ input: '11' });
    expect(await driver.execute({ action: 'mute', value: true })).toEqual({ av_mute: true });
    expect(await driver.poll()).toMatchObject({ input: '11', av_mute: true });
    await expect(driver.execute({ action: 'input', value: '99' })).rejects.toMatchObject({ code: 'invalid_args' });
    await expect(driver.execute({ action: 'input', value: '39' })).rejects.toMatchObject({ code: 'invalid_args' }); // ERR2 from projector
    sim.signal = false;
    expect((await driver.poll()).signal).toBe(false);

    expect(await driver.execute({ action: 'power', value: 'toggle' })).toEqual({ power: 'cooling' });
    await expect(driver.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/cooling/) });
    await waitFor(async () => (await driver.poll()).power === 'off', 3000, 50);
  });

  it('authenticates with MD5 and reuses the session for a burst', async () => {
    const { sim, driver } = await setup({ password: 'JBMIAProjectorLink' }, 'JBMIAProjectorLink');
    await driver.open();
    await driver.poll();
    expect(sim.authFailures).toBe(0);
    expect(sim.connections).toBe(1);
    expect(sim.received).toContain('%1POWR ?');
  });

  it('a wrong password is a clear auth error, not a retry storm', async () => {
    const { sim, driver } = await setup({ password: 'right' }, 'wrong');
    await expect(driver.open()).rejects.toMatchObject({ code: 'auth', retryable: false });
    expect(sim.authFailures).toBe(1);
    expect(sim.connections).toBe(1);
  });

  it('a password-protected projector without password_file → auth error', async () => {
    const { driver } = await setup({ password: 'x' });
    await expect(driver.open()).rejects.toMatchObject({ code: 'auth', message: expect.stringMatching(/password_file/) });
  });

  it('tolerates a mixed-case greeting, CLSS=Class 1 and a laser (LAMP ERR1 → null)', async () => {
    const { sim, driver } = await setup({ mixedCaseGreeting: true, clssReply: 'Class 1', projectorClass: 1, laser: true, password: 'pw' }, 'pw');
    const r = await driver.open();
    expect(driver.projectorClass).toBe(1);
    expect(r).toMatchObject({ lamp_hours: null, power: 'off' });
    expect(r).not.toHaveProperty('serial_number');
    expect(sim.received.some((l) => l.startsWith('%2'))).toBe(false);
  });

  it('maps ERST to errors and ERR4 to a failure', async () => {
    const { sim, driver } = await setup();
    await driver.open();
    sim.setError('lamp', 2);
    sim.setError('temperature', 1);
    expect((await driver.poll()).errors).toEqual([
      { code: 'lamp', severity: 'error', text: 'lamp error' },
      { code: 'temperature', severity: 'warning', text: 'temperature warning' },
    ]);
  });

  it('reconnects after the projector idle disconnect, re-authenticating', async () => {
    const { sim, driver } = await setup({ idleTimeoutMs: 100, password: 'pw' }, 'pw');
    await driver.open();
    await waitFor(() => sim.openConnections === 0, 2000);
    expect((await driver.poll()).power).toBe('off');
    expect(sim.connections).toBe(2);
    expect(sim.authFailures).toBe(0);
  });

  it('handles replies split byte by byte and 1 KiB of garbage coalesced mid-stream', async () => {
    const { sim, driver } = await setup();
    sim.setPower(1);
    sim.setChunking('bytes');
    await driver.open();
    expect(await driver.poll()).toMatchObject({ power: 'on', input: '31' });
    // Garbage coalesced with the next reply in one segment.
    sim.setChunking('whole');
    sim.injectGarbage(randomBytes(1024));
    expect(await driver.poll()).toMatchObject({ power: 'on', input: '31' });
    // Replies to other commands and empty lines in front of the answer are skipped.
    sim.injectGarbage(Buffer.from('%2IRES=-\r%1XXXX=\r\r\n'));
    expect(await driver.poll()).toMatchObject({ power: 'on', av_mute: false });
  });

  it('a silent projector times out, then works again when it answers', async () => {
    const { sim, driver } = await setup();
    await driver.open();
    sim.silent = true;
    await expect(driver.poll()).rejects.toMatchObject({ code: 'timeout' });
    sim.silent = false;
    expect((await driver.poll()).power).toBe('off');
  });

  it('mains off (connection refused) → disconnected; works again after power returns', async () => {
    const { sim, driver } = await setup();
    await driver.open();
    await sim.unplug();
    await expect(driver.poll()).rejects.toMatchObject({ code: 'disconnected' });
    await sim.replug();
    expect((await driver.poll()).power).toBe('off');
  });

  it('asks lamp and filter hours once they are answered, not on every poll', async () => {
    const { sim, driver } = await setup();
    // In standby LAMP is ERR3: it is asked again on the next poll, not five minutes later.
    expect(await driver.open()).not.toHaveProperty('lamp_hours');
    sim.setPower(1);
    expect(await driver.poll()).toMatchObject({ power: 'on', lamp_hours: 1200, filter_hours: 300 });
    const later = await driver.poll();
    expect(later).toMatchObject({ power: 'on', input: '31' });
    expect(later).not.toHaveProperty('lamp_hours'); // absent: the supervisor keeps the last value
    expect(later).not.toHaveProperty('filter_hours');
    expect(sim.received.filter((l) => l.startsWith('%1LAMP')).length).toBe(2);
  });

  it('close rejects work with closed', async () => {
    const { driver } = await setup();
    await driver.open();
    await driver.close();
    await expect(driver.poll()).rejects.toMatchObject({ code: 'closed' });
    await driver.open();
    expect((await driver.poll()).power).toBe('off');
  });
});
