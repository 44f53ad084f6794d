/**
 * The one shape every doctor check has. A check family (data dir, database, devices, broker…) is a
 * `Check`: it reads the shared `DoctorContext` and returns its rows, in the order they are printed.
 * Rows are made with `rowMaker`, so a new row is one line: `r.fail(detail, fix)`.
 */
import type { Config } from '../../../config/schema.js';
import type { DeviceState } from '../../../drivers/types.js';
import type { DeviceDiagnosis, StatusReport } from '../../control/protocol.js';
import type { MessageKey, Translate } from '../../i18n/index.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One line of the checklist; `--json` prints an array of these (without `label`). */
export interface DoctorCheck {
  /** Stable id: `config`, `device:<id>`, `serial:<path>`, `broker_auth` … */
  check: string;
  status: CheckStatus;
  /**
   * Stable cause code (`ok` when passing; `password_rejected`, `modbus_unit_silent`, `db_corrupt` …, listed
   * in README.md), so the county can count causes across the fleet whatever the language.
   */
  cause: string;
  /** In the reader's language: the device's own fault, never a raw system message. */
  detail: string;
  fix?: string;
  /** The untranslated system or device message behind `detail`, for `--json` only. */
  raw?: string;
  /** Human label (translated); not part of the JSON shape. */
  label: string;
}

/** A row's cause and the raw message behind it (see DoctorCheck). */
export interface RowExtra {
  cause?: string;
  raw?: string;
}

/** Calls the daemon; rejects with AgentError `daemon_unreachable` when it is down. */
export type DaemonCall = (command: string, args?: unknown) => Promise<unknown>;

/** What every check may read: the loaded config, and what the daemon said when it answers. */
export interface DoctorContext {
  t: Translate;
  configFile: string;
  config: Config;
  daemon: DaemonCall;
  env: NodeJS.ProcessEnv;
  /** Per network step (DNS, TCP, TLS, MQTT CONNECT). */
  timeoutMs: number;
  /** The daemon's status; undefined when it does not answer (the checks then look for themselves). */
  status: StatusReport | undefined;
  /** Live device states from the daemon; undefined when it does not answer. */
  devices: DeviceState[] | undefined;
  /** Why offline devices are offline (`devices.diagnose`); undefined from a daemon that cannot tell. */
  diagnoses?: DeviceDiagnosis[] | undefined;
}

/** A family of checks, run in the order of CHECKS (agent/cli/doctor/index.ts). */
export interface Check {
  /** Names the family (for readers and tests); the rows carry their own stable `check` ids. */
  readonly family: string;
  run(ctx: DoctorContext): Promise<DoctorCheck[]>;
}

/** Commands named in fix lines (never run by doctor). */
export const CMD = { start: 'sudo systemctl start station-agent', enable: 'sudo systemctl enable --now station-agent' } as const;

export interface RowMaker {
  pass(detail: string, fix?: string, extra?: RowExtra): DoctorCheck;
  warn(detail: string, fix?: string, extra?: RowExtra): DoctorCheck;
  fail(detail: string, fix?: string, extra?: RowExtra): DoctorCheck;
  of(status: CheckStatus, detail: string, fix?: string, extra?: RowExtra): DoctorCheck;
}

/**
 * Rows of one check id under one translated label. A row without a fix has no `fix` key at all. A row
 * that names no cause gets `ok` when it passes, else `<check family>_<status>` (e.g. `config_warn`).
 */
export function rowMaker(t: Translate, check: string, labelKey: MessageKey, labelParams: Record<string, string | number> = {}): RowMaker {
  const label = t(labelKey, labelParams);
  const family = check.split(':')[0]!;
  const of = (status: CheckStatus, detail: string, fix?: string, extra: RowExtra = {}): DoctorCheck => ({
    check,
    status,
    cause: extra.cause ?? (status === 'pass' ? 'ok' : `${family}_${status}`),
    detail,
    ...(fix !== undefined ? { fix } : {}),
    ...(extra.raw !== undefined && extra.raw !== '' ? { raw: extra.raw } : {}),
    label,
  });
  return {
    pass: (detail, fix, extra) => of('pass', detail, fix, extra),
    warn: (detail, fix, extra) => of('warn', detail, fix, extra),
    fail: (detail, fix, extra) => of('fail', detail, fix, extra),
    of,
  };
}
