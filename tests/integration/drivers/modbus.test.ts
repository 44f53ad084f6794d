/**
 * modbus_relay over a real socat PTY pair: an amplifier (unit 1, coil 0) and an LED display (unit 2,
 * coil 3) share one RS-485 bus, i.e. one serial port and one request queue through ctx.shared; the
 * simulator is a Modbus slave bus on the other end with fault injection.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ModbusRelayDriver } from '../../../drivers/modbus/driver.js';
import { ModbusBus, busKey } from '../../../drivers/modbus/bus.js';
import { SharedResourcePool } from '../../../drivers/shared.js';
import { ModbusRelaySimulator } from '../../../scripts/sims/modbus-relay.js';
import { PtyPair, waitFor } from '../../../scripts/lib/kit/index.js';
import { driverContext } from './context.js';

let pty: PtyPair;
let sim: ModbusRelaySimulator;
let pool: SharedResourcePool;
const drivers: ModbusRelayDriver[] = [];

beforeEach(async () => {
  pty = await PtyPair.start();
  sim = new ModbusRelaySimulator({ path: pty.b, units: [1, 2, 3] });
  await sim.start();
  pool = new SharedResourcePool();
});

afterEach(async () => {
  for (const d of drivers.splice(0)) await d.close();
  await sim.stop();
  await pty.stop();
});

function device(id: string, kind: string, unit_id: number, coil: number): ModbusRelayDriver {
  const cfg = {
    id,
    kind,
    driver: 'modbus_relay',
    poll_s: 1,
    offline_warn_min: 10,
    serial: { path: pty.a, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 },
    unit_id,
    coil,
  } as never;
  const d = new ModbusRelayDriver({ ...driverContext(cfg), shared: pool }, { timeoutMs: 400 });
  drivers.push(d);
  return d;
}

describe('modbus_relay on a shared RS-485 bus', () => {
  it('switches an amplifier and an LED display on and off, reading each coil back', async () => {
    const amp = device('amp', 'amplifier', 1, 0);
    const led = device('led', 'led_display', 2, 3);
    expect(await amp.open()).toEqual({ power: 'off' });
    expect(await led.open()).toEqual({ power: 'off' });
    expect(pool.size).toBe(1);

    expect(await amp.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
    expect(sim.coil(1, 0)).toBe(true);
    expect(sim.coil(2, 3)).toBe(false);
    expect(await led.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
    expect(sim.coil(2, 3)).toBe(true);

    // Concurrent polls and commands from both devices never overlap on the half-duplex line.
    const results = await Promise.all([
      amp.poll(),
      led.poll(),
      amp.execute({ action: 'power', value: 'off' }),
      led.poll(),
      led.execute({ action: 'power', value: 'toggle' }),
      amp.poll(),
    ]);
    expect(results.map((r) => r.power)).toEqual(['on', 'on', 'off', 'on', 'off', 'off']);
    expect(sim.badRequests).toBe(0);
    expect(sim.coil(1, 0)).toBe(false);
    expect(sim.coil(2, 3)).toBe(false);

    // A relay switched by hand (or by the board's own timer) is seen on the next poll.
    sim.setCoil(2, 3, true);
    expect(await led.poll()).toEqual({ power: 'on' });

    await amp.close();
    expect(pool.size).toBe(1);
    expect(await led.poll()).toEqual({ power: 'on' });
    await led.close();
    expect(pool.size).toBe(0);
  });

  it('a silent unit is a timeout naming the unit; the other unit keeps working', async () => {
    const amp = device('amp', 'amplifier', 1, 0);
    const led = device('led', 'led_display', 2, 3);
    await amp.open();
    await led.open();
    sim.silent.add(2);
    const err = await led.execute({ action: 'power', value: 'on' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'timeout', retryable: true, message: expect.stringMatching(/unit 2 did not answer/) });
    expect(await amp.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
    sim.silent.delete(2);
    expect(await led.poll()).toEqual({ power: 'off' });
  });

  it('a reply with a corrupted CRC is a protocol error, never a state', async () => {
    const amp = device('amp', 'amplifier', 1, 0);
    await amp.open();
    sim.setCoil(1, 0, true);
    sim.corruptCrc.add(1);
    const err = await amp.poll().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'protocol', message: expect.stringMatching(/CRC/) });
    sim.corruptCrc.delete(1);
    expect(await amp.poll()).toEqual({ power: 'on' });
  });

  it('garbage on the line before a reply is skipped', async () => {
    const amp = device('amp', 'amplifier', 1, 0);
    await amp.open();
    sim.shaper.injectGarbage(Buffer.from([0x00, 0xff, 0x13, 0x01, 0x99]));
    sim.shaper.chunking = 'bytes';
    expect(await amp.execute({ action: 'power', value: 'on' })).toEqual({ power: 'on' });
  });

  it('write multiple coils (FC 0x0F) and an exception reply', async () => {
    const bus = pool.acquire(busKey(pty.a), () => new ModbusBus({ serial: { path: pty.a, baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 }, timeoutMs: 400 }));
    try {
      await bus.value.open();
      await bus.value.writeCoils(3, 0, [true, false, true, true, false, false, false, true]);
      expect(await bus.value.readCoils(3, 0, 8)).toEqual([true, false, true, true, false, false, false, true]);
      await expect(bus.value.readCoils(3, 6, 4)).rejects.toMatchObject({ code: 'device_error', message: expect.stringMatching(/illegal data address/) });
    } finally {
      await bus.release();
    }
  });

  it('pulling the adapter tells every device on the bus; they reopen when it is back', async () => {
    const amp = device('amp', 'amplifier', 1, 0);
    const led = device('led', 'led_display', 2, 3);
    await amp.open();
    await led.open();
    const lost: string[] = [];
    amp.onDisconnect(() => lost.push('amp'));
    led.onDisconnect(() => lost.push('led'));
    await pty.unplug();
    await waitFor(() => lost.length === 2, 5000);
    expect(lost.sort()).toEqual(['amp', 'led']);
    await amp.close();
    await led.close();
    await pty.replug();
    await waitFor(() => sim.attached, 5000);
    expect(await amp.open()).toEqual({ power: 'off' });
    expect(await led.open()).toEqual({ power: 'off' });
  });
});
