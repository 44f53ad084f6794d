/** stationctl status, devices, device, config check. */
import type { Command } from 'commander';
import type { DeviceState } from '../../drivers/types.js';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { configWarnings } from '../../config/warnings.js';
import { describeWarning } from './doctor/config.js';
import type { StatusReport } from '../control/protocol.js';
import { statusReport, storedDevices, storedStatusParts } from '../status.js';
import type { Store } from '../store/store.js';
import type { CliContext } from './context.js';
import { hintText } from '../i18n/hints.js';
import { renderTable, wrap } from '../../protocol/table.js';
import type { MessageKey } from '../i18n/index.js';
import { registerDeviceCommand } from './device-command.js';
import { faultText } from '../../protocol/words/faults.js';

/** The daemon's `devices` answer, from the database (nothing online) while it is down. */
export const devicesFromDb = storedDevices;

/** The daemon's `status` report assembled from the database; `--json` adds agent.running like the live answer. */
export function statusFromDb(store: Store, station: { id: string; name: string }): StatusReport & { agent: { running: boolean } } {
  const report = statusReport(station, storedStatusParts(store));
  return { ...report, agent: { ...report.agent, running: false } };
}

function yesNo(ctx: CliContext, v: boolean | null | undefined): string {
  return v === null || v === undefined ? '-' : ctx.t(v ? 'yes' : 'no');
}

export function deviceRows(ctx: CliContext, devices: DeviceState[]): string[][] {
  const { t } = ctx;
  return devices.map((d) => {
    const detail: string[] = [];
    if (d.input != null) detail.push(t('detail.input', { value: d.input }));
    if (d.signal != null) detail.push(t('detail.signal', { value: yesNo(ctx, d.signal) }));
    if (d.lamp_hours != null) detail.push(t('detail.lamp', { value: d.lamp_hours }));
    if (d.volume != null) detail.push(t('detail.volume', { value: d.volume }));
    if (d.muted) detail.push(t('detail.muted'));
    if (d.brightness != null) detail.push(t('detail.brightness', { value: d.brightness }));
    if (d.blank) detail.push(t('detail.blank'));
    if (d.playing != null) detail.push(t('detail.playing', { value: yesNo(ctx, d.playing) }));
    if (d.reachable != null) detail.push(t('detail.reachable', { value: yesNo(ctx, d.reachable) }));
    // The driver's own text is English (wire data): a Chinese reader gets the catalogue's text for the code.
    for (const e of d.errors) detail.push(ctx.opts.lang === 'en' ? `[${e.code}] ${e.text}` : faultText(t, e));
    return [
      d.id,
      t(`kind.${d.kind}` as MessageKey),
      t(d.online ? 'yes' : 'no'),
      t(`power.${d.power}` as MessageKey),
      detail.join(', ') || '-',
    ];
  });
}

export function renderDevices(ctx: CliContext, devices: DeviceState[]): string {
  const { t } = ctx;
  return renderTable([t('col.id'), t('col.kind'), t('col.online'), t('col.power'), t('col.detail')], deviceRows(ctx, devices));
}

function formatUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d${h}h` : h > 0 ? `${h}h${m}m` : `${m}m${s % 60}s`;
}

export function renderStatus(ctx: CliContext, s: StatusReport, live: boolean): string {
  const { t } = ctx;
  const county = !s.county.configured
    ? t('status.county_none')
    : t(s.county.connected ? 'status.county_connected' : 'status.county_disconnected', { depth: s.county.outbox_depth });
  const lines = [
    `${t('status.station')}: ${s.station_name} (${s.station_id})`,
    `${t('status.agent')}: ${live ? t('status.version', { version: s.agent.version, uptime: formatUptime(s.agent.uptime_s), boot: s.agent.boot }) : '-'}`,
    `${t('status.county')}: ${live ? county : '-'}`,
    `${t('status.session')}: ${s.open_session ?? t('status.none')}`,
    '',
    `${t('status.devices')}:`,
    renderDevices(ctx, s.devices),
  ];
  return lines.join('\n');
}

export function registerCoreCommands(program: Command, ctx: () => CliContext): void {
  program
    .command('status')
    .description('station, agent, county link and devices / 站点状态')
    .option('--watch [seconds]', 'refresh in place / 持续刷新')
    .action(async (opts: { watch?: string | boolean }) => {
      const c = ctx();
      const once = async () => {
        const cfg = c.config();
        const { data, live } = await c.callOrDb<StatusReport>('status', {}, (store) => statusFromDb(store, cfg.station));
        const json = live ? { ...data, agent: { ...data.agent, running: true } } : data;
        return { json, text: renderStatus(c, data, live) };
      };
      if (!opts.watch) {
        const r = await once();
        c.print(r.json, () => r.text);
        return;
      }
      const interval = typeof opts.watch === 'string' ? Math.max(0.5, Number(opts.watch) || 2) : 2;
      for (;;) {
        const r = await once().catch((err: Error) => ({ json: null, text: err.message }));
        process.stdout.write(`\x1b[H\x1b[2J${r.text}\n`);
        await new Promise((res) => setTimeout(res, interval * 1000));
      }
    });

  program
    .command('devices')
    .description('device states / 设备状态')
    .action(async () => {
      const c = ctx();
      const { data } = await c.callOrDb<DeviceState[]>('devices', {}, devicesFromDb);
      c.print(data, () => renderDevices(c, data));
    });

  registerDeviceCommand(program, ctx);

  const config = program.command('config').description('configuration / 配置');
  config
    .command('check [file]')
    .description('validate a configuration file / 检查配置文件')
    .action((file: string | undefined) => {
      const c = ctx();
      const path = file ?? c.configFile;
      try {
        const cfg = loadConfig(path, { checkFiles: true });
        // Valid, but trust can still be wrong: write commands allowed unsigned, secrets open to all.
        const warnings = configWarnings(cfg).map((w) => ({ code: w.code, key: w.key, ...describeWarning(c.t, w) }));
        c.print(
          {
            valid: true, file: path, station_id: cfg.station.id, devices: cfg.devices.length, schedules: cfg.schedules.length,
            warnings: warnings.map(({ code, key, message, fix }) => ({ code, key, message, fix })),
          },
          () =>
            [
              c.t('config.ok', { file: path, station: cfg.station.id, devices: cfg.devices.length, schedules: cfg.schedules.length }),
              ...(warnings.length > 0 ? [c.t('config.warnings', { count: warnings.length })] : []),
              ...warnings.flatMap((w) => [
                ...wrap(w.message, 78).map((l) => `  ${l}`),
                ...wrap(c.t('config.fix', { fix: w.fix }), 76).map((l) => `    ${l}`),
              ]),
            ].join('\n'),
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        // A fix the reader can follow, in their language (the seed file to make, or to give to the agent).
        const fixes = err.hints.map((h) => hintText(c.t, h));
        c.print({ valid: false, file: path, errors: err.issues, ...(fixes.length > 0 ? { fixes } : {}) }, () =>
          [c.t('config.bad', { file: path, count: err.issues.length }), ...err.issues.map((i) => `  ${i}`), ...fixes.map((f) => `  ${f}`)].join('\n'),
        );
        process.exitCode = 1;
      }
    });
}
