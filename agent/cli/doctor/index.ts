/**
 * `stationctl doctor`: the technician's checklist. Every check returns pass/warn/fail, a detail line and,
 * for anything not passing, a one-line fix in the technician's language. It must work when the daemon is
 * down (that is when a technician needs it most), so each check asks the daemon only when it answers and
 * otherwise looks for itself: the database opened read-only, serial ports opened (and released) directly.
 *
 * The config is loaded first (a config that does not load stops the list) and the daemon asked next;
 * then each family in CHECKS adds its rows, in this order. A new family is a module exporting a `Check`
 * and one line here.
 */
import type { Translate } from '../../i18n/index.js';
import type { Check, DaemonCall, DoctorCheck, DoctorContext } from './check.js';
import { configCheck } from './config.js';
import { agentCheck } from './agent.js';
import { dataDirCheck } from './data-dir.js';
import { databaseCheck } from './database.js';
import { devicesCheck } from './devices.js';
import { serialCheck } from './serial.js';
import { brokerCheck } from './broker.js';
import { outboxCheck } from './outbox.js';
import { clockCheck } from './clock.js';
import { systemdCheck } from './systemd.js';

export type { Check, CheckStatus, DaemonCall, DoctorCheck, DoctorContext } from './check.js';

export const CHECKS: readonly Check[] = [dataDirCheck, databaseCheck, devicesCheck, serialCheck, brokerCheck, outboxCheck, clockCheck, systemdCheck];

export interface DoctorOptions {
  t: Translate;
  configFile: string;
  daemon: DaemonCall;
  env?: NodeJS.ProcessEnv;
  /** Per network step (DNS, TCP, TLS, MQTT CONNECT). Default 5 000. */
  timeoutMs?: number;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { t } = options;
  const loaded = configCheck(t, options.configFile);
  if (!loaded.config) return [loaded.row];
  const live = await agentCheck(t, options.daemon);
  const ctx: DoctorContext = {
    t,
    configFile: options.configFile,
    config: loaded.config,
    daemon: options.daemon,
    env: options.env ?? process.env,
    timeoutMs: options.timeoutMs ?? 5000,
    status: live.status,
    devices: live.devices,
    diagnoses: live.diagnoses,
  };
  const out = [loaded.row, ...loaded.warnings, live.row];
  for (const check of CHECKS) out.push(...(await check.run(ctx)));
  return out;
}
