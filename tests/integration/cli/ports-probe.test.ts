/**
 * stationctl probe against the device simulators on real socat PTYs (never a power command), and
 * stationctl ports on a udev/sysfs tree laid out like a real USB-serial adapter (no udevadm needed).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import stringWidth from 'string-width';
import { PtyPair, tempDir, removeDir } from '../../../scripts/lib/kit/index.js';
import { writeConfig, ctl } from '../../helpers/agent.js';
import { Escvp21Simulator } from '../../../scripts/sims/escvp21.js';
import { NecSimulator } from '../../../scripts/sims/nec.js';
import { ModbusRelaySimulator } from '../../../scripts/sims/modbus-relay.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function pty(): Promise<PtyPair> {
  const p = await PtyPair.start();
  cleanups.push(() => p.stop());
  return p;
}

function config(devices: unknown[] = []): string {
  const dir = tempDir('ports-');
  cleanups.push(() => removeDir(dir));
  return writeConfig(dir, { devices });
}

interface Probe {
  port: string;
  answers: Array<{ protocol: string; driver: string; baud_rate: number; model: string | null; serial_number: string | null; power: string | null; unit_id?: number }>;
  tried: unknown[];
}

describe('stationctl probe', () => {
  it('finds an Epson ESC/VP21 projector with queries only', async () => {
    const p = await pty();
    const sim = new Escvp21Simulator({ serialPath: p.b, serialNumber: 'X5SN000123' });
    await sim.start();
    cleanups.push(() => sim.stop());
    const res = await ctl(['--json', '--config', config(), 'probe', p.a, '--timeout', '1500']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Probe;
    expect(out.answers).toEqual([expect.objectContaining({ protocol: 'escvp21', baud_rate: 9600, serial_number: 'X5SN000123', power: 'off' })]);
    expect(sim.received.length).toBeGreaterThan(0);
    for (const cmd of sim.received) expect(cmd, 'only queries and the null command').toMatch(/^([A-Z]+\?)?$/);

    const zh = await ctl(['--config', config(), 'probe', p.a], { LANG: 'zh_CN.UTF-8' });
    expect(zh.stdout).toContain('应答如下');
    expect(zh.stdout).toContain('波特率');
    expect(zh.stdout).toContain('escvp21');
    for (const l of zh.stdout.split('\n')) expect(stringWidth(l), l).toBeLessThanOrEqual(80);
  });

  it('finds an NEC projector and names its model', async () => {
    const p = await pty();
    const sim = new NecSimulator({ serialPath: p.b, model: 'NP-M311X' });
    await sim.start();
    cleanups.push(() => sim.stop());
    const res = await ctl(['--json', '--config', config(), 'probe', p.a, '--timeout', '1500']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Probe;
    expect(out.answers).toEqual([expect.objectContaining({ protocol: 'nec', model: 'NP-M311X' })]);
    // Only status requests (cmd1 0x00): power on/off are 0x02.
    for (const frame of sim.received) expect(frame[0]).toBe(0x00);
  });

  it('finds a Modbus relay board at its unit id, reading coils only', async () => {
    const p = await pty();
    const sim = new ModbusRelaySimulator({ path: p.b, units: [3] });
    await sim.start();
    cleanups.push(() => sim.stop());
    const res = await ctl(['--json', '--config', config(), 'probe', p.a, '--units', '4', '--timeout', '1500']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Probe;
    expect(out.answers).toEqual([expect.objectContaining({ protocol: 'modbus_relay', unit_id: 3 })]);
    expect(sim.requests.length).toBeGreaterThan(0);
    for (const r of sim.requests) expect(r.fc).toBe(0x01);
  });

  /**
   * Several units on one RS-485 bus, each found once. Frames checked against bytes laid out as the Modbus
   * Application Protocol V1.1b3 §6.1 (Read Coils: function 01h, starting address, quantity of coils) inside
   * an RTU frame (Modbus over Serial Line V1.02 §2.5.1: address, PDU, CRC low byte first), with CRC-16/MODBUS
   * computed by an independent bitwise implementation (Python) and matching the reference vectors
   * `01 01 00 00 00 08 3D CC` (docs/reference/protocols.md §5.4) and the Modicon example
   * `11 01 00 13 00 25 0E 84`.
   */
  it('finds every unit on one Modbus bus, each once, with a progress line', async () => {
    const p = await pty();
    const sim = new ModbusRelaySimulator({ path: p.b, units: [1, 2, 5] });
    await sim.start();
    cleanups.push(() => sim.stop());
    sim.setCoil(2, 0, true);
    const res = await ctl(['--json', '--config', config(), 'probe', p.a, '--units', '1-6', '--timeout', '300']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as Probe & { answers: Array<{ detail: string }> };
    expect(out.answers.map((a) => [a.protocol, a.baud_rate, a.unit_id])).toEqual([
      ['modbus_relay', 9600, 1],
      ['modbus_relay', 9600, 2],
      ['modbus_relay', 9600, 5],
    ]);
    expect(out.answers[1]!.detail).toBe('coils 0-7 10000000');
    for (const a of out.answers) expect(a.detail).not.toMatch(/unit/);
    // Read Coils, start 0, 8 coils, to each unit in turn; nothing but reads.
    const sent = sim.frames.map((f) => f.toString('hex').toUpperCase().replace(/(..)(?!$)/g, '$1 '));
    expect(sent).toContain('01 01 00 00 00 08 3D CC');
    expect(sent).toContain('02 01 00 00 00 08 3D FF');
    expect(sent).toContain('05 01 00 00 00 08 3C 48');
    expect(sim.frames.map((f) => f[0])).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of sim.requests) expect(r.fc).toBe(0x01);

    const human = await ctl(['--config', config(), 'probe', p.a, '--units', '1-6']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).not.toMatch(/unit (\d+), unit \1/);
    expect(human.stdout).toMatch(/unit 5/);
    expect(human.stderr).toMatch(/Modbus units 1–6 at 9600 baud/);
    const zh = await ctl(['--config', config(), 'probe', p.a, '--units', '1-6'], { LANG: 'zh_CN.UTF-8' });
    expect(zh.stderr).toMatch(/Modbus 从站地址 1–6/);
    expect(zh.stdout).toContain('地址 5');

    const bad = await ctl(['--config', config(), 'probe', p.a, '--units', '0-300']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--units must be N or A-B within 1-247');
  });

  it('exits 1 when nothing answers, and 1 with a clear line for a missing port', async () => {
    const p = await pty();
    const res = await ctl(['--config', config(), 'probe', p.a, '--timeout', '100']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('Nothing answered');
    const missing = await ctl(['--config', config(), 'probe', '/dev/serial/by-id/usb-none']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such device');
  });
});

/** A /dev + /sys tree as udev and the kernel lay it out for an FTDI adapter on ttyUSB0. */
function fakeTree(root: string): { devRoot: string; sysRoot: string; byId: string } {
  const devRoot = join(root, 'dev');
  const sysRoot = join(root, 'sys');
  mkdirSync(join(devRoot, 'serial', 'by-id'), { recursive: true });
  mkdirSync(join(devRoot, 'serial', 'by-path'), { recursive: true });
  writeFileSync(join(devRoot, 'ttyUSB0'), '');
  const byId = join(devRoot, 'serial', 'by-id', 'usb-FTDI_FT232R_USB_UART_A9ABCDEF-if00-port0');
  symlinkSync('../../ttyUSB0', byId);
  symlinkSync('../../ttyUSB0', join(devRoot, 'serial', 'by-path', 'pci-0000:00:14.0-usb-0:1:1.0-port0'));
  const usbDev = join(sysRoot, 'devices', 'pci0000:00', 'usb1', '1-1');
  const ttyDev = join(usbDev, '1-1:1.0', 'ttyUSB0');
  mkdirSync(ttyDev, { recursive: true });
  mkdirSync(join(sysRoot, 'bus', 'usb-serial', 'drivers', 'ftdi_sio'), { recursive: true });
  symlinkSync(join(sysRoot, 'bus', 'usb-serial', 'drivers', 'ftdi_sio'), join(ttyDev, 'driver'));
  for (const [f, v] of Object.entries({ idVendor: '0403', idProduct: '6001', serial: 'A9ABCDEF', manufacturer: 'FTDI', product: 'FT232R USB UART' })) {
    writeFileSync(join(usbDev, f), `${v}\n`);
  }
  mkdirSync(join(sysRoot, 'class', 'tty', 'ttyUSB0'), { recursive: true });
  symlinkSync(ttyDev, join(sysRoot, 'class', 'tty', 'ttyUSB0', 'device'));
  return { devRoot, sysRoot, byId };
}

describe('stationctl ports', () => {
  it('lists by-id/by-path names and USB ids, matches configured devices through symlinks, and shows missing ports', async () => {
    const root = tempDir('devtree-');
    cleanups.push(() => removeDir(root));
    const { devRoot, sysRoot, byId } = fakeTree(root);
    const p = await pty();
    const file = config([
      { id: 'projector', kind: 'projector', driver: 'escvp21', serial: { path: byId } },
      { id: 'amp', kind: 'amplifier', driver: 'modbus_relay', serial: { path: p.a }, unit_id: 1, coil: 0 },
      { id: 'led', kind: 'led_display', driver: 'modbus_relay', serial: { path: '/dev/serial/by-id/usb-gone' }, unit_id: 2, coil: 0 },
    ]);
    const env = { STATION_AGENT_DEV_ROOT: devRoot, STATION_AGENT_SYS_ROOT: sysRoot };
    const res = await ctl(['--json', '--config', file, 'ports'], env);
    expect(res.code, res.stderr).toBe(0);
    const rows = JSON.parse(res.stdout) as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(3);
    expect(rows[0]).toEqual({
      path: join(devRoot, 'ttyUSB0'),
      by_id: [byId],
      by_path: [join(devRoot, 'serial', 'by-path', 'pci-0000:00:14.0-usb-0:1:1.0-port0')],
      vendor_id: '0403',
      product_id: '6001',
      serial_number: 'A9ABCDEF',
      manufacturer: 'FTDI',
      product: 'FT232R USB UART',
      driver: 'ftdi_sio',
      present: true,
      devices: ['projector'],
    });
    expect(rows[1]).toMatchObject({ present: true, devices: ['amp'] });
    expect(rows[2]).toMatchObject({ path: '/dev/serial/by-id/usb-gone', present: false, devices: ['led'] });

    const zh = await ctl(['--config', file, 'ports'], { ...env, LANG: 'zh_CN.UTF-8' });
    expect(zh.code).toBe(0);
    expect(zh.stdout).toContain('使用设备');
    expect(zh.stdout).toContain('0403:6001 A9ABCDEF');
    expect(zh.stdout).toContain('不存在');
    for (const l of zh.stdout.split('\n')) expect(stringWidth(l), l).toBeLessThanOrEqual(80);
  });
});
