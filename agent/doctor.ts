/**
 * `stationctl doctor`: the technician's checklist. Every check returns pass/warn/fail, a detail line and,
 * for anything not passing, a one-line fix in the technician's language. It must work when the daemon is
 * down (that is when a technician needs it most), so each check asks the daemon only when it answers and
 * otherwise looks for itself: the database opened read-only, serial ports opened (and released) directly.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { access, constants, readFile, realpath, statfs } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { connect as tcpConnect, isIP } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { basename, dirname, join } from 'node:path';
import { userInfo } from 'node:os';
import mqtt, { type IClientOptions } from 'mqtt';
import { loadConfig } from '../config/load.js';
import type { Config, DeviceConfig } from '../config/schema.js';
import type { DeviceState } from '../drivers/types.js';
import { SerialTransport } from '../drivers/transport/serial.js';
import { AgentError, ErrorCodes } from '../drivers/errors.js';
import { ConfigError } from '../config/errors.js';
import type { MessageKey, Translate } from './i18n/index.js';
import type { StatusReport } from './control/protocol.js';
import { DB_FILE, Store } from './store/store.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One line of the checklist; `--json` prints an array of these. */
export interface DoctorCheck {
  /** Stable id: `config`, `device:<id>`, `serial:<path>`, `broker_auth` … */
  check: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** Human label (translated); not part of the JSON shape. */
  label: string;
}

export interface DoctorOptions {
  t: Translate;
  configFile: string;
  /** Calls the daemon; rejects with AgentError `daemon_unreachable` when it is down. */
  daemon: (command: string, args?: unknown) => Promise<unknown>;
  env?: NodeJS.ProcessEnv;
  /** Per network step (DNS, TCP, TLS, MQTT CONNECT). */
  timeoutMs?: number;
}

/** Below these, the data dir's file system fails / warns (the ledger must never stop on a full disk). */
export const DISK_FAIL_MB = 100;
export const DISK_WARN_MB = 1024;
/** An unacknowledged record older than this means the county has not heard from the station. */
export const OUTBOX_WARN_H = 24;

const SYSTEMD_UNIT = 'station-agent.service';

/** Commands named in fix lines (never run by doctor). */
const CMD = { start: 'sudo systemctl start station-agent', enable: 'sudo systemctl enable --now station-agent' } as const;

type Row = Omit<DoctorCheck, 'label'> & { label?: string };

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const { t } = options;
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 5000;
  const out: DoctorCheck[] = [];
  const add = (labelKey: MessageKey, row: Row, params: Record<string, string | number> = {}): DoctorCheck => {
    const c: DoctorCheck = { ...row, label: row.label ?? t(labelKey, params) };
    out.push(c);
    return c;
  };

  // Config: a config that does not load stops here, since every other check reads it.
  let config: Config;
  try {
    config = loadConfig(options.configFile, { checkFiles: true });
    add('doctor.check.config', { check: 'config', status: 'pass', detail: t('doctor.config.ok', { file: options.configFile, devices: config.devices.length }) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const issues = err.issues;
    try {
      // A missing secret file is a failure but the rest of the config is usable for the other checks.
      config = loadConfig(options.configFile, { checkFiles: false });
    } catch {
      add('doctor.check.config', {
        check: 'config',
        status: 'fail',
        detail: t('doctor.config.bad', { file: options.configFile, count: issues.length, first: issues[0] ?? '' }),
        fix: t('doctor.config.fix', { cmd: `stationctl config check ${options.configFile}` }),
      });
      return out;
    }
    add('doctor.check.config', {
      check: 'config',
      status: 'fail',
      detail: t('doctor.config.bad', { file: options.configFile, count: issues.length, first: issues[0] ?? '' }),
      fix: t('doctor.config.fix', { cmd: `stationctl config check ${options.configFile}` }),
    });
  }

  // The daemon: its answers are the truth about devices and the database when it runs.
  let status: StatusReport | undefined;
  try {
    status = (await options.daemon('status')) as StatusReport;
    add('doctor.check.agent', { check: 'agent', status: 'pass', detail: t('doctor.agent.running', { version: status.agent.version, pid: status.agent.pid }) });
  } catch (err) {
    if (!(err instanceof AgentError) || err.code !== ErrorCodes.daemon_unreachable) throw err;
    add('doctor.check.agent', { check: 'agent', status: 'warn', detail: t('doctor.agent.down'), fix: t('doctor.agent.fix', { cmd: CMD.start }) });
  }
  const live = status !== undefined;

  out.push(...(await dataDirChecks(t, config)));
  out.push(await databaseCheck(t, config, live ? options.daemon : undefined));

  let devices: DeviceState[] | undefined;
  if (live) {
    try {
      devices = (await options.daemon('devices')) as DeviceState[];
    } catch {
      devices = status?.devices;
    }
  }
  for (const d of config.devices) out.push(await deviceCheck(t, d, devices, timeoutMs));
  out.push(...(await serialChecks(t, config, devices)));
  const dialout = await dialoutCheck(t, config, status?.agent.pid);
  if (dialout) out.push(dialout);
  if (config.county) out.push(...(await brokerChecks(t, config, timeoutMs)));
  out.push(outboxCheck(t, config));
  out.push(await clockCheck(t, env));
  const systemd = await systemdCheck(t, env);
  if (systemd) out.push(systemd);
  return out;
}

function row(t: Translate, labelKey: MessageKey, params: Record<string, string | number>, r: Row): DoctorCheck {
  return { ...r, label: t(labelKey, params) };
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}

async function nearestExisting(path: string): Promise<string> {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

async function dataDirChecks(t: Translate, config: Config): Promise<DoctorCheck[]> {
  const dir = config.data_dir;
  const out: DoctorCheck[] = [];
  if (!existsSync(dir)) {
    out.push(row(t, 'doctor.check.data_dir', {}, { check: 'data_dir', status: 'warn', detail: t('doctor.data_dir.missing', { dir }), fix: t('doctor.data_dir.fix_missing', { cmd: `sudo install -d -o station-agent -g station-agent ${dir}` }) }));
  } else {
    try {
      await access(dir, constants.W_OK | constants.R_OK);
      out.push(row(t, 'doctor.check.data_dir', {}, { check: 'data_dir', status: 'pass', detail: t('doctor.data_dir.ok', { dir }) }));
    } catch (err) {
      out.push(
        row(t, 'doctor.check.data_dir', {}, {
          check: 'data_dir',
          status: 'fail',
          detail: t('doctor.data_dir.not_writable', { dir, user: userInfo().username, code: (err as NodeJS.ErrnoException).code ?? '' }),
          fix: t('doctor.data_dir.fix_writable', { cmd: `sudo chown -R station-agent:station-agent ${dir}` }),
        }),
      );
    }
  }
  try {
    const s = await statfs(await nearestExisting(dir));
    const free = mb(s.bavail * s.bsize);
    const status: CheckStatus = free < DISK_FAIL_MB ? 'fail' : free < DISK_WARN_MB ? 'warn' : 'pass';
    out.push(
      row(t, 'doctor.check.disk', {}, {
        check: 'disk_space',
        status,
        detail: t('doctor.disk.free', { size: `${free} MB`, dir }),
        ...(status === 'pass' ? {} : { fix: t('doctor.disk.fix', { cmd: 'sudo journalctl --vacuum-size=100M' }) }),
      }),
    );
  } catch (err) {
    out.push(row(t, 'doctor.check.disk', {}, { check: 'disk_space', status: 'warn', detail: (err as Error).message }));
  }
  return out;
}

async function databaseCheck(t: Translate, config: Config, daemon: DoctorOptions['daemon'] | undefined): Promise<DoctorCheck> {
  const dbPath = join(config.data_dir, DB_FILE);
  const base = { check: 'database' } as const;
  let result: string[];
  let via: MessageKey;
  try {
    if (daemon) {
      result = ((await daemon('db.integrity')) as { result: string[] }).result;
      via = 'doctor.db.via_agent';
    } else {
      if (!existsSync(dbPath)) {
        return row(t, 'doctor.check.database', {}, { ...base, status: 'warn', detail: t('doctor.db.missing', { path: dbPath }), fix: t('doctor.agent.fix', { cmd: CMD.start }) });
      }
      const store = Store.open(config.data_dir, { readonly: true });
      try {
        result = store.integrityCheck();
      } finally {
        store.close();
      }
      via = 'doctor.db.via_file';
    }
  } catch (err) {
    return row(t, 'doctor.check.database', {}, {
      ...base,
      status: 'fail',
      detail: t('doctor.db.open_failed', { path: dbPath, message: (err as Error).message }),
      fix: t('doctor.db.fix', { path: dbPath, cmd: `sqlite3 ${dbPath} .recover | sqlite3 ${dbPath}.recovered` }),
    });
  }
  if (result.length === 1 && result[0] === 'ok') {
    return row(t, 'doctor.check.database', {}, { ...base, status: 'pass', detail: `${t('doctor.db.ok', { path: dbPath })} (${t(via)})` });
  }
  return row(t, 'doctor.check.database', {}, {
    ...base,
    status: 'fail',
    detail: t('doctor.db.corrupt', { path: dbPath, first: result[0] ?? '?' }),
    fix: t('doctor.db.fix', { path: dbPath, cmd: `sqlite3 ${dbPath} .recover | sqlite3 ${dbPath}.recovered` }),
  });
}

function serialOf(d: DeviceConfig): string | undefined {
  if ('serial' in d && d.serial) return d.serial.path;
  if (d.driver === 'cec' && d.adapter) return d.adapter;
  return undefined;
}

function hostOf(d: DeviceConfig): { host: string; port: number | undefined } | undefined {
  if ('host' in d && d.host) return { host: d.host, port: 'port' in d ? d.port : undefined };
  return undefined;
}

async function deviceCheck(t: Translate, d: DeviceConfig, states: DeviceState[] | undefined, timeoutMs: number): Promise<DoctorCheck> {
  const params = { id: d.id };
  const base = { check: `device:${d.id}` };
  const serial = serialOf(d);
  const net = hostOf(d);
  const where = serial ?? (net ? `${net.host}${net.port ? `:${net.port}` : ''}` : d.driver);
  const fix = serial ? t('doctor.device.fix_serial', { path: serial, cmd: `stationctl probe ${serial}` }) : t('doctor.device.fix_net', { where });
  if (states) {
    const s = states.find((x) => x.id === d.id);
    if (!s || !s.online) {
      return row(t, 'doctor.check.device', params, { ...base, status: 'fail', detail: t('doctor.device.offline', { where }), fix });
    }
    const ident = [s.model, s.serial_number].filter((v): v is string => typeof v === 'string' && v !== '');
    if (ident.length === 0) {
      return row(t, 'doctor.check.device', params, { ...base, status: 'warn', detail: t('doctor.device.unidentified'), fix: t('doctor.device.fix_identify') });
    }
    return row(t, 'doctor.check.device', params, {
      ...base,
      status: 'pass',
      detail: t('doctor.device.ok', { model: s.model ?? '-', serial: s.serial_number ?? '-' }),
    });
  }
  // The agent is down: a network device can still be checked for reachability, not identified.
  if (net && net.port !== undefined) {
    const err = await tcpProbe(net.host, net.port, timeoutMs);
    if (err) return row(t, 'doctor.check.device', params, { ...base, status: 'fail', detail: t('doctor.device.unreachable', { where, code: err }), fix });
    return row(t, 'doctor.check.device', params, { ...base, status: 'warn', detail: t('doctor.device.reachable_only', { where }), fix: t('doctor.agent.fix', { cmd: CMD.start }) });
  }
  return row(t, 'doctor.check.device', params, { ...base, status: 'warn', detail: t('doctor.device.not_checked'), fix: t('doctor.agent.fix', { cmd: CMD.start }) });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host, port });
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    s.once('connect', () => done(undefined));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? e.message));
  });
}

/** The stable /dev/serial/by-id (or by-path) name of a device node, if udev made one. */
function stableNameFor(real: string): string | undefined {
  for (const dir of ['/dev/serial/by-id', '/dev/serial/by-path']) {
    for (const name of readdirSafe(dir)) {
      const link = join(dir, name);
      try {
        if (realpathSync(link) === real) return link;
      } catch {
        /* a dangling link */
      }
    }
  }
  return undefined;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function serialChecks(t: Translate, config: Config, states: DeviceState[] | undefined): Promise<DoctorCheck[]> {
  const byPath = new Map<string, string[]>();
  for (const d of config.devices) {
    const p = serialOf(d);
    if (p) byPath.set(p, [...(byPath.get(p) ?? []), d.id]);
  }
  const out: DoctorCheck[] = [];
  for (const [path, ids] of byPath) {
    const params = { name: basename(path) };
    const base = { check: `serial:${path}` };
    const users = ids.join(', ');
    if (!existsSync(path)) {
      out.push(row(t, 'doctor.check.serial', params, { ...base, status: 'fail', detail: t('doctor.serial.missing', { path, devices: users }), fix: t('doctor.serial.fix_missing', { cmd: 'stationctl ports' }) }));
      continue;
    }
    const real = await realpath(path).catch(() => path);
    const stable = path.startsWith('/dev/serial/by-id/') || path.startsWith('/dev/serial/by-path/');
    const suggestion = stable ? undefined : stableNameFor(real);
    if (states) {
      // The daemon holds its ports with an exclusive lock, so opening it here would only say "busy".
      const online = ids.some((id) => states.find((s) => s.id === id)?.online);
      out.push(
        row(t, 'doctor.check.serial', params, {
          ...base,
          status: suggestion ? 'warn' : 'pass',
          detail: `${t('doctor.serial.present', { real })}; ${t(online ? 'doctor.serial.held_by_agent' : 'doctor.serial.agent_has_it')}`,
          ...(suggestion ? { fix: t('doctor.serial.fix_by_id', { link: suggestion }) } : {}),
        }),
      );
      continue;
    }
    const transport = new SerialTransport({ path, lock: true, presenceCheckMs: 0 });
    try {
      await transport.open();
      out.push(
        row(t, 'doctor.check.serial', params, {
          ...base,
          status: suggestion ? 'warn' : 'pass',
          detail: `${t('doctor.serial.present', { real })}; ${t('doctor.serial.free')}`,
          ...(suggestion ? { fix: t('doctor.serial.fix_by_id', { link: suggestion }) } : {}),
        }),
      );
    } catch (err) {
      const code = err instanceof AgentError ? err.code : 'error';
      const [detail, fix]: [MessageKey, MessageKey] =
        code === 'busy'
          ? ['doctor.serial.locked', 'doctor.serial.fix_locked']
          : code === 'forbidden'
            ? ['doctor.serial.denied', 'doctor.dialout.fix']
            : ['doctor.serial.open_failed', 'doctor.serial.fix_missing'];
      out.push(row(t, 'doctor.check.serial', params, { ...base, status: 'fail', detail: t(detail, { path, message: (err as Error).message }), fix: t(fix, { path, cmd: code === 'busy' ? `sudo fuser -v ${path}` : code === 'forbidden' ? `sudo usermod -aG dialout ${userInfo().username}` : 'stationctl ports' }) }));
    } finally {
      await transport.close();
    }
  }
  return out;
}

function groupGid(name: string): { gid: number; members: string[] } | undefined {
  try {
    for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
      const [n, , gid, members] = line.split(':');
      if (n === name && gid !== undefined) return { gid: Number(gid), members: (members ?? '').split(',').filter(Boolean) };
    }
  } catch {
    /* no /etc/group */
  }
  return undefined;
}

/**
 * The agent's user must be in `dialout` to open serial ports. When the agent runs, its own process
 * groups are the truth (systemd adds dialout through SupplementaryGroups); otherwise this user is checked.
 */
async function dialoutCheck(t: Translate, config: Config, pid: number | undefined): Promise<DoctorCheck | undefined> {
  if (!config.devices.some((d) => serialOf(d) !== undefined)) return undefined;
  const base = { check: 'dialout' };
  const dialout = groupGid('dialout');
  let user = userInfo().username;
  let uid = process.getuid?.() ?? -1;
  let groups = process.getgroups?.() ?? [];
  if (pid) {
    try {
      const st = await readFile(`/proc/${pid}/status`, 'utf8');
      uid = Number(/^Uid:\s+(\d+)/m.exec(st)?.[1] ?? uid);
      groups = (/^Groups:\s*(.*)$/m.exec(st)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
      user = t('doctor.dialout.agent_user', { pid });
    } catch {
      /* fall back to this process */
    }
  }
  if (uid === 0) return row(t, 'doctor.check.dialout', {}, { ...base, status: 'pass', detail: t('doctor.dialout.root', { user }) });
  if (!dialout) return row(t, 'doctor.check.dialout', {}, { ...base, status: 'warn', detail: t('doctor.dialout.no_group', { group: 'dialout' }) });
  if (groups.includes(dialout.gid)) return row(t, 'doctor.check.dialout', {}, { ...base, status: 'pass', detail: t('doctor.dialout.ok', { user, group: 'dialout' }) });
  return row(t, 'doctor.check.dialout', {}, { ...base, status: 'fail', detail: t('doctor.dialout.missing', { user, group: 'dialout' }), fix: t('doctor.dialout.fix', { cmd: `sudo usermod -aG dialout ${pid ? 'station-agent' : userInfo().username}` }) });
}

export interface BrokerTarget {
  host: string;
  port: number;
  tls: boolean;
}

export function brokerTarget(url: string): BrokerTarget {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : tls ? 8883 : 1883, tls };
}

function withTimeout<T>(p: Promise<T>, ms: number, code = 'ETIMEDOUT'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(code), { code })), ms);
    }),
  ]);
}

const TLS_CA_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT']);

function tlsFailure(t: Translate, err: NodeJS.ErrnoException, caFile: string | undefined): { detail: string; fix: string } {
  const code = err.code ?? '';
  if (TLS_CA_CODES.has(code)) return { detail: t('doctor.tls.untrusted', { code }), fix: t('doctor.tls.fix_ca', { ca: caFile ?? '-' }) };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { detail: t('doctor.tls.expired', { code }), fix: t('doctor.tls.fix_clock') };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { detail: t('doctor.tls.wrong_name', { code }), fix: t('doctor.tls.fix_name') };
  return { detail: t('doctor.tls.failed', { message: `${err.message}${code ? ` [${code}]` : ''}` }), fix: t('doctor.tls.fix_generic') };
}

async function brokerChecks(t: Translate, config: Config, timeoutMs: number): Promise<DoctorCheck[]> {
  const county = config.county!;
  const out: DoctorCheck[] = [];
  const target = brokerTarget(county.url);
  const where = `${target.host}:${target.port}`;
  const skipped = (check: string, labelKey: MessageKey, because: MessageKey) =>
    row(t, labelKey, {}, { check, status: 'fail', detail: t('doctor.skipped', { because: t(because) }), fix: t('doctor.skipped_fix') });

  // DNS
  let address = target.host;
  if (isIP(target.host)) {
    out.push(row(t, 'doctor.check.broker_dns', {}, { check: 'broker_dns', status: 'pass', detail: t('doctor.dns.ip', { host: target.host }) }));
  } else {
    try {
      const r = await withTimeout(lookup(target.host), timeoutMs);
      address = r.address;
      out.push(row(t, 'doctor.check.broker_dns', {}, { check: 'broker_dns', status: 'pass', detail: t('doctor.dns.ok', { host: target.host, address }) }));
    } catch (err) {
      out.push(
        row(t, 'doctor.check.broker_dns', {}, {
          check: 'broker_dns',
          status: 'fail',
          detail: t('doctor.dns.failed', { host: target.host, code: (err as NodeJS.ErrnoException).code ?? '' }),
          fix: t('doctor.dns.fix', { file: '/etc/resolv.conf' }),
        }),
      );
      out.push(skipped('broker_tcp', 'doctor.check.broker_tcp', 'doctor.check.broker_dns'));
      if (target.tls) out.push(skipped('broker_tls', 'doctor.check.broker_tls', 'doctor.check.broker_dns'));
      out.push(skipped('broker_auth', 'doctor.check.broker_auth', 'doctor.check.broker_dns'));
      return out;
    }
  }

  // TCP
  const tcpErr = await tcpProbe(address, target.port, timeoutMs);
  if (tcpErr) {
    out.push(
      row(t, 'doctor.check.broker_tcp', {}, {
        check: 'broker_tcp',
        status: 'fail',
        detail: t('doctor.tcp.failed', { where, code: tcpErr }),
        fix: t(tcpErr === 'ECONNREFUSED' ? 'doctor.tcp.fix_refused' : 'doctor.tcp.fix_unreachable', { where }),
      }),
    );
    if (target.tls) out.push(skipped('broker_tls', 'doctor.check.broker_tls', 'doctor.check.broker_tcp'));
    out.push(skipped('broker_auth', 'doctor.check.broker_auth', 'doctor.check.broker_tcp'));
    return out;
  }
  out.push(row(t, 'doctor.check.broker_tcp', {}, { check: 'broker_tcp', status: 'pass', detail: t('doctor.tcp.ok', { where }) }));

  // TLS
  let ca: Buffer | undefined;
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  let password: string | undefined;
  try {
    if (county.ca_file) ca = await readFile(county.ca_file);
    if (county.cert_file) cert = await readFile(county.cert_file);
    if (county.key_file) key = await readFile(county.key_file);
    if (county.password_file) password = (await readFile(county.password_file, 'utf8')).trim();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    out.push(
      row(t, 'doctor.check.broker_auth', {}, {
        check: 'broker_auth',
        status: 'fail',
        detail: t('doctor.auth.secret_unreadable', { path: e.path ?? '', code: e.code ?? e.message }),
        fix: t('doctor.auth.fix_secret'),
      }),
    );
    return out;
  }
  const servername = isIP(target.host) ? undefined : target.host;
  if (target.tls) {
    try {
      const peer = await withTimeout(
        new Promise<PeerCertificate>((resolve, reject) => {
          const s = tlsConnect({ host: address, port: target.port, ...(servername ? { servername } : {}), ...(ca ? { ca } : {}), ...(cert && key ? { cert, key } : {}), rejectUnauthorized: true });
          s.once('secureConnect', () => {
            const p = s.getPeerCertificate();
            s.destroy();
            resolve(p);
          });
          s.once('error', (e) => {
            s.destroy();
            reject(e);
          });
        }),
        timeoutMs,
      );
      out.push(
        row(t, 'doctor.check.broker_tls', {}, {
          check: 'broker_tls',
          status: 'pass',
          detail: t('doctor.tls.ok', { subject: String(peer.subject?.CN ?? '?'), until: peer.valid_to ?? '?' }),
        }),
      );
    } catch (err) {
      const f = tlsFailure(t, err as NodeJS.ErrnoException, county.ca_file);
      out.push(row(t, 'doctor.check.broker_tls', {}, { check: 'broker_tls', status: 'fail', ...f }));
      out.push(skipped('broker_auth', 'doctor.check.broker_auth', 'doctor.check.broker_tls'));
      return out;
    }
  }

  out.push(await authCheck(t, config, target, { ca, cert, key, password, servername }, timeoutMs));
  return out;
}

interface Secrets {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  password: string | undefined;
  servername: string | undefined;
}

/**
 * A real MQTT CONNECT with the station's credentials, under a client id of its own so the running
 * agent's session is not kicked off the broker. MQTT 5 first: its reason codes tell "bad user name or
 * password" (0x86) from "not authorized" (0x87); a 3.1.1-only broker refuses v5 and is asked again.
 */
async function authCheck(t: Translate, config: Config, target: BrokerTarget, s: Secrets, timeoutMs: number): Promise<DoctorCheck> {
  const county = config.county!;
  const base = { check: 'broker_auth' };
  const user = county.username ?? '-';
  const connectOnce = async (protocolVersion: 4 | 5) => {
    const opts: IClientOptions = {
      clientId: `stationctl-doctor-${config.station.id}-${process.pid}`,
      protocolVersion,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...(county.username ? { username: county.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(target.tls ? { rejectUnauthorized: true, ...(s.ca ? { ca: s.ca } : {}), ...(s.cert && s.key ? { cert: s.cert, key: s.key } : {}), ...(s.servername ? { servername: s.servername } : {}) } : {}),
    };
    return mqtt.connectAsync(county.url, opts, false);
  };
  let client: mqtt.MqttClient;
  try {
    try {
      client = await withTimeout(connectOnce(5), timeoutMs + 1000);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // 0x84 unsupported protocol version (v5) / 1 (v3.1.1): an older broker.
      if (code === 132 || code === 1) client = await withTimeout(connectOnce(4), timeoutMs + 1000);
      else throw err;
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const [detail, fix]: [MessageKey, MessageKey] =
      code === 134 || code === 4
        ? ['doctor.auth.bad_credentials', 'doctor.auth.fix_credentials']
        : code === 135 || code === 5
          ? ['doctor.auth.not_authorized', 'doctor.auth.fix_not_authorized']
          : code === 133 || code === 2
            ? ['doctor.auth.client_id', 'doctor.auth.fix_not_authorized']
            : ['doctor.auth.failed', 'doctor.tcp.fix_unreachable'];
    return row(t, 'doctor.check.broker_auth', {}, {
      ...base,
      status: 'fail',
      detail: t(detail, { user, code: String(code ?? ''), message: (err as Error).message }),
      fix: t(fix, { user, password_file: county.password_file ?? '-', where: `${target.host}:${target.port}` }),
    });
  }
  // Logged in; an ACL that forbids this station's own topics is the next thing that goes wrong.
  const topic = `${county.topic_prefix}/${config.station.id}/ack`;
  try {
    const granted = await withTimeout(client.subscribeAsync(topic, { qos: 1 }), timeoutMs);
    const denied = granted.some((g) => g.qos >= 128);
    await client.endAsync(true).catch(() => undefined);
    if (denied) {
      return row(t, 'doctor.check.broker_auth', {}, { ...base, status: 'warn', detail: t('doctor.auth.acl_denied', { user, topic }), fix: t('doctor.auth.fix_acl', { topic }) });
    }
  } catch {
    await client.endAsync(true).catch(() => undefined);
  }
  return row(t, 'doctor.check.broker_auth', {}, { ...base, status: 'pass', detail: t('doctor.auth.ok', { user }) });
}

function outboxCheck(t: Translate, config: Config): DoctorCheck {
  const base = { check: 'outbox' };
  if (!existsSync(join(config.data_dir, DB_FILE))) {
    return row(t, 'doctor.check.outbox', {}, { ...base, status: 'pass', detail: t('doctor.outbox.empty') });
  }
  let r: { n: number; oldest: string | null; first: number | null };
  try {
    // Read-only and WAL: safe beside a running agent.
    const store = Store.open(config.data_dir, { readonly: true });
    try {
      const d = store.outbox.depth();
      r = { n: d.count, oldest: d.oldest_ts, first: d.first_seq };
    } finally {
      store.close();
    }
  } catch (err) {
    return row(t, 'doctor.check.outbox', {}, { ...base, status: 'warn', detail: (err as Error).message });
  }
  if (r.n === 0) return row(t, 'doctor.check.outbox', {}, { ...base, status: 'pass', detail: t('doctor.outbox.empty') });
  if (!config.county) return row(t, 'doctor.check.outbox', {}, { ...base, status: 'pass', detail: t('doctor.outbox.local_only', { count: r.n }) });
  const ageH = r.oldest ? (Date.now() - Date.parse(r.oldest)) / 3_600_000 : 0;
  const detail = t('doctor.outbox.waiting', { count: r.n, seq: r.first ?? '-', oldest: r.oldest ?? '-', hours: Math.max(0, Math.round(ageH)) });
  if (ageH > OUTBOX_WARN_H) return row(t, 'doctor.check.outbox', {}, { ...base, status: 'warn', detail, fix: t('doctor.outbox.fix') });
  return row(t, 'doctor.check.outbox', {}, { ...base, status: 'pass', detail });
}

function execText(file: string, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs }, (err, stdout) => (err && !stdout ? reject(err) : resolve(String(stdout).trim())));
  });
}

/**
 * Whether the wall clock is synchronised: systemd-timesyncd's flag file, else timedatectl.
 * STATION_AGENT_CLOCK_SYNCED=0|1 overrides both (tests, and hosts synchronised some other way).
 */
export async function clockSynced(env: NodeJS.ProcessEnv = process.env): Promise<boolean | undefined> {
  const o = env.STATION_AGENT_CLOCK_SYNCED;
  if (o === '1' || o === '0') return o === '1';
  if (existsSync('/run/systemd/timesync/synchronized')) return true;
  try {
    const v = await execText('timedatectl', ['show', '-p', 'NTPSynchronized', '--value']);
    if (v === 'yes') return true;
    if (v === 'no') return false;
  } catch {
    /* no timedatectl (container, minimal image) */
  }
  return undefined;
}

async function clockCheck(t: Translate, env: NodeJS.ProcessEnv): Promise<DoctorCheck> {
  const synced = await clockSynced(env);
  const now = new Date().toISOString();
  const base = { check: 'clock' };
  if (synced === true) return row(t, 'doctor.check.clock', {}, { ...base, status: 'pass', detail: t('doctor.clock.ok', { now }) });
  if (synced === false) return row(t, 'doctor.check.clock', {}, { ...base, status: 'fail', detail: t('doctor.clock.unsynced', { now }), fix: t('doctor.clock.fix', { cmd: 'sudo timedatectl set-ntp true' }) });
  return row(t, 'doctor.check.clock', {}, { ...base, status: 'warn', detail: t('doctor.clock.unknown', { now }), fix: t('doctor.clock.fix', { cmd: 'sudo timedatectl set-ntp true' }) });
}

async function systemdCheck(t: Translate, env: NodeJS.ProcessEnv): Promise<DoctorCheck | undefined> {
  if (env.STATION_AGENT_NO_SYSTEMD === '1' || !existsSync('/run/systemd/system')) return undefined;
  const base = { check: 'systemd' };
  let props: Record<string, string>;
  try {
    const text = await execText('systemctl', ['show', SYSTEMD_UNIT, '-p', 'LoadState', '-p', 'ActiveState', '-p', 'SubState', '-p', 'UnitFileState']);
    props = Object.fromEntries(text.split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  } catch (err) {
    return row(t, 'doctor.check.systemd', {}, { ...base, status: 'warn', detail: (err as Error).message });
  }
  const state = `${props.ActiveState ?? '?'}/${props.SubState ?? '?'}, ${props.UnitFileState || '-'}`;
  if (props.LoadState === 'not-found') return row(t, 'doctor.check.systemd', {}, { ...base, status: 'warn', detail: t('doctor.systemd.not_installed', { unit: SYSTEMD_UNIT }), fix: t('doctor.systemd.fix_install', { cmd: 'sudo scripts/install.sh' }) });
  if (props.ActiveState === 'active') {
    const enabled = props.UnitFileState === 'enabled';
    return row(t, 'doctor.check.systemd', {}, { ...base, status: enabled ? 'pass' : 'warn', detail: t('doctor.systemd.state', { unit: SYSTEMD_UNIT, state }), ...(enabled ? {} : { fix: t('doctor.systemd.fix_enable', { cmd: CMD.enable }) }) });
  }
  return row(t, 'doctor.check.systemd', {}, {
    ...base,
    status: 'fail',
    detail: t('doctor.systemd.state', { unit: SYSTEMD_UNIT, state }),
    fix: t(props.ActiveState === 'failed' ? 'doctor.systemd.fix_failed' : 'doctor.systemd.fix_enable', { cmd: props.ActiveState === 'failed' ? 'journalctl -u station-agent -n 50' : CMD.enable, cmd2: 'sudo systemctl restart station-agent' }),
  });
}
