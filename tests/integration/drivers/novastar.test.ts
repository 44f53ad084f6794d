/**
 * novastar over real loopback TCP against the NovaStar simulator: identification, brightness write and
 * read-back, blackout and back to normal, cabinets without power, no input, split replies with garbage,
 * a silent controller and a controller going offline.
 */
import { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NovastarDriver } from '../../../drivers/novastar/driver.js';
import { encodeRequest, replyParser, REG } from '../../../drivers/novastar/codec.js';
import { NovastarSimulator } from '../../../scripts/sims/novastar.js';
import { waitFor } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

let sim: NovastarSimulator;
let port: number;
const drivers: NovastarDriver[] = [];

beforeEach(async () => {
  sim = new NovastarSimulator();
  port = await sim.start();
});
afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
  await sim.stop();
});

function driver(timeoutMs = 600): NovastarDriver {
  const cfg = { id: 'led', kind: 'led_display', driver: 'novastar', poll_s: 1, offline_warn_min: 10, host: '127.0.0.1', port } as never;
  const d = new NovastarDriver(driverContext(cfg), { timeoutMs, connectTimeoutMs: 500 });
  drivers.push(d);
  return d;
}

describe('novastar driver', () => {
  it('identifies the controller and reads brightness, blank and DVI', async () => {
    const d = driver();
    expect(await d.open()).toEqual({
      manufacturer: 'NovaStar',
      model: 'NovaStar 0x0156',
      firmware: '4.6.1.0',
      power: 'on',
      brightness: 100,
      blank: false,
      errors: [],
    });
  });

  it('sets brightness (broadcast to receiving cards) and reads it back', async () => {
    const d = driver();
    await d.open();
    expect(await d.execute({ action: 'brightness', value: 40 })).toMatchObject({ brightness: 40 });
    expect(sim.brightness).toBe(102);
    const write = sim.requests.find((r) => r.code === 1 && r.addr === REG.brightness)!;
    expect(write).toMatchObject({ dst: 0xff, port: 0xff, board: 0xffff, devType: 1 });
    expect(await d.poll()).toMatchObject({ brightness: 40 });
    await expect(d.execute({ action: 'brightness', value: 101 })).rejects.toMatchObject({ code: 'invalid_args' });
  });

  it('blackout and back to normal', async () => {
    const d = driver();
    await d.open();
    expect(await d.execute({ action: 'blank', value: true })).toMatchObject({ blank: true });
    expect(sim.displayMode).toBe(2);
    expect(await d.execute({ action: 'blank', value: false })).toMatchObject({ blank: false });
    expect(sim.displayMode).toBe(0);
    await expect(d.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: 'unsupported' });
  });

  it('cabinets without power read as off; no input signal is a warning', async () => {
    const d = driver();
    await d.open();
    sim.cabinetsOff = true;
    sim.dviSignal = false;
    const r = await d.poll();
    expect(r).toMatchObject({ power: 'off', brightness: null });
    expect(r.errors).toEqual([expect.objectContaining({ code: 'no_input_signal', severity: 'warning' })]);
  });

  it('replies split byte by byte behind garbage still parse', async () => {
    const d = driver();
    await d.open();
    sim.shaper.chunking = 'bytes';
    sim.shaper.injectGarbage(Buffer.from([0xaa, 0x00, 0x55, 0x13]));
    expect(await d.execute({ action: 'brightness', value: 60 })).toMatchObject({ brightness: 60 });
  });

  it('the simulator answers a bad checksum with ack 02', async () => {
    const s = new Socket();
    await new Promise<void>((r) => s.connect(port, '127.0.0.1', () => r()));
    const frame = encodeRequest({ serial: 9, devType: 0, addr: REG.displayMode, length: 1 });
    frame[frame.length - 1] = frame[frame.length - 1]! ^ 1;
    const parser = replyParser();
    const got: unknown[] = [];
    s.on('data', (c: Buffer) => got.push(...parser.push(c)));
    s.write(frame);
    await waitFor(() => got.length === 1, 2000);
    expect(got[0]).toMatchObject({ ack: 2, serial: 9 });
    s.destroy();
  });

  it('a silent controller times out; an offline one is a disconnect', async () => {
    const d = driver(200);
    await d.open();
    sim.silent = true;
    await expect(d.poll()).rejects.toMatchObject({ code: 'timeout' });
    sim.silent = false;
    expect(await d.poll()).toMatchObject({ power: 'on' });
    const lost: Error[] = [];
    d.onDisconnect((e) => lost.push(e));
    await sim.endpoint.unplug();
    await waitFor(() => lost.length === 1, 2000);
    await d.close();
    await expect(driver(200).open()).rejects.toMatchObject({ code: 'disconnected' });
    await sim.endpoint.replug();
    expect(await driver(200).open()).toMatchObject({ power: 'on' });
  });
});
