import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Escvp21Driver, type Escvp21Config } from '../../../drivers/escvp21/driver.js';
import { Escvp21Simulator, type Escvp21SimOptions } from '../../../scripts/sims/escvp21.js';
import { PtyPair, waitFor } from '../../../scripts/lib/kit/index.js';
import { driverContext, heapUsed } from './context.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tuning = { timeoutMs: 300, powerOnTimeoutMs: 3000, powerOffTimeoutMs: 1000, sourceTimeoutMs: 1000 };
const base = { id: 'proj', kind: 'projector' as const, driver: 'escvp21' as const, poll_s: 1, offline_warn_min: 10, port: 3629 };

/** A projector on a PTY; the driver's context counts the polls it asks for (DriverContext.requestPoll). */
async function serialSetup(simOpts: Partial<Escvp21SimOptions> = {}, extra: Partial<typeof tuning & { acceptMs: number }> = {}) {
  const pty = await PtyPair.start();
  cleanups.push(() => pty.stop());
  const sim = new Escvp21Simulator({ serialPath: pty.b, warmupMs: 300, cooldownMs: 300, ...simOpts });
  await sim.start();
  cleanups.push(() => sim.stop());
  const config: Escvp21Config = { ...base, serial: { path: pty.a, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 } };
  const polls = { count: 0 };
  const driver = new Escvp21Driver({ ...driverContext(config), requestPoll: () => polls.count++ }, { ...tuning, ...extra });
  cleanups.push(() => driver.close());
  return { pty, sim, driver, polls };
}

async function tcpSetup(simOpts: Partial<Escvp21SimOptions> = {}, password?: string) {
  const sim = new Escvp21Simulator({ tcpPort: 0, warmupMs: 300, cooldownMs: 300, ...simOpts });
  const port = await sim.start();
  cleanups.push(() => sim.stop());
  const config: Escvp21Config = { ...base, host: '127.0.0.1', port };
  if (password !== undefined) {
    const dir = await mkdtemp(join(tmpdir(), 'escvp-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    config.password_file = join(dir, 'password');
    await writeFile(config.password_file, `${password}\n`);
  }
  const driver = new Escvp21Driver(driverContext<Escvp21Config>(config), tuning);
  cleanups.push(() => driver.close());
  return { sim, driver };
}

describe('ESC/VP21 over a socat PTY', () => {
  it('power cycle: PWR ON answers after warm-up (poll says warming meanwhile), PWR OFF cools down', async () => {
    const { sim, driver } = await serialSetup();
    expect(await driver.open()).toMatchObject({ manufacturer: 'EPSON', serial_number: 'PCSIM21A0001', power: 'off', lamp_hours: 2100, errors: [], signal: false });
    const on = driver.execute({ action: 'power', value: 'on' });
    await waitFor(() => sim.power === '02', 1000, 5);
    expect(await driver.poll()).toEqual({ power: 'warming' });
    expect(await on).toEqual({ power: 'on' });
    expect(await driver.poll()).toMatchObject({ power: 'on', input: '30', av_mute: false, signal: true, errors: [] });
    expect(await driver.execute({ action: 'input', value: 'a0' })).toEqual({ input: 'A0' });
    expect(await driver.execute({ action: 'mute', value: true })).toEqual({ av_mute: true });
    expect(await driver.poll()).toMatchObject({ input: 'A0', av_mute: true });
    expect(await driver.execute({ action: 'power', value: 'off' })).toEqual({ power: 'cooling' });
    await expect(driver.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'busy', retryable: true });
    await waitFor(async () => (await driver.poll()).power === 'off', 3000, 50);
  });

  /**
   * ESC/VP21 Command User's Guide §5: the `:` after PWR ON comes only once the lamp is lit (40/70/100 s);
   * a projector that cannot start (cooling down) answers `ERR` at once. So a PWR ON not refused within
   * the accept window is reported as accepted (`warming`) and the ignition goes on in the background.
   */
  it('a long warm-up: PWR ON is accepted at once as warming, the line stays busy, a poll is asked for when the lamp is lit', async () => {
    const { sim, driver, polls } = await serialSetup({ warmupMs: 1500 }, { acceptMs: 100, powerOnTimeoutMs: 5000 });
    await driver.open();
    expect(await driver.execute({ action: 'power', value: 'on' })).toEqual({ power: 'warming' });
    expect(sim.power).toBe('02');
    expect(await driver.poll()).toEqual({ power: 'warming' });
    expect(await driver.execute({ action: 'power', value: 'on' })).toEqual({ power: 'warming' });
    await expect(driver.execute({ action: 'input', value: '30' })).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/warming up/) });
    await waitFor(() => polls.count === 1, 5000, 10);
    expect(await driver.poll()).toMatchObject({ power: 'on', errors: [] });
    // Only one PWR ON reached the projector.
    expect(sim.received.filter((l) => l === 'PWR ON')).toHaveLength(1);
  });

  it('a PWR ON refused at once (cooling down) is busy, not accepted', async () => {
    const { sim, driver } = await serialSetup({}, { acceptMs: 1000 });
    await driver.open();
    sim.setPower('03');
    await expect(driver.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/refused/) });
  });

  it('an accepted PWR ON that never completes (no colon: abnormal state) shows as power_on_failed in the next poll', async () => {
    const { sim, driver, polls } = await serialSetup({}, { acceptMs: 100, powerOnTimeoutMs: 800 });
    await driver.open();
    sim.silent = true;
    expect(await driver.execute({ action: 'power', value: 'on' })).toEqual({ power: 'warming' });
    await waitFor(() => polls.count === 1, 5000, 10);
    sim.silent = false;
    sim.injectFault('lamp');
    const r = await driver.poll();
    expect(r.errors?.map((e) => e.code)).toEqual(['power_on_failed', 'abnormal_standby', 'lamp']);
    expect((await driver.poll()).errors?.map((e) => e.code)).toEqual(['abnormal_standby', 'lamp']);
  });

  it('PWR OFF while warming is refused as busy; SOURCE in standby is busy', async () => {
    const { sim, driver } = await serialSetup();
    await driver.open();
    sim.setPower('02');
    await expect(driver.execute({ action: 'power', value: 'off' })).rejects.toMatchObject({ code: 'busy', message: expect.stringMatching(/warming/) });
    sim.setPower('00');
    await expect(driver.execute({ action: 'input', value: '30' })).rejects.toMatchObject({ code: 'busy' });
    await expect(driver.execute({ action: 'input', value: 'HDMI' })).rejects.toMatchObject({ code: 'invalid_args' });
  });

  it('maps abnormal standby and ERR? codes to errors', async () => {
    const { sim, driver } = await serialSetup();
    await driver.open();
    sim.injectFault('temperature');
    const r = await driver.poll();
    expect(r.power).toBe('off');
    expect(r.errors).toEqual([
      { code: 'abnormal_standby', severity: 'error', text: 'projector shut down abnormally (PWR=05)' },
      { code: 'temperature', severity: 'error', text: 'high internal temperature (ERR=04)' },
    ]);
  });

  it('a model without SIGNAL? reports signal null', async () => {
    const { sim, driver } = await serialSetup({ signalSupported: false });
    sim.setPower('01');
    expect(await driver.open()).toMatchObject({ power: 'on', signal: null, input: '30' });
  });

  it('replies byte by byte and 1 KiB of garbage mid-stream do not derail it', async () => {
    const { sim, driver } = await serialSetup();
    sim.setPower('01');
    sim.setChunking('bytes');
    await driver.open();
    sim.setChunking('whole');
    sim.injectGarbage(randomBytes(1024));
    expect(await driver.poll()).toMatchObject({ power: 'on', lamp_hours: 2100 });
    await sim.sendRaw(randomBytes(1024));
    expect(await driver.poll()).toMatchObject({ power: 'on', lamp_hours: 2100 });
  });

  /**
   * ESC/VP21 Command User's Guide: `PWR ON` answers a bare `:` once the lamp is lit. Noise in front of it
   * with no CR is not a reply and must not hide the colon (before, PWR ON then ran into its timeout while
   * the projector was already on).
   */
  it('line noise with no CR before the colon: PWR ON still ends at the prompt', async () => {
    const { sim, driver } = await serialSetup();
    await driver.open();
    sim.injectGarbage(Buffer.from([0x13, 0x88, 0x47, 0xfe]));
    expect(await driver.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
    expect(sim.power).toBe('01');
  });

  it('a silent projector (abnormal: no colon) times out, then answers again', async () => {
    const { sim, driver } = await serialSetup();
    await driver.open();
    sim.silent = true;
    await expect(driver.poll()).rejects.toMatchObject({ code: 'timeout' });
    sim.silent = false;
    expect((await driver.poll()).power).toBe('off');
  });

  it('adapter unplugged: onDisconnect fires, requests fail; after replug a fresh open works', async () => {
    const { pty, sim, driver } = await serialSetup();
    await driver.open();
    const lost: Error[] = [];
    driver.onDisconnect((e) => lost.push(e));
    await pty.unplug();
    await waitFor(() => lost.length === 1, 3000);
    expect(lost[0]).toMatchObject({ code: 'disconnected' });
    await expect(driver.poll()).rejects.toMatchObject({ code: 'disconnected' });
    await driver.close();
    await expect(driver.open()).rejects.toMatchObject({ code: 'not_found' });
    await pty.replug();
    await waitFor(() => sim.attached, 3000);
    expect((await driver.open()).power).toBe('off');
  });

  it('memory stays flat while garbage streams in during polls', async () => {
    const { sim, driver } = await serialSetup();
    sim.setPower('01');
    await driver.open();
    let streaming = true;
    const noise = (async () => {
      // Garbage without CR: the worst case for a line framer (one endless line).
      const chunk = Buffer.from(randomBytes(4096).map((b) => (b === 0x0d || b === 0x3a ? 0x41 : b)));
      // ~400 KB/s of noise: 35 times what a 115200 baud line can carry.
      while (streaming) {
        await sim.sendRaw(chunk);
        // Paces the noise (4 KB every 10 ms): the load under test, not a wait for anything.
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const before = heapUsed();
    let polls = 0;
    const start = Date.now();
    while (Date.now() - start < 1500) {
      const r = await driver.poll().catch(() => undefined);
      if (r?.power === 'on') polls++;
    }
    streaming = false;
    await noise;
    const growth = heapUsed() - before;
    expect(polls).toBeGreaterThan(3);
    expect(growth).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('ESC/VP.net over TCP', () => {
  it('handshakes with the 16-byte hello and runs a power cycle', async () => {
    const { driver } = await tcpSetup();
    expect(await driver.open()).toMatchObject({ power: 'off', serial_number: 'PCSIM21A0001' });
    expect(await driver.execute({ action: 'power', value: 'toggle' })).toEqual({ power: 'on' });
    expect((await driver.poll()).power).toBe('on');
  });

  it('a refused hello (password) is an auth error', async () => {
    const { driver } = await tcpSetup({ helloStatus: 0x41 });
    await expect(driver.open()).rejects.toMatchObject({ code: 'auth' });
  });

  /**
   * Projector password on ESC/VP.net: CONNECT carries a Password header (pszafer/epson_projector
   * escvpnet.py `connect()`); the projector answers 0x41 "password is required" without it and 0x43
   * "password is wrong" with a wrong one (message.py `MessageStatus`).
   */
  it('password_file: the right password connects; wrong or missing is `auth`, naming password_file', async () => {
    const ok = await tcpSetup({ password: 'proj2024' }, 'proj2024');
    expect(await ok.driver.open()).toMatchObject({ power: 'off' });
    expect(ok.sim.connects.at(-1)).toEqual({ password: 'proj2024' });

    const wrong = await tcpSetup({ password: 'proj2024' }, 'guess');
    const e1 = await wrong.driver.open().catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'auth', retryable: false });
    expect((e1 as Error).message).toMatch(/password_file/);
    expect(wrong.sim.connects.at(-1)).toEqual({ password: 'guess' });

    const missing = await tcpSetup({ password: 'proj2024' });
    const e2 = await missing.driver.open().catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'auth' });
    expect((e2 as Error).message).toMatch(/password_file/);
    expect(missing.sim.connects.at(-1)).toEqual({ password: undefined });
  });

  it('peer gone → onDisconnect and disconnected; reopens when it is back', async () => {
    const { sim, driver } = await tcpSetup();
    await driver.open();
    const lost: Error[] = [];
    driver.onDisconnect((e) => lost.push(e));
    await sim.unplug();
    await waitFor(() => lost.length === 1, 2000);
    await driver.close();
    await expect(driver.open()).rejects.toMatchObject({ code: 'disconnected' });
    await sim.replug();
    expect((await driver.open()).power).toBe('off');
  });
});
