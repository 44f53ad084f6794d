/** stationctl doctor: runs the checklist of agent/cli/doctor/ and prints it for a person or a script. */
import type { Command } from 'commander';
import stringWidth from 'string-width';
import { runDoctor, type CheckStatus, type DoctorCheck } from './doctor/index.js';
import type { CliContext } from './context.js';
import { pad, truncate, wrap } from '../../protocol/table.js';
import type { MessageKey } from '../i18n/index.js';

const WIDTH = 80;
const LABEL_MAX = 22;

export function renderDoctor(ctx: CliContext, checks: DoctorCheck[]): string {
  const { t } = ctx;
  const tag = (s: CheckStatus) => `[${t(`doctor.status.${s}` as MessageKey)}]`;
  const tagW = Math.max(...(['pass', 'warn', 'fail'] as const).map((s) => stringWidth(tag(s))));
  const labelW = Math.min(LABEL_MAX, Math.max(...checks.map((c) => stringWidth(c.label))));
  const detailW = WIDTH - tagW - 1 - labelW - 2;
  const indent = ' '.repeat(tagW + 1);
  const lines: string[] = [];
  for (const c of checks) {
    const detail = wrap(c.detail, detailW);
    lines.push(`${pad(tag(c.status), tagW)} ${pad(truncate(c.label, labelW), labelW)}  ${detail[0] ?? ''}`.trimEnd());
    for (const more of detail.slice(1)) lines.push(`${indent}${' '.repeat(labelW + 2)}${more}`);
    if (c.fix) {
      const prefix = t('doctor.fix');
      const fix = wrap(c.fix, WIDTH - tagW - 1 - stringWidth(prefix));
      lines.push(`${indent}${prefix}${fix[0] ?? ''}`);
      for (const more of fix.slice(1)) lines.push(`${indent}${' '.repeat(stringWidth(prefix))}${more}`);
    }
  }
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  lines.push('', t('doctor.summary', { pass: count('pass'), warn: count('warn'), fail: count('fail') }));
  return lines.join('\n');
}

export function registerDoctorCommand(program: Command, ctx: () => CliContext): void {
  program
    .command('doctor')
    .description('checklist of what may be wrong, with fixes / 故障自检清单（附修复方法）')
    .option('--timeout <ms>', 'per network step / 每个网络检查的超时（毫秒）', '5000')
    .action(async (opts: { timeout: string }) => {
      const c = ctx();
      const checks = await runDoctor({
        t: c.t,
        configFile: c.configFile,
        daemon: (command, args) => c.call(command, args ?? {}),
        timeoutMs: Math.max(200, Number(opts.timeout) || 5000),
      });
      c.print(
        checks.map(({ check, status, cause, detail, fix, raw }) => ({ check, status, cause, detail, ...(fix ? { fix } : {}), ...(raw ? { raw } : {}) })),
        () => renderDoctor(c, checks),
      );
      if (checks.some((x) => x.status === 'fail')) process.exitCode = 1;
    });
}
