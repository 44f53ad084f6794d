/**
 * The cec driver running the fake cec-client (scripts/sims/bin/cec-client, first on PATH) as a real
 * child process: power status, on/standby with the transition states, no adapter, no cec-client at all.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CecDriver, parsePowerStatus } from '../../../drivers/cec/driver.js';
import { FakeCec } from '../../../scripts/sims/fake-cec-client.js';
import { driverContext } from './context.js';

const fakes: FakeCec[] = [];
const drivers: CecDriver[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const d of drivers.splice(0)) await d.close();
  for (const f of fakes.splice(0)) f.cleanup();
});

function setup(extra: Record<string, unknown> = {}, tuning: ConstructorParameters<typeof CecDriver>[1] = {}) {
  const fake = new FakeCec();
  fakes.push(fake);
  const cfg = { id: 'stb', kind: 'settopbox', driver: 'cec', poll_s: 1, offline_warn_min: 10, logical_address: 4, ...extra } as never;
  const d = new CecDriver(driverContext(cfg), { env: fake.env(), timeoutMs: 3000, ...tuning });
  drivers.push(d);
  return { fake, d };
}

describe('cec driver with the fake cec-client', () => {
  it('reads power, switches on and standby through the transition states', async () => {
    const { fake, d } = setup();
    fake.setAdapter(true);
    fake.setPower(4, 'standby');
    expect(await d.open()).toMatchObject({ power: 'off', errors: [] });
    expect(await d.execute({ action: 'power', value: 'on' })).toEqual({ power: 'warming' });
    expect(await d.poll()).toMatchObject({ power: 'on' });
    expect(await d.execute({ action: 'power', value: 'toggle' })).toEqual({ power: 'cooling' });
    expect(await d.poll()).toMatchObject({ power: 'off' });
    expect(fake.log()).toEqual(expect.arrayContaining(['args single=1 port=', 'cmd pow 4', 'cmd on 4', 'cmd standby 4']));
  });

  it('passes the adapter port as cec-client positional COM port', async () => {
    const { fake, d } = setup({ adapter: '/dev/ttyACM0', logical_address: 11 });
    fake.setAdapter(true, '/dev/ttyACM0');
    fake.setPower(11, 'on');
    expect(await d.poll()).toMatchObject({ power: 'on' });
    expect(fake.log()).toEqual(['args single=1 port=/dev/ttyACM0', 'cmd pow b']);
  });

  it('no adapter is one clear state, rechecked later, not a flood of cec-client runs', async () => {
    const { fake, d } = setup({}, { recheckMs: 60_000 });
    fake.setAdapter(false);
    const r1 = await d.open();
    expect(r1.power).toBe('unknown');
    expect(r1.errors).toEqual([expect.objectContaining({ code: 'cec_unavailable', text: expect.stringMatching(/autodetect FAILED/) })]);
    for (let i = 0; i < 5; i++) expect((await d.poll()).errors?.[0]?.code).toBe('cec_unavailable');
    expect(fake.log().filter((l) => l.startsWith('args'))).toHaveLength(1);
    await expect(d.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('an adapter plugged in later is found on the recheck, not before', async () => {
    // Only Date is faked: the recheck window is measured on it, while cec-client runs for real.
    vi.useFakeTimers({ toFake: ['Date'] });
    const { fake, d } = setup({}, { recheckMs: 60_000 });
    fake.setAdapter(false);
    expect((await d.poll()).errors?.[0]?.code).toBe('cec_unavailable');
    fake.setAdapter(true);
    fake.setPower(4, 'on');
    vi.setSystemTime(Date.now() + 59_000);
    expect((await d.poll()).errors?.[0]?.code).toBe('cec_unavailable');
    vi.setSystemTime(Date.now() + 1_001);
    expect(await d.poll()).toMatchObject({ power: 'on', errors: [] });
    expect(fake.log().filter((l) => l.startsWith('args'))).toHaveLength(2);
  });

  it('a wrong adapter port and a missing cec-client are the same clear state', async () => {
    const wrong = setup({ adapter: '/dev/ttyACM9' });
    wrong.fake.setAdapter(true, '/dev/ttyACM0');
    expect((await wrong.d.poll()).errors).toEqual([expect.objectContaining({ code: 'cec_unavailable', text: expect.stringMatching(/ttyACM9 cannot be opened/) })]);
    const missing = setup({}, { command: 'cec-client-not-installed' });
    expect((await missing.d.poll()).errors).toEqual([expect.objectContaining({ code: 'cec_unavailable', text: expect.stringMatching(/not installed/) })]);
  });

  it('a hung cec-client is killed at the timeout', async () => {
    const { fake, d } = setup({}, { timeoutMs: 300 });
    fake.setAdapter(true);
    fake.setPower(4, 'on');
    fake.setDelay(5);
    const t = Date.now();
    await expect(d.poll()).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - t).toBeLessThan(2000);
  });

  it('parses every power status cec-client prints', () => {
    expect(parsePowerStatus('opening a connection to the CEC adapter...\npower status: on\n')).toBe('on');
    expect(parsePowerStatus('power status: standby')).toBe('off');
    expect(parsePowerStatus('power status: in transition from standby to on')).toBe('warming');
    expect(parsePowerStatus('power status: in transition from on to standby')).toBe('cooling');
    expect(parsePowerStatus('power status: unknown')).toBe('unknown');
    expect(parsePowerStatus('garbage')).toBeUndefined();
  });
});
