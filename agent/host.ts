/**
 * Host facts for the county inventory and heartbeat, and for `stationctl inventory`.
 * What does not change (OS, CPU, RAM, disks) is gathered once through systeminformation, which spawns
 * helper processes (lsblk, dmidecode …): fine once at start, too heavy for a heartbeat on a village PC.
 * Per-heartbeat figures come from os.* deltas, fs.statfs and /sys reads: no process is spawned.
 */
import { cpus, freemem, totalmem, loadavg, uptime as hostUptime, hostname } from 'node:os';
import { readFile, readdir, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import * as si from 'systeminformation';
import { listSerialPorts, type SerialPortInfo as ListedPort } from '../drivers/transport/serial-list.js';
import type { HostHealth, HostInfo } from '../protocol/payloads.js';

export type SerialPortInfo = HostInfo['serial_ports'][number];
// The wire schema and the port lister must agree field for field.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _serialShapesAgree: Same<SerialPortInfo, ListedPort> = true;
void _serialShapesAgree;

export interface HostInfoOptions {
  /** Lists serial ports; default drivers/transport/serial-list.ts (works without udevadm). */
  serialPorts?: () => Promise<SerialPortInfo[]>;
  /** Each systeminformation probe is abandoned after this long (a hung smartctl must not stall start). */
  probeTimeoutMs?: number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const orNull = (s: string | undefined | null): string | null => {
  const t = (s ?? '').trim();
  return t === '' || t === '-' || t.toLowerCase() === 'default string' ? null : t;
};

async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.catch(() => fallback),
      new Promise<T>((r) => {
        timer = setTimeout(() => r(fallback), ms);
        timer.unref();
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** Gathers the static host facts (about a second: systeminformation spawns helpers). */
export async function gatherHostInfo(options: HostInfoOptions = {}): Promise<HostInfo> {
  const t = options.probeTimeoutMs ?? 10_000;
  const [os, system, cpu, disks, fss, nets, ports] = await Promise.all([
    withTimeout(si.osInfo(), t, undefined),
    withTimeout(si.system(), t, undefined),
    withTimeout(si.cpu(), t, undefined),
    withTimeout(si.diskLayout(), t, []),
    withTimeout(si.fsSize(), t, []),
    withTimeout(si.networkInterfaces(), t, []),
    withTimeout((options.serialPorts ?? (() => listSerialPorts()))(), t, []),
  ]);
  const netList = Array.isArray(nets) ? nets : [nets];
  const cpuList = cpus();
  return {
    hostname: os?.hostname || hostname(),
    os: {
      platform: os?.platform ?? process.platform,
      distro: os?.distro ?? '',
      release: os?.release ?? '',
      kernel: os?.kernel ?? '',
      arch: os?.arch ?? process.arch,
    },
    system: { manufacturer: orNull(system?.manufacturer), model: orNull(system?.model), serial: orNull(system?.serial) },
    cpu: {
      model: orNull(cpu ? `${cpu.manufacturer} ${cpu.brand}` : undefined) ?? cpuList[0]?.model ?? 'unknown',
      cores: cpu?.cores ?? cpuList.length,
      physical_cores: cpu?.physicalCores ?? null,
      speed_ghz: cpu?.speed ? round(cpu.speed, 2) : null,
    },
    mem_total_mb: Math.round(totalmem() / 2 ** 20),
    disks: disks.map((d) => ({
      device: d.device,
      type: orNull(d.type),
      model: orNull(d.name),
      serial: orNull(d.serialNum),
      size_gb: round(d.size / 1e9),
    })),
    filesystems: fss
      .filter((f) => f.size > 0 && !/^(tmpfs|devtmpfs|overlay|squashfs)$/.test(f.type))
      .map((f) => ({ mount: f.mount, type: f.type, size_gb: round(f.size / 1e9) })),
    network: netList
      .filter((n) => !n.internal)
      .map((n) => ({ iface: n.iface, mac: orNull(n.mac), ip4: orNull(n.ip4) })),
    serial_ports: ports,
  };
}

let cachedInfo: Promise<HostInfo> | undefined;

/** The static facts, gathered once per process (they do not change while the agent runs). */
export function hostInfo(options: HostInfoOptions = {}): Promise<HostInfo> {
  cachedInfo ??= gatherHostInfo(options).catch((err: unknown) => {
    cachedInfo = undefined;
    throw err;
  });
  return cachedInfo;
}

/** A flat, CSV-friendly row of the host facts: one line of the county equipment survey (设备摸底). */
export function hostInventoryRow(info: HostInfo): Record<string, string> {
  return {
    hostname: info.hostname,
    os: [info.os.distro, info.os.release].filter(Boolean).join(' ') || info.os.platform,
    kernel: info.os.kernel,
    arch: info.os.arch,
    system: [info.system.manufacturer, info.system.model].filter(Boolean).join(' '),
    system_serial: info.system.serial ?? '',
    cpu: info.cpu.model,
    cpu_cores: String(info.cpu.cores),
    mem_total_mb: String(info.mem_total_mb),
    disks: info.disks.map((d) => `${d.device} ${d.type ?? ''} ${d.size_gb}GB`.replace(/\s+/g, ' ')).join('; '),
    mac: info.network.map((n) => n.mac).filter(Boolean).join('; '),
    ip4: info.network.map((n) => n.ip4).filter(Boolean).join('; '),
    serial_ports: info.serial_ports.map((p) => p.by_id[0] ?? p.path).join('; '),
  };
}

interface CpuSample {
  idle: number;
  total: number;
}

function sampleCpu(): CpuSample {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/**
 * Per-heartbeat host health. Keeps the previous CPU sample so each reading is the average since the
 * last one; thermal zone paths are listed once.
 */
export class HostHealthSampler {
  private lastCpu: CpuSample = sampleCpu();
  private thermalZones: Promise<string[]> | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly thermalRoot = '/sys/class/thermal',
  ) {}

  async sample(): Promise<HostHealth> {
    const cpu = sampleCpu();
    const dTotal = cpu.total - this.lastCpu.total;
    const dIdle = cpu.idle - this.lastCpu.idle;
    this.lastCpu = cpu;
    const total = totalmem();
    const free = freemem();
    let diskFree: number | null = null;
    let diskPct: number | null = null;
    try {
      const s = await statfs(this.dataDir);
      diskFree = Math.round((s.bavail * s.bsize) / 2 ** 20);
      diskPct = s.blocks > 0 ? round((100 * s.bavail) / s.blocks) : null;
    } catch {
      /* data_dir missing or unreadable: report unknown */
    }
    return {
      cpu_pct: dTotal > 0 ? round(Math.min(100, Math.max(0, (100 * (dTotal - dIdle)) / dTotal))) : null,
      load_1: round(loadavg()[0] ?? 0, 2),
      mem_pct: round((100 * (total - free)) / total),
      mem_available_mb: Math.round(free / 2 ** 20),
      disk_free_mb: diskFree,
      disk_free_pct: diskPct,
      temperature_c: await this.temperature(),
      host_uptime_s: Math.floor(hostUptime()),
    };
  }

  private async temperature(): Promise<number | null> {
    this.thermalZones ??= readdir(this.thermalRoot)
      .then((names) => names.filter((n) => n.startsWith('thermal_zone')).map((n) => join(this.thermalRoot, n, 'temp')))
      .catch(() => []);
    let max: number | null = null;
    for (const file of await this.thermalZones) {
      const raw = await readFile(file, 'utf8').catch(() => undefined);
      const milli = raw === undefined ? NaN : Number(raw.trim());
      // Millidegrees Celsius; some ACPI zones report nonsense (-273 °C or > 150 °C) when the sensor is absent.
      if (!Number.isFinite(milli)) continue;
      const c = milli / 1000;
      if (c < -40 || c > 150) continue;
      max = max === null ? c : Math.max(max, c);
    }
    return max === null ? null : round(max);
  }
}
