/**
 * The county reference collector's command line, and the module to import it from: it subscribes to
 * every station, stores what arrives, acks durable records up to each station's contiguous watermark
 * and asks stations for the seqs it is missing. The parts: service.ts (startCollector: MQTT client and
 * timers), batcher.ts (incoming messages into the store), acker.ts, gap-watcher.ts, ingest.ts
 * (validation), store.ts (the CollectorStore interface) with sqlite-store.ts, report.ts (the two tables).
 * See county/README.md.
 *
 *   node dist/county/collector.js --url mqtt://127.0.0.1:1883 --db county.db|postgres://… [--group g]
 *   node dist/county/collector.js --config /etc/station-county/county.yaml   (flags override the file)
 *   node dist/county/collector.js --config county.yaml --notify notify.yaml   (group notifications: county/notify/)
 *   node dist/county/collector.js config-check --config /etc/station-county/county.yaml [--notify notify.yaml]
 *   node dist/county/collector.js report --db county.db --month 2026-11 [--csv | --json]
 *   node dist/county/collector.js fleet --db county.db [--csv | --json]
 */
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { createLogger } from './log.js';
import { fleetCsv, fleetTable, formatFleetTable, monthlyCsv, monthlyReport } from './report.js';
import { openCollectorStore } from './open-store.js';
import type { CollectorStore } from './store.js';
import { startCollector } from './service.js';
import { addBrokerOptions, brokerAccess } from './broker-access.js';
import { addConfigOption, failAndExit, loadCountyConfig, CountyConfigError, offlineAfterS } from './config.js';
import { OFFLINE_AFTER_S } from './visits.js';
import { loadNotifyConfig } from './notify/load.js';

export { collectorSubscriptions, startCollector, type Collector, type CollectorOptions, type CollectorStats } from './service.js';
export type { CollectorStore, ConsoleStore } from './store.js';
export { openCollectorStore, type CountyStore } from './open-store.js';

/** `report` and `fleet`: open the database (which must exist), read, close. Fine beside a running collector. */
async function withStore(db: string, fn: (store: CollectorStore) => Promise<void>): Promise<void> {
  const store = await openCollectorStore(db, {}, { mustExist: true });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('collector').description('county reference collector for station-agent').showHelpAfterError();

  const run = program
    .command('run', { isDefault: true })
    .description('collect from every station until stopped (SIGINT/SIGTERM)')
    .requiredOption('--url <url>', 'broker URL, mqtt:// or mqtts://')
    .requiredOption('--db <file|url>', 'SQLite database file or postgres://user@host/db')
    .option('--create', 'create the SQLite database file when it does not exist (the first run); without it a missing file is an error')
    .option('--group <name>', 'shared-subscription group', 'county')
    .option('--no-share', 'subscribe without $share/ (brokers without shared subscriptions)')
    .option('--notify <file>', 'group notifications to WeCom/DingTalk/Feishu/webhook robots (docs/county.md "Group notifications")');
  addConfigOption(run, 'collector');
  addBrokerOptions(run, 'signs acks and resend requests')
    .option('--print-s <seconds>', 'print the fleet table every N seconds (0 = never)', '60')
    .option('--offline-after-s <seconds>', `a lost connection needs a visit after this long within the station's opening hours (${OFFLINE_AFTER_S.min}–${OFFLINE_AFTER_S.max}, default ${OFFLINE_AFTER_S.default}; config visits.offline_after_s)`)
    .addOption(new Option('--log-level <level>').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const log = createLogger(o['logLevel'] as 'info', process.stderr);
      const offlineAfter = offlineAfterS(o['offlineAfterS'] as string | undefined);
      // Checked before anything starts: a bad notify file is a config error (78), like a bad config.
      const notify = typeof o['notify'] === 'string' ? loadNotifyConfig(o['notify']) : undefined;
      // Listening before the broker connects: a stop asked for while starting (systemd, a test that saw
      // "collector connected") is honoured once started, instead of killing the process mid-write.
      const stopAsked = new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      const collector = await startCollector({
        url: o['url'] as string,
        db: o['db'] as string,
        createDb: o['create'] === true,
        group: o['share'] === false ? null : (o['group'] as string),
        ...brokerAccess(o, log),
        visits: { rules: { offlineAfterS: offlineAfter } },
        ...(notify ? { notify } : {}),
        log,
      });
      const printS = Number(o['printS']);
      const print = async (): Promise<void> => {
        try {
          process.stdout.write(formatFleetTable(await collector.fleetTable()));
        } catch (err) {
          log.error({ err: (err as Error).message }, 'could not read the fleet table');
        }
      };
      const printer = printS > 0 ? setInterval(() => void print(), printS * 1000) : undefined;
      await stopAsked;
      // A second signal while stopping means "now": everything not yet written is still held by the stations.
      const now = (): never => process.exit(1);
      process.once('SIGINT', now);
      process.once('SIGTERM', now);
      if (printer) clearInterval(printer);
      await collector.stop();
      log.info(collector.stats(), 'collector stopped');
    });

  const report = program
    .command('report')
    .description("the county's monthly progress table per town and station");
  addConfigOption(report, undefined)
    .requiredOption('--db <file|url>')
    .requiredOption('--month <YYYY-MM>', 'calendar month in the stations\' time zone')
    .option('--csv', 'CSV (default)')
    .option('--json', 'JSON')
    .action((o: { db: string; month: string; json?: boolean }) =>
      withStore(o.db, async (store) => {
        const report = await monthlyReport(store, o.month);
        process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : monthlyCsv(report));
      }),
    );

  const fleet = program.command('fleet').description('every station: online, last heartbeat, faults, lamp warnings, outbox depth');
  addConfigOption(fleet, undefined)
    .requiredOption('--db <file|url>')
    .option('--csv', 'CSV')
    .option('--json', 'JSON')
    .action((o: { db: string; csv?: boolean; json?: boolean }) =>
      withStore(o.db, async (store) => {
        const rows = await fleetTable(store);
        process.stdout.write(o.json ? JSON.stringify(rows, null, 2) + '\n' : o.csv ? fleetCsv(rows) : formatFleetTable(rows));
      }),
    );

  program
    .command('config-check')
    .description('exit 0 when the config file is complete for running the collector and the console, 78 with the reasons otherwise')
    .requiredOption('--config <file>', 'YAML config file (county.example.yaml)')
    .option('--notify <file>', "a notify file to check instead of the one the config's collector section names")
    .action(async (o: { config: string; notify?: string }) => {
      const config = loadCountyConfig(o.config);
      const { configProblems } = await import('./config-check.js');
      const problems = configProblems(config, o.notify);
      if (problems.length > 0) throw new CountyConfigError(config.file, problems);
      process.stdout.write(`${config.file}: 配置完整 / complete\n`);
    });

  await program.parseAsync(argv, { from: 'user' });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => failAndExit('collector', err));
}
