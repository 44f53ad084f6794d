/**
 * Serial ports of this PC with their stable names, for `stationctl ports`, the inventory and re-probe.
 *
 * `SerialPort.list()` runs `udevadm info -e`, which is missing on minimal images and in containers (it
 * then rejects with ENOENT). /dev/serial/by-id, /dev/serial/by-path and /sys/class/tty/<name>/device are
 * maintained by udev and the kernel directly, so they are always read, and udevadm's answer (when it
 * exists) only adds to them.
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { SerialPort } from 'serialport';

export interface SerialPortInfo {
  /** /dev/ttyUSB0 … */
  path: string;
  /** Full /dev/serial/by-id/… links pointing at this port (stable across re-plugs and USB ports). */
  by_id: string[];
  /** Full /dev/serial/by-path/… links (stable per physical USB socket: use when two adapters share an id). */
  by_path: string[];
  /** USB ids as 4 lower-case hex digits, where the port is on USB. */
  vendor_id: string | null;
  product_id: string | null;
  serial_number: string | null;
  manufacturer: string | null;
  product: string | null;
  /** Kernel driver, e.g. ftdi_sio, ch341-uart, cdc_acm, pl2303. */
  driver: string | null;
}

export interface ListSerialPortsOptions {
  /** Roots, for tests: default '/dev' and '/sys'. */
  devRoot?: string;
  sysRoot?: string;
  /** Ask udevadm through SerialPort.list() as well (default true). */
  useUdev?: boolean;
}

// The same families node-serialport keeps (bindings-cpp linux-list.ts), plus ttyS only when it is real.
const TTY_NAME = /^(ttyS|ttyWCH|ttyACM|ttyUSB|ttyAMA|ttyMFD|ttyO|ttyXRUSB|rfcomm)\d+$/;

async function readText(path: string): Promise<string | null> {
  try {
    return (await readFile(path, 'utf8')).trim() || null;
  } catch {
    return null;
  }
}

async function linksIn(dir: string): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return map;
  }
  for (const name of names.sort()) {
    const link = join(dir, name);
    try {
      const target = resolve(dirname(link), await readlink(link));
      const list = map.get(target) ?? [];
      list.push(link);
      map.set(target, list);
    } catch {
      // not a symlink or vanished meanwhile: ignore
    }
  }
  return map;
}

interface SysInfo {
  vendor_id: string | null;
  product_id: string | null;
  serial_number: string | null;
  manufacturer: string | null;
  product: string | null;
  driver: string | null;
}

async function sysInfo(sysRoot: string, name: string): Promise<SysInfo | null> {
  const ttyDir = join(sysRoot, 'class', 'tty', name);
  let deviceDir: string;
  try {
    deviceDir = await realpath(join(ttyDir, 'device'));
  } catch {
    return null; // no device link: a virtual tty (console, pts)
  }
  let driver: string | null = null;
  try {
    driver = basename(await readlink(join(deviceDir, 'driver')));
  } catch {
    driver = null;
  }
  // The 8250 driver registers ttyS0..31 whether or not a UART exists; `type` 0 means no hardware.
  if (driver === 'serial8250' && (await readText(join(ttyDir, 'type'))) === '0') return null;
  const info: SysInfo = { vendor_id: null, product_id: null, serial_number: null, manufacturer: null, product: null, driver };
  // USB: the interface dir (ttyACM) or its child (ttyUSB) lies below the USB device dir holding idVendor.
  let dir = deviceDir;
  for (let i = 0; i < 4 && dir !== dirname(dir); i++, dir = dirname(dir)) {
    const vid = await readText(join(dir, 'idVendor'));
    if (vid) {
      info.vendor_id = vid.toLowerCase();
      info.product_id = (await readText(join(dir, 'idProduct')))?.toLowerCase() ?? null;
      info.serial_number = await readText(join(dir, 'serial'));
      info.manufacturer = await readText(join(dir, 'manufacturer'));
      info.product = await readText(join(dir, 'product'));
      break;
    }
  }
  return info;
}

export async function listSerialPorts(options: ListSerialPortsOptions = {}): Promise<SerialPortInfo[]> {
  const devRoot = options.devRoot ?? '/dev';
  const sysRoot = options.sysRoot ?? '/sys';
  const [byId, byPath] = await Promise.all([linksIn(join(devRoot, 'serial', 'by-id')), linksIn(join(devRoot, 'serial', 'by-path'))]);
  const ports = new Map<string, SerialPortInfo>();
  const add = (path: string, info: Partial<SerialPortInfo>): void => {
    const cur = ports.get(path) ?? {
      path,
      by_id: byId.get(path) ?? [],
      by_path: byPath.get(path) ?? [],
      vendor_id: null,
      product_id: null,
      serial_number: null,
      manufacturer: null,
      product: null,
      driver: null,
    };
    for (const [k, v] of Object.entries(info)) {
      const key = k as keyof SerialPortInfo;
      if (v !== null && v !== undefined && (cur[key] === null || (Array.isArray(cur[key]) && (cur[key] as string[]).length === 0))) {
        (cur as unknown as Record<string, unknown>)[key] = v;
      }
    }
    ports.set(path, cur);
  };

  let names: string[] = [];
  try {
    names = await readdir(join(sysRoot, 'class', 'tty'));
  } catch {
    names = [];
  }
  for (const name of names.filter((n) => TTY_NAME.test(n)).sort()) {
    const info = await sysInfo(sysRoot, name);
    if (info) add(join(devRoot, name), info);
  }
  // Links whose target sysfs did not show (e.g. /sys not mounted in a container) still name a port.
  for (const target of [...byId.keys(), ...byPath.keys()]) {
    if (!ports.has(target)) add(target, {});
  }

  if (options.useUdev ?? true) {
    try {
      for (const p of await SerialPort.list()) {
        add(p.path, {
          vendor_id: p.vendorId?.toLowerCase() ?? null,
          product_id: p.productId?.toLowerCase() ?? null,
          serial_number: p.serialNumber ?? null,
          manufacturer: p.manufacturer ?? null,
        });
      }
    } catch {
      // udevadm missing (ENOENT) or failing: the filesystem scan above is the answer.
    }
  }
  return [...ports.values()].sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
