/**
 * What the MediaMTX client may write to a path configuration, and under which names for which server
 * (notes §6 and "Path hooks" in docs/reference/mediamtx-notes.md). The rules of writing, apart from the
 * HTTP of client.ts: a fetched config is never written back (since v1.20.1 passwords come back as
 * "<redacted>" and would be stored literally), deprecated hook names are refused from callers, and
 * current hook names are translated for servers older than the rename. Pure logic, no I/O: the server's
 * version comes in through the `info` callback.
 */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { PathConfPatch } from './types.js';

export const REDACTED = '<redacted>';

/** Objects returned by get*Conf; refused by add/patch so a fetched config cannot be written back. */
const fetched = new WeakSet<object>();

/** Marks a config the server returned, so assertWritable refuses it. */
export function markFetched(conf: unknown): void {
  if (conf && typeof conf === 'object') fetched.add(conf);
}

/**
 * Hook names: current (v1.19.3+) → the deprecated alias older servers know (notes "Path hooks":
 * runOnReady/runOnNotReady renamed in v1.19.3, still accepted with a warning; runOnOnline/runOnOffline
 * exist only from v1.19.3 on). The OpenAPI document marks the old ones `deprecated: true`.
 */
const HOOK_ALIASES: Readonly<Record<string, string | null>> = {
  runOnAvailable: 'runOnReady',
  runOnAvailableRestart: 'runOnReadyRestart',
  runOnUnavailable: 'runOnNotReady',
  runOnOnline: null,
  runOnOnlineRestart: null,
  runOnOffline: null,
};
const DEPRECATED_HOOKS: Readonly<Record<string, string>> = { runOnReady: 'runOnAvailable', runOnReadyRestart: 'runOnAvailableRestart', runOnNotReady: 'runOnUnavailable' };
/** The release that renamed the hooks. */
const HOOKS_RENAMED_IN: readonly [number, number, number] = [1, 19, 3];

/** `v1.20.1` → [1, 20, 1]; undefined for anything else (a dev build, no /v3/info). */
export function parseVersion(v: string | undefined): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

const atLeast = (v: readonly number[], min: readonly number[]): boolean => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== min[i]) return (v[i] ?? 0) > min[i]!;
  return true;
};

/** Refuses a fetched config, a deprecated hook name and any "<redacted>" value, naming where it is. */
export function assertWritable(conf: object, what: string): void {
  if (fetched.has(conf)) {
    throw new AgentError(ErrorCodes.invalid_args, `${what}: do not write back a fetched path config; send only the keys to change`);
  }
  const old = Object.keys(conf).find((k) => k in DEPRECATED_HOOKS);
  if (old !== undefined) {
    throw new AgentError(ErrorCodes.invalid_args, `${what}: ${old} is deprecated since MediaMTX v1.19.3; use ${DEPRECATED_HOOKS[old]} (the client writes the old name to older servers)`);
  }
  const walk = (v: unknown, at: string): void => {
    if (v === REDACTED) throw new AgentError(ErrorCodes.invalid_args, `${what}: ${at} is "${REDACTED}" (copied from a fetched config)`);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, at ? `${at}.${k}` : k);
  };
  walk(conf, '');
}

/**
 * Hooks under the names this server knows: the current ones from v1.19.3 on, the deprecated aliases
 * before (the server rejects unknown keys). Asks `info` (/v3/info) only when the patch carries a hook.
 */
export async function hooksForServer(
  patch: PathConfPatch,
  what: string,
  info: () => Promise<{ version?: string } | null>,
): Promise<PathConfPatch> {
  if (!Object.keys(patch).some((k) => k in HOOK_ALIASES)) return patch;
  const server = await info();
  const version = parseVersion(server?.version);
  // No /v3/info (before v1.15.2), or a version older than the rename: the old names.
  if (version !== undefined && atLeast(version, HOOKS_RENAMED_IN)) return patch;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch)) {
    if (!(k in HOOK_ALIASES)) {
      out[k] = v;
      continue;
    }
    const alias = HOOK_ALIASES[k];
    if (alias === null || alias === undefined) {
      throw new AgentError(ErrorCodes.unsupported, `${what}: MediaMTX ${server?.version ?? '(before v1.15.2)'} has no ${k}; it arrived in v1.19.3`);
    }
    out[alias] = v;
  }
  return out as PathConfPatch;
}
