/** stationctl ports and probe. */
import type { Command } from 'commander';
import { realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { listSerialPorts, type SerialPortInfo } from '../../drivers/transport/serial-list.js';
import type { Config } from '../../config/schema.js';
import type { CliContext } from './context.js';
import { renderTable } from '../../protocol/table.js';
import { DEFAULT_MODBUS_UNITS, DEFAULT_MODBUS_UNIT_TIMEOUT_MS, parseUnitRange, probePort, renderProbe, type ProbeResult } from './probe.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';

export interface PortRow extends SerialPortInfo {
  /** false for a configured path that does not exist (adapter unplugged, typo). */
  present: boolean;
  /** Ids of the configured devices that use this port (matched through symlinks). */
  devices: string[];
}

/** Configured serial paths: device `serial.path` and a CEC `adapter`. */
export function configuredSerialPaths(config: Config): Array<{ device: string; path: string }> {
  const out: Array<{ device: string; path: string }> = [];
  for (const d of config.devices) {
    if ('serial' in d && d.serial) out.push({ device: d.id, path: d.serial.path });
    else if (d.driver === 'cec' && d.adapter) out.push({ device: d.id, path: d.adapter });
  }
  return out;
}

const real = (p: string): Promise<string | undefined> => realpath(p).catch(() => undefined);

/**
 * The ports with the configured devices matched to them. A configured path matches by its own name, a
 * by-id/by-path alias, or the node both resolve to; configured paths that match no listed port still
 * get a row (missing, or present but not a USB/UART tty, like a PTY), so a technician sees every one.
 */
export async function portRows(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<PortRow[]> {
  const devRoot = env.STATION_AGENT_DEV_ROOT;
  const sysRoot = env.STATION_AGENT_SYS_ROOT;
  const ports = await listSerialPorts({
    ...(devRoot ? { devRoot } : {}),
    ...(sysRoot ? { sysRoot } : {}),
    // A chroot or test tree must not be mixed with this machine's udev database.
    useUdev: !devRoot && !sysRoot,
  });
  const rows: PortRow[] = ports.map((p) => ({ ...p, present: true, devices: [] }));
  const reals = await Promise.all(rows.map((p) => real(p.path)));
  for (const { device, path } of configuredSerialPaths(config)) {
    const target = await real(path);
    const i = rows.findIndex(
      (p, j) =>
        p.path === path ||
        p.by_id.includes(path) ||
        p.by_path.includes(path) ||
        (target !== undefined && (target === p.path || target === reals[j])),
    );
    if (i >= 0) {
      rows[i]!.devices.push(device);
      continue;
    }
    rows.push({
      path: target ?? path,
      by_id: path.includes('/serial/by-id/') ? [path] : [],
      by_path: path.includes('/serial/by-path/') ? [path] : [],
      vendor_id: null,
      product_id: null,
      serial_number: null,
      manufacturer: null,
      product: null,
      driver: null,
      present: target !== undefined,
      devices: [device],
    });
    reals.push(target);
  }
  return rows;
}

export function renderPorts(ctx: CliContext, rows: PortRow[]): string {
  const { t } = ctx;
  if (rows.length === 0) return t('ports.none');
  const table = renderTable(
    [t('col.port'), t('col.stable_name'), t('col.usb'), t('col.used_by')],
    rows.map((r) => [
      // The marker leads, so a long path cut to the column width still shows it.
      `${r.present ? '' : `[${t('ports.missing')}] `}${r.path.replace(/^\/dev\//, '')}`,
      r.by_id[0] ? basename(r.by_id[0]) : r.by_path[0] ? basename(r.by_path[0]) : '-',
      r.vendor_id ? [`${r.vendor_id}:${r.product_id ?? '????'}`, r.serial_number].filter(Boolean).join(' ') : '-',
      r.devices.join(', ') || '-',
    ]),
    80,
    // The USB column repeats the adapter's serial number, so a cut stable name loses nothing.
    [22, 24, 18],
  );
  const hints = rows.some((r) => r.devices.length > 0 && r.present && r.by_id.length === 0 && r.by_path.length === 0 && /ttyUSB|ttyACM/.test(r.path))
    ? ['', t('ports.hint_by_id', { path: '/dev/serial/by-id/…' })]
    : [];
  return [table, ...hints].join('\n');
}

export function registerPortCommands(program: Command, ctx: () => CliContext): void {
  program
    .command('ports')
    .description('serial ports with stable names, USB ids and the devices using them / 串口列表')
    .action(async () => {
      const c = ctx();
      const rows = await portRows(c.config());
      c.print(rows, () => renderPorts(c, rows));
    });

  program
    .command('probe <port>')
    .description('find the protocol and baud rate of an unknown device (harmless queries only) / 识别串口设备的协议和波特率')
    .option('--timeout <ms>', 'wait per query / 每次查询等待（毫秒）', '400')
    .option(
      '--units <range>',
      `Modbus unit ids to scan, N (1..N) or A-B within 1-247; default ${DEFAULT_MODBUS_UNITS.first}-${DEFAULT_MODBUS_UNITS.last}: boards ship as unit 1 and a station has a few, and every silent id costs --unit-timeout / ` +
        `扫描的 Modbus 从站地址，N（1..N）或 A-B（1-247 之内）；默认 ${DEFAULT_MODBUS_UNITS.first}-${DEFAULT_MODBUS_UNITS.last}：继电器板出厂地址为 1，站点只有几块板，每个无应答地址耗时一个 --unit-timeout`,
      `${DEFAULT_MODBUS_UNITS.first}-${DEFAULT_MODBUS_UNITS.last}`,
    )
    .option('--unit-timeout <ms>', 'wait per Modbus unit id / 每个 Modbus 地址等待（毫秒）', String(DEFAULT_MODBUS_UNIT_TIMEOUT_MS))
    .option('--all', 'keep trying after an answer / 应答后继续尝试其他协议', false)
    .action(async (port: string, opts: { timeout: string; units: string; unitTimeout: string; all: boolean }) => {
      const c = ctx();
      const units = parseUnitRange(opts.units);
      if (!units) throw new AgentError(ErrorCodes.invalid_args, c.t('probe.bad_units', { option: '--units', value: opts.units }));
      let result: ProbeResult;
      try {
        result = await probePort(port, {
          timeoutMs: Math.max(50, Number(opts.timeout) || 400),
          modbusUnits: units,
          modbusUnitTimeoutMs: Math.min(5000, Math.max(20, Number(opts.unitTimeout) || DEFAULT_MODBUS_UNIT_TIMEOUT_MS)),
          all: opts.all,
          onStep: c.opts.json
            ? undefined
            : (step) => c.err(step.kind === 'modbus_scan' ? c.t('probe.trying_modbus', { ...step, modbus: 'Modbus' }) : c.t('probe.trying', step)),
        });
      } catch (err) {
        // A port that will not open is a failed check (exit 1), not a usage error.
        if (!(err instanceof AgentError)) throw err;
        if (c.opts.json) c.out(JSON.stringify({ error: err.toJSON() }));
        c.err(c.t('probe.open_failed', { port, message: err.message }));
        process.exitCode = 1;
        return;
      }
      c.print(result, () => renderProbe(c, result));
      if (result.answers.length === 0) process.exitCode = 1;
    });
}
