import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpTransport } from '../../../drivers/transport/tcp.js';
import { SerialTransport } from '../../../drivers/transport/serial.js';
import { listSerialPorts } from '../../../drivers/transport/serial-list.js';
import { FramedLink } from '../../../drivers/framed-link.js';
import { DelimiterFramer } from '../../../drivers/framing/delimiter.js';
import { freePort, waitFor, PtyPair } from '../../../scripts/lib/kit/index.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(onConn: (s: Socket) => void): Promise<{ srv: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const srv = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => srv.close(() => r(undefined)));
  });
  return { srv, port, sockets };
}

describe('TcpTransport', () => {
  it('connects, writes, receives, and closes without telling onClose', async () => {
    const { port } = await server((s) => s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
    const t = new TcpTransport({ host: '127.0.0.1', port });
    cleanups.push(() => t.close());
    const got: Buffer[] = [];
    const closes: Error[] = [];
    t.onData((d) => got.push(d));
    t.onClose((e) => closes.push(e));
    await t.open();
    expect(t.isOpen).toBe(true);
    await t.write(Buffer.from('hi'));
    await waitFor(() => Buffer.concat(got).toString() === 'echo:hi', 2000);
    await t.close();
    expect(t.isOpen).toBe(false);
    await expect(t.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'closed' });
    expect(closes).toEqual([]);
  });

  it('refused connection → disconnected; reopen works once the peer listens', async () => {
    const port = await freePort();
    const t = new TcpTransport({ host: '127.0.0.1', port, connectTimeoutMs: 500 });
    cleanups.push(() => t.close());
    await expect(t.open()).rejects.toMatchObject({ code: 'disconnected', message: expect.stringMatching(/refused/) });
    const accepted: Socket[] = [];
    const srv = createServer((s) => {
      accepted.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
    cleanups.push(() => {
      for (const s of accepted) s.destroy();
      return new Promise((r) => srv.close(() => r(undefined)));
    });
    await t.open();
    expect(t.isOpen).toBe(true);
  });

  it('peer close is reported through onClose with code disconnected', async () => {
    // Close from the server side.
    const srvSide = await server((s) => setTimeout(() => s.end(), 10));
    const t2 = new TcpTransport({ host: '127.0.0.1', port: srvSide.port });
    cleanups.push(() => t2.close());
    const closes2: Error[] = [];
    t2.onClose((e) => closes2.push(e));
    await t2.open();
    await waitFor(() => closes2.length === 1, 2000);
    expect(closes2[0]).toMatchObject({ code: 'disconnected' });
    expect(t2.isOpen).toBe(false);
    await expect(t2.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'disconnected' });
  });
});

describe('SerialTransport over a socat PTY pair', () => {
  it('talks both ways, reports unplug via onClose, reopens after replug', async () => {
    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    const agent = new SerialTransport({ path: pty.a, baudRate: 9600, presenceCheckMs: 100 });
    const device = new SerialTransport({ path: pty.b, baudRate: 9600, presenceCheckMs: 0 });
    cleanups.push(() => agent.close(), () => device.close());
    const fromDevice: Buffer[] = [];
    const fromAgent: Buffer[] = [];
    const closes: Error[] = [];
    agent.onData((d) => fromDevice.push(d));
    agent.onClose((e) => closes.push(e));
    device.onData((d) => fromAgent.push(d));
    await agent.open();
    await device.open();
    await agent.write(Buffer.from('PWR?\r'));
    await waitFor(() => Buffer.concat(fromAgent).toString() === 'PWR?\r', 2000);
    await device.write(Buffer.from('PWR=01\r:'));
    await waitFor(() => Buffer.concat(fromDevice).toString() === 'PWR=01\r:', 2000);

    await pty.unplug();
    await waitFor(() => closes.length === 1, 3000);
    expect(closes[0]).toMatchObject({ code: 'disconnected' });
    expect(agent.isOpen).toBe(false);
    await expect(agent.write(Buffer.from('x'))).rejects.toMatchObject({ code: 'disconnected' });
    await agent.close();
    await expect(agent.open()).rejects.toMatchObject({ code: 'not_found' });

    await pty.replug();
    await device.close();
    await device.open();
    await agent.open();
    fromAgent.length = 0;
    await agent.write(Buffer.from('\r'));
    await waitFor(() => Buffer.concat(fromAgent).toString() === '\r', 2000);
  });

  it('a second opener gets busy (cannot lock port); close releases the lock', async () => {
    const pty = await PtyPair.start();
    cleanups.push(() => pty.stop());
    const first = new SerialTransport({ path: pty.a });
    const second = new SerialTransport({ path: pty.a });
    cleanups.push(() => first.close(), () => second.close());
    await first.open();
    await expect(second.open()).rejects.toMatchObject({ code: 'busy' });
    await first.close();
    await second.open();
    expect(second.isOpen).toBe(true);
  });

  it('a missing path is not_found', async () => {
    const t = new SerialTransport({ path: '/dev/serial/by-id/usb-nothing-here' });
    await expect(t.open()).rejects.toMatchObject({ code: 'not_found', retryable: true });
  });
});

describe('FramedLink over TCP', () => {
  it('request/response with split replies, stale replies skipped, disconnect reported', async () => {
    const srv = await server((s) =>
      s.on('data', (d) => {
        const cmd = d.toString().trim();
        s.write('STALE=1\r');
        const reply = `${cmd}=ok\r`;
        let i = 0;
        const tick = setInterval(() => {
          if (i >= reply.length || s.destroyed) return clearInterval(tick);
          s.write(reply[i++]!);
        }, 1);
      }),
    );
    const link = new FramedLink({
      transport: new TcpTransport({ host: '127.0.0.1', port: srv.port }),
      framer: () => new DelimiterFramer({ delimiter: '\r', maxLength: 64 }),
    });
    cleanups.push(() => link.close());
    const lost: Error[] = [];
    link.onDisconnect((e) => lost.push(e));
    await link.open();
    const ask = (cmd: string): Promise<string> =>
      link.request({
        data: Buffer.from(`${cmd}\r`),
        timeoutMs: 1000,
        match: (f) => (f.toString().startsWith(`${cmd}=`) ? f.toString().slice(cmd.length + 1) : undefined),
      });
    expect(await Promise.all([ask('A'), ask('B'), ask('C')])).toEqual(['ok', 'ok', 'ok']);
    await expect(link.request({ data: Buffer.from('X\r'), timeoutMs: 50, match: () => undefined })).rejects.toMatchObject({ code: 'timeout' });
    for (const s of srv.sockets) s.destroy();
    await waitFor(() => lost.length === 1, 2000);
    await expect(ask('D')).rejects.toMatchObject({ code: 'disconnected' });
    await link.close();
    await link.open();
    expect(await ask('E')).toBe('ok');
  });

  it('the stop signal ends the request under way and those waiting with aborted, and refuses new ones', async () => {
    // A device that hears everything and answers nothing within the request's (long) timeout.
    const heard: string[] = [];
    const srv = await server((s) => s.on('data', (d) => heard.push(d.toString())));
    const stop = new AbortController();
    const link = new FramedLink({
      transport: new TcpTransport({ host: '127.0.0.1', port: srv.port }),
      framer: () => new DelimiterFramer({ delimiter: '\r', maxLength: 64 }),
      signal: stop.signal,
    });
    cleanups.push(() => link.close());
    const lost: Error[] = [];
    link.onDisconnect((e) => lost.push(e));
    await link.open();
    const ask = (cmd: string) => link.request({ data: Buffer.from(`${cmd}\r`), timeoutMs: 60_000, match: () => undefined });
    const first = ask('SLOW');
    const second = ask('NEXT');
    await waitFor(() => heard.join('').includes('SLOW'), 2000);
    stop.abort();
    await expect(first).rejects.toMatchObject({ code: 'aborted' });
    await expect(second).rejects.toMatchObject({ code: 'aborted' });
    await expect(ask('AFTER')).rejects.toMatchObject({ code: 'aborted' });
    await expect(link.open()).rejects.toMatchObject({ code: 'aborted' });
    // Stopping is not losing the device.
    expect(lost).toEqual([]);
    expect(heard.join('')).not.toContain('NEXT');
  });
});

describe('listSerialPorts without udevadm', () => {
  it('reads by-id / by-path links and USB ids from sysfs', async () => {
    const root = await mkdtemp(join(tmpdir(), 'serial-list-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const dev = join(root, 'dev');
    const sys = join(root, 'sys');
    await mkdir(join(dev, 'serial', 'by-id'), { recursive: true });
    await mkdir(join(dev, 'serial', 'by-path'), { recursive: true });
    await writeFile(join(dev, 'ttyUSB0'), '');
    await symlink('../../ttyUSB0', join(dev, 'serial', 'by-id', 'usb-FTDI_FT232R_USB_UART_A10KZ1-if00-port0'));
    await symlink('../../ttyUSB0', join(dev, 'serial', 'by-path', 'pci-0000:00:14.0-usb-0:2:1.0-port0'));
    // sysfs: /sys/devices/.../usb1/1-2/1-2:1.0/ttyUSB0 with idVendor on 1-2, tty class link to it.
    const usbDev = join(sys, 'devices', 'pci0000:00', 'usb1', '1-2');
    const ttyDev = join(usbDev, '1-2:1.0', 'ttyUSB0');
    await mkdir(ttyDev, { recursive: true });
    await writeFile(join(usbDev, 'idVendor'), '0403\n');
    await writeFile(join(usbDev, 'idProduct'), '6001\n');
    await writeFile(join(usbDev, 'serial'), 'A10KZ1\n');
    await writeFile(join(usbDev, 'manufacturer'), 'FTDI\n');
    await writeFile(join(usbDev, 'product'), 'FT232R USB UART\n');
    await mkdir(join(sys, 'bus', 'usb-serial', 'drivers', 'ftdi_sio'), { recursive: true });
    await symlink(join(sys, 'bus', 'usb-serial', 'drivers', 'ftdi_sio'), join(ttyDev, 'driver'));
    // A phantom 8250 UART (type 0) that must not be listed, and a virtual tty without device.
    const phantom = join(sys, 'devices', 'platform', 'serial8250', 'tty', 'ttyS3');
    await mkdir(phantom, { recursive: true });
    await mkdir(join(sys, 'bus', 'platform', 'drivers', 'serial8250'), { recursive: true });
    await symlink(join(sys, 'bus', 'platform', 'drivers', 'serial8250'), join(phantom, 'driver'));
    await mkdir(join(sys, 'class', 'tty', 'ttyUSB0'), { recursive: true });
    await symlink(ttyDev, join(sys, 'class', 'tty', 'ttyUSB0', 'device'));
    await mkdir(join(sys, 'class', 'tty', 'ttyS3'), { recursive: true });
    await symlink(phantom, join(sys, 'class', 'tty', 'ttyS3', 'device'));
    await writeFile(join(sys, 'class', 'tty', 'ttyS3', 'type'), '0\n');
    await mkdir(join(sys, 'class', 'tty', 'tty1'), { recursive: true });

    const ports = await listSerialPorts({ devRoot: dev, sysRoot: sys, useUdev: false });
    expect(ports).toEqual([
      {
        path: join(dev, 'ttyUSB0'),
        by_id: [join(dev, 'serial', 'by-id', 'usb-FTDI_FT232R_USB_UART_A10KZ1-if00-port0')],
        by_path: [join(dev, 'serial', 'by-path', 'pci-0000:00:14.0-usb-0:2:1.0-port0')],
        vendor_id: '0403',
        product_id: '6001',
        serial_number: 'A10KZ1',
        manufacturer: 'FTDI',
        product: 'FT232R USB UART',
        driver: 'ftdi_sio',
      },
    ]);
  });

  it('on this machine (no udevadm) it resolves instead of rejecting', async () => {
    await expect(listSerialPorts()).resolves.toBeInstanceOf(Array);
  });
});
