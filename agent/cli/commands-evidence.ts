/**
 * stationctl evidence init, ledger verify (docs/evidence.md). Neither needs the daemon: init writes the
 * seed file the agent reads at its next start; verify reads the database read-only, as an inspector
 * would, whether the agent runs or not.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { seedFileOf } from '../../config/files.js';
import { DEFAULT_SEED_FILE } from '../../config/schema.js';
import { readBounded } from '../../config/load.js';
import { ConfigError } from '../../config/errors.js';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import { EnrollmentSchema, MAX_ENROLLMENT_BYTES, type Enrollment } from '../../protocol/enrollment.js';
import { renderTable, wrap } from '../../protocol/table.js';
import { VERIFY_CAUSES } from '../../protocol/evidence.js';
import { Store } from '../store/store.js';
import { KEY_FILE_KIND } from '../evidence/key-file.js';
import { initEvidence } from '../evidence/init.js';
import { verifyLedger, type LedgerReport } from '../evidence/verify-ledger.js';
import type { MessageKey } from '../i18n/index.js';
import { EXIT, type CliContext } from './context.js';

/** Rows of the human table; `--json` lists every finding. */
export const MAX_SHOWN = 100;
const DEFAULT_EPOCH_S = 3600;

/** Reads `--seed` files: enrollment copies only, for this station; a clear refusal for anything else. */
function readEnrollment(c: CliContext, file: string, stationId: string): Enrollment {
  let raw: unknown;
  try {
    raw = JSON.parse(readBounded(file, MAX_ENROLLMENT_BYTES, 'enrollment copy'));
  } catch (err) {
    const detail = err instanceof ConfigError ? err.issues.join('; ') : 'not JSON';
    throw new AgentError(ErrorCodes.invalid_args, c.t('verify.bad_seed', { file, detail }));
  }
  if ((raw as { kind?: unknown } | null)?.kind === KEY_FILE_KIND) throw new AgentError(ErrorCodes.invalid_args, c.t('verify.key_file_given', { file, cmd: 'stationctl evidence init' }));
  const parsed = EnrollmentSchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
    throw new AgentError(ErrorCodes.invalid_args, c.t('verify.bad_seed', { file, detail }));
  }
  if (parsed.data.station_id !== stationId) {
    throw new AgentError(ErrorCodes.invalid_args, c.t('verify.wrong_station', { file, seed_station: parsed.data.station_id, station: stationId }));
  }
  return parsed.data;
}

export function renderReport(c: CliContext, r: LedgerReport): string {
  const { t } = c;
  const lines = [t('verify.title', { ledger: r.ledger, station: r.station_id, records: r.records, sealed: r.sealed, before: r.before_sealing })];
  lines.push(r.seals_checked ? t('verify.seals_checked', { seeds: r.seeds.join(', ') }) : t('verify.seals_not_checked', { option: '--seed FILE' }));
  if (r.geneses === 0) lines.push(t('verify.never_sealed'));
  if (r.ok) {
    lines.push(t('verify.ok'));
    return wrap(lines.join('\n'), 80).join('\n');
  }
  lines.push(t('verify.bad', { count: r.findings.length }));
  const text = wrap(lines.join('\n'), 80);
  const shown = r.findings.slice(0, MAX_SHOWN);
  const table = renderTable(
    [t('verify.col.seq'), t('verify.col.record'), t('verify.col.cause')],
    shown.map((f) => [String(f.seq), t(`verify.kind.${f.kind ?? 'missing'}` as MessageKey), f.cause]),
  );
  const tail: string[] = [];
  if (r.findings.length > MAX_SHOWN) tail.push(t('verify.more', { count: r.findings.length - MAX_SHOWN, option: '--json' }));
  // What each cause code in the table means, once, in the reader's language.
  const present = new Set(r.findings.map((f) => f.cause));
  tail.push('', ...VERIFY_CAUSES.filter((cause) => present.has(cause)).map((cause) => `${cause}: ${t(`verify.cause.${cause}`)}`));
  return [...text, table, ...wrap(tail.join('\n'), 80)].join('\n');
}

export function registerEvidenceCommands(program: Command, ctx: () => CliContext): void {
  const evidence = program.command('evidence').description('sealed usage records / 使用记录封存');
  evidence
    .command('init')
    .description('make the sealing seed and the county\'s enrollment copy / 生成封存种子和交给县里的登记文件')
    .option('--out <dir>', 'folder for the enrollment copy (default: here) / 登记文件存放目录（默认当前目录）')
    .option('--force', 'replace an existing seed (a new chain, enrolled again) / 替换已有种子', false)
    .action(async (opts: { out?: string; force: boolean }) => {
      const c = ctx();
      const cfg = c.config();
      const seedFile = seedFileOf(cfg) ?? resolve(cfg.data_dir, DEFAULT_SEED_FILE);
      if (existsSync(seedFile)) {
        if (!opts.force) return refuse(c, c.t('evidence.seed_exists', { file: seedFile, option: '--force' }));
        // The agent keeps the key in memory and would write its next epoch over the new seed.
        const running = await c.call('status').then(
          () => true,
          (err: unknown) => !(err instanceof AgentError && err.code === ErrorCodes.daemon_unreachable),
        );
        if (running) return refuse(c, c.t('evidence.agent_running', { cmd: 'sudo systemctl stop station-agent' }));
      }
      const result = initEvidence({
        seedFile,
        outDir: resolve(opts.out ?? process.cwd()),
        stationId: cfg.station.id,
        epochS: cfg.evidence?.epoch_s ?? DEFAULT_EPOCH_S,
        nowMs: Date.now(),
        force: opts.force,
      });
      c.print(result, () =>
        [
          c.t('evidence.init_done', { file: result.seed_file, station: result.station_id, epoch: result.epoch, epoch_s: result.epoch_s }),
          c.t('evidence.init_enrollment', { file: result.enrollment_file }),
          ...(cfg.evidence ? [] : [c.t('evidence.init_not_configured', { config: c.configFile, key: 'evidence:', line: 'evidence: {}' })]),
          '',
          c.t('evidence.init_next', { file: result.enrollment_file, restart: 'sudo systemctl restart station-agent' }),
        ].join('\n'),
      );
    });

  const ledger = program.command('ledger').description('the usage ledger / 使用记录账本');
  ledger
    .command('verify')
    .description('check the chain, and with --seed every seal and epoch / 核对链条，加 --seed 核对每条印章')
    .option('--seed <file>', 'the enrollment copy (repeat for a rotated seed) / 登记文件（换过种子可重复）', (v: string, all: string[]) => [...all, v], [] as string[])
    .action((opts: { seed: string[] }) => {
      const c = ctx();
      const cfg = c.config();
      const seeds = opts.seed.map((f) => readEnrollment(c, f, cfg.station.id));
      const store = Store.open(cfg.data_dir, { readonly: true });
      let report: LedgerReport;
      try {
        // One read transaction: the rows and the head from the same moment while the agent appends.
        report = store.transaction(() => verifyLedger(store.chain.records(), { station_id: cfg.station.id, ledger: store.outbox.ledger(), head: store.chain.head() }, seeds));
      } finally {
        store.close();
      }
      c.print(report, () => renderReport(c, report));
      if (!report.ok) process.exitCode = EXIT.failed;
    });
}

function refuse(c: CliContext, message: string): void {
  if (c.opts.json) c.out(JSON.stringify({ error: { code: 'refused', message } }));
  c.err(message);
  process.exitCode = EXIT.failed;
}
