/**
 * stationctl inventory: the station's equipment survey (设备摸底): the PC and every device with kind,
 * model, serial number, firmware and lamp hours. The CSV has one line per item (the PC first) with the
 * station repeated, so the county can paste every station's file into one sheet.
 */
import type { Command } from 'commander';
import type { DeviceState } from '../../drivers/types.js';
import type { HostInfo } from '../../protocol/payloads.js';
import { hostInfo, hostInventoryRow } from '../host.js';
import type { MessageKey } from '../i18n/index.js';
import type { CliContext } from './context.js';
import { devicesFromDb } from './commands-core.js';
import { toCsv } from '../../protocol/csv.js';
import { renderTable } from '../../protocol/table.js';
import { ErrorCodes } from '../../protocol/errors.js';

export interface InventoryDevice {
  id: string;
  name: string | null;
  kind: DeviceState['kind'];
  driver: string;
  online: boolean;
  model: string | null;
  serial_number: string | null;
  firmware: string | null;
  lamp_hours: number | null;
}

export interface InventoryReport {
  station: { id: string; name: string; town: string | null; county: string | null; level: string };
  host: Record<string, string>;
  devices: InventoryDevice[];
}

export function buildInventory(c: CliContext, host: HostInfo, states: DeviceState[]): InventoryReport {
  const cfg = c.config();
  return {
    station: { id: cfg.station.id, name: cfg.station.name, town: cfg.station.town ?? null, county: cfg.station.county ?? null, level: cfg.station.level },
    host: hostInventoryRow(host),
    devices: cfg.devices.map((d) => {
      const s = states.find((x) => x.id === d.id);
      return {
        id: d.id,
        name: d.name ?? null,
        kind: d.kind,
        driver: d.driver,
        online: s?.online ?? false,
        model: s?.model ?? null,
        serial_number: s?.serial_number ?? null,
        firmware: s?.firmware ?? null,
        lamp_hours: s?.lamp_hours ?? null,
      };
    }),
  };
}

export function renderInventory(c: CliContext, inv: InventoryReport): string {
  const { t } = c;
  const h = inv.host;
  const pc: Array<[MessageKey, string | undefined]> = [
    ['inventory.hostname', h.hostname],
    ['inventory.os', `${h.os ?? ''} (${h.kernel ?? ''}, ${h.arch ?? ''})`],
    ['inventory.system', h.system ? `${h.system}${h.system_serial ? `, ${t('col.serial_number')} ${h.system_serial}` : ''}` : '-'],
    ['inventory.cpu', `${h.cpu ?? ''} × ${h.cpu_cores ?? '?'}`],
    ['inventory.memory', `${h.mem_total_mb ?? '?'} MB`],
    ['inventory.disks', h.disks || '-'],
    ['inventory.network', [h.ip4, h.mac].filter(Boolean).join('  ') || '-'],
  ];
  const station = [inv.station.name, inv.station.town, inv.station.county].filter(Boolean).join('，');
  return [
    `${t('status.station')}: ${station} (${inv.station.id})`,
    '',
    `${t('inventory.pc')}:`,
    renderTable([t('inventory.item'), t('col.detail')], pc.map(([k, v]) => [t(k), v || '-'])),
    '',
    `${t('status.devices')}:`,
    renderTable(
      [t('col.id'), t('col.kind'), t('col.model'), t('col.serial_number'), t('col.firmware'), t('col.lamp_hours')],
      inv.devices.map((d) => [d.id, t(`kind.${d.kind}` as MessageKey), d.model ?? '-', d.serial_number ?? '-', d.firmware ?? '-', d.lamp_hours === null ? '-' : String(d.lamp_hours)]),
    ),
  ].join('\n');
}

export function inventoryCsv(c: CliContext, inv: InventoryReport): string {
  const { t } = c;
  const headers = (
    ['csv.station_id', 'csv.station_name', 'csv.town', 'csv.item', 'csv.kind', 'csv.driver', 'csv.model', 'csv.serial_number', 'csv.firmware', 'csv.lamp_hours', 'csv.remarks'] as const
  ).map((k) => t(k));
  const s = inv.station;
  const h = inv.host;
  const pcRemarks = [h.os, h.cpu && `${h.cpu} × ${h.cpu_cores}`, h.mem_total_mb && `${h.mem_total_mb} MB`, h.disks, h.ip4].filter(Boolean).join('; ');
  return toCsv(
    headers,
    [
      [s.id, s.name, s.town, h.hostname, t('inventory.pc'), '', h.system, h.system_serial, '', '', pcRemarks],
      ...inv.devices.map((d) => [s.id, s.name, s.town, d.id, t(`kind.${d.kind}` as MessageKey), d.driver, d.model, d.serial_number, d.firmware, d.lamp_hours, d.name]),
    ],
    { bom: c.opts.lang === 'zh' },
  );
}

export function registerInventoryCommand(program: Command, ctx: () => CliContext): void {
  program
    .command('inventory')
    .description('equipment survey: PC, OS and every device / 设备摸底')
    .option('--csv', 'CSV / 导出 CSV', false)
    .action(async (opts: { csv: boolean }) => {
      const c = ctx();
      const [{ data: states }, host] = await Promise.all([
        c.callOrDb<DeviceState[]>('devices', {}, devicesFromDb).catch((err: { code?: string }) => {
          // Never started (no database yet): the survey still lists the PC and the configured devices.
          if (err.code === ErrorCodes.db_open) return { data: [] as DeviceState[], live: false };
          throw err;
        }),
        hostInfo({ probeTimeoutMs: 5000 }),
      ]);
      const inv = buildInventory(c, host, states);
      if (opts.csv) {
        c.out(inventoryCsv(c, inv));
        return;
      }
      c.print(inv, () => renderInventory(c, inv));
    });
}
