/**
 * Serial ports and the permission to open them. Each configured port must exist; a /dev/ttyUSB* name
 * gets the stable /dev/serial/by-id name suggested. With the daemon down the port is opened (with the
 * same exclusive lock the agent takes) and released, so "locked by another program" and "permission
 * denied" show here rather than in the agent's log.
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { userInfo } from 'node:os';
import type { Config } from '../../../config/schema.js';
import type { DeviceState } from '../../../drivers/types.js';
import { SerialTransport } from '../../../drivers/transport/serial.js';
import { AgentError, ErrorCodes } from '../../../protocol/errors.js';
import type { MessageKey, Translate } from '../../i18n/index.js';
import { rowMaker, type Check, type DoctorCheck, type DoctorContext } from './check.js';
import { serialOf } from './device-cause.js';
import { errnoOf, osWhy } from './os-errors.js';

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
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

async function portRow(t: Translate, path: string, ids: string[], states: DeviceState[] | undefined): Promise<DoctorCheck> {
  const r = rowMaker(t, `serial:${path}`, 'doctor.check.serial', { name: basename(path) });
  if (!existsSync(path)) {
    return r.fail(t('doctor.serial.missing', { path, devices: ids.join(', ') }), t('doctor.serial.fix_missing', { cmd: 'stationctl ports' }), { cause: 'adapter_missing' });
  }
  const real = await realpath(path).catch(() => path);
  const stable = path.startsWith('/dev/serial/by-id/') || path.startsWith('/dev/serial/by-path/');
  const suggestion = stable ? undefined : stableNameFor(real);
  const present = (how: string) =>
    r.of(suggestion ? 'warn' : 'pass', `${t('doctor.serial.present', { real })}; ${how}`, suggestion ? t('doctor.serial.fix_by_id', { link: suggestion }) : undefined, {
      cause: suggestion ? 'port_unstable_name' : 'ok',
    });
  if (states) {
    // The daemon holds its ports with an exclusive lock, so opening it here would only say "busy".
    const online = ids.some((id) => states.find((s) => s.id === id)?.online);
    return present(t(online ? 'doctor.serial.held_by_agent' : 'doctor.serial.agent_has_it'));
  }
  const transport = new SerialTransport({ path, lock: true, presenceCheckMs: 0 });
  try {
    await transport.open();
    return present(t('doctor.serial.free'));
  } catch (err) {
    const code = err instanceof AgentError ? err.code : undefined;
    const [cause, detail, fix, cmd]: [string, MessageKey, MessageKey, string] =
      code === ErrorCodes.busy
        ? ['port_locked', 'doctor.serial.locked', 'doctor.serial.fix_locked', `sudo fuser -v ${path}`]
        : code === ErrorCodes.forbidden
          ? ['port_permission', 'doctor.serial.denied', 'doctor.dialout.fix', `sudo usermod -aG dialout ${userInfo().username}`]
          : ['port_open_failed', 'doctor.serial.open_failed_class', 'doctor.serial.fix_missing', 'stationctl ports'];
    const why = osWhy(t, errnoOf((err as { cause?: unknown }).cause ?? err));
    return r.fail(t(detail, { path, why }), t(fix, { path, cmd }), { cause, raw: (err as Error).message });
  } finally {
    await transport.close();
  }
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
async function dialoutRow(t: Translate, pid: number | undefined): Promise<DoctorCheck> {
  const r = rowMaker(t, 'dialout', 'doctor.check.dialout');
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
  if (uid === 0) return r.pass(t('doctor.dialout.root', { user }));
  if (!dialout) return r.warn(t('doctor.dialout.no_group', { group: 'dialout' }), undefined, { cause: 'no_dialout_group' });
  if (groups.includes(dialout.gid)) return r.pass(t('doctor.dialout.ok', { user, group: 'dialout' }));
  return r.fail(t('doctor.dialout.missing', { user, group: 'dialout' }), t('doctor.dialout.fix', { cmd: `sudo usermod -aG dialout ${pid ? 'station-agent' : userInfo().username}` }), {
    cause: 'not_in_dialout',
  });
}

/** Configured serial paths, each with the ids of the devices on it (a bus carries several). */
function portsOf(config: Config): Map<string, string[]> {
  const byPath = new Map<string, string[]>();
  for (const d of config.devices) {
    const p = serialOf(d);
    if (p) byPath.set(p, [...(byPath.get(p) ?? []), d.id]);
  }
  return byPath;
}

export const serialCheck: Check = {
  family: 'serial',
  run: async ({ t, config, devices, status }: DoctorContext) => {
    const ports = portsOf(config);
    const out: DoctorCheck[] = [];
    for (const [path, ids] of ports) out.push(await portRow(t, path, ids, devices));
    if (ports.size > 0) out.push(await dialoutRow(t, status?.agent.pid));
    return out;
  },
};
