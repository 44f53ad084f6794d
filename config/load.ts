/**
 * Loads and validates the YAML config. Every problem is reported with its key path in one pass
 * (`devices[2].serial.baud_rate: expected one of …`), then the daemon exits 78.
 */
import { accessSync, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve, join } from 'node:path';
import { PACKAGE_ROOT } from './package-root.js';
import { parseDocument, LineCounter } from 'yaml';
import { ConfigError, type ConfigHint } from './errors.js';
import { ConfigSchema, DEFAULT_SEED_FILE, type Config, type DeviceConfig } from './schema.js';
import { FrameProfileSchema } from './frame-profile.js';
import { validateCron } from '../protocol/cron.js';
import { formatIssues } from './issues.js';
import { configFiles } from './files.js';

/** The folder shipped profiles live in (config/profiles/), both from source and from dist/. */
export const PROFILES_DIR = join(PACKAGE_ROOT, 'config', 'profiles');

const DEFAULT_USAGE_KINDS = new Set(['projector', 'led_display', 'amplifier']);

/** A station's config is a few kilobytes: anything near this is a mistake or an attack, not a config. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A frame profile is a page of commands. */
export const MAX_PROFILE_BYTES = 256 * 1024;
/**
 * YAML aliases are expanded by toJS(); a few nested ones ("billion laughs") make gigabytes. Honest configs
 * use a handful (a shared serial block, say).
 */
export const MAX_YAML_ALIASES = 64;

/** Parses YAML text into plain data, bounded; every failure is a ConfigError naming `source`. */
export function parseYaml(text: string, source: string, maxBytes = MAX_CONFIG_BYTES): unknown {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new ConfigError([`${source}: file is larger than ${maxBytes} bytes; this is not a station config`]);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => `${source}: YAML ${e.message.split('\n')[0]}`));
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) ?? {};
  } catch (err) {
    // The yaml library refuses excessive alias expansion with a ReferenceError; say what it means.
    throw new ConfigError([`${source}: YAML aliases expand too far (more than ${MAX_YAML_ALIASES} uses): ${(err as Error).message.split('\n')[0]}`]);
  }
}

export interface LoadOptions {
  /** Check that `*_file` secrets and profile files exist and are readable (the daemon does; tests may not). */
  checkFiles?: boolean;
}

/** Parses and validates config text. `source` names the file in messages and resolves relative paths. */
export function parseConfig(text: string, source: string, options: LoadOptions = {}): Config {
  const raw = parseYaml(text, source);
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues));
  const config = result.data;
  const base = dirname(resolve(source));
  const problems: string[] = [];

  config.devices.forEach((d, i) => {
    if (d.usage === undefined) d.usage = DEFAULT_USAGE_KINDS.has(d.kind);
    if (d.driver === 'frame_profile' && typeof d.profile === 'string') {
      const file = findProfile(d.profile, base);
      if (!file) {
        problems.push(`devices[${i}].profile: no profile file ${d.profile} (looked in ${base} and ${PROFILES_DIR})`);
        return;
      }
      try {
        const parsed = FrameProfileSchema.safeParse(parseYaml(readBounded(file, MAX_PROFILE_BYTES, 'frame profile'), file, MAX_PROFILE_BYTES));
        if (!parsed.success) problems.push(...formatIssues(parsed.error.issues, ['devices', i, 'profile']));
        else (d as { profile: unknown }).profile = parsed.data;
      } catch (err) {
        if (err instanceof ConfigError) problems.push(...err.issues.map((issue) => `devices[${i}].profile: ${issue}`));
        else problems.push(`devices[${i}].profile: cannot read ${file}: ${(err as Error).message}`);
      }
    }
  });

  config.schedules.forEach((sch, i) => {
    try {
      validateCron(sch.cron, config.station.timezone);
    } catch (err) {
      problems.push(`schedules[${i}].cron: ${(err as Error).message}`);
    }
  });

  const hints: ConfigHint[] = [];
  if (options.checkFiles) {
    for (const { key, file, check } of configFiles(config)) {
      const path = resolveFrom(base, file);
      try {
        // The seed file belongs to the agent's user alone (0600): whoever else checks the config can
        // only see that it is there; the agent reads it when it starts.
        accessSync(path, check === 'exists' ? constants.F_OK : constants.R_OK);
      } catch {
        if (key === 'evidence.seed_file') {
          problems.push(`${key}: no seed file ${path}`);
          hints.push({ code: 'evidence_init', file: path });
        } else problems.push(`${key}: cannot read ${path}`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { hints });
  resolvePaths(config, base);
  return config;
}

function resolveFrom(base: string, file: string): string {
  return isAbsolute(file) ? file : resolve(base, file);
}

function findProfile(name: string, base: string): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : [resolve(base, name), join(PROFILES_DIR, name), join(PROFILES_DIR, `${name}.yaml`)];
  for (const c of candidates) {
    try {
      accessSync(c, constants.R_OK);
      return c;
    } catch {
      /* try the next */
    }
  }
  return undefined;
}

/** Relative file paths in the config are relative to the config file, as a technician expects. */
function resolvePaths(config: Config, base: string): void {
  config.data_dir = resolveFrom(base, config.data_dir);
  config.control.socket = resolveFrom(base, config.control.socket);
  const c = config.county;
  if (c) {
    for (const k of ['password_file', 'ca_file', 'cert_file', 'key_file', 'command_key_file'] as const) {
      if (c[k] !== undefined) c[k] = resolveFrom(base, c[k]);
    }
  }
  if (config.evidence) config.evidence.seed_file = resolveFrom(base, config.evidence.seed_file ?? join(config.data_dir, DEFAULT_SEED_FILE));
  const m = config.media?.mediamtx;
  if (m?.password_file !== undefined) m.password_file = resolveFrom(base, m.password_file);
  if (m?.token_file !== undefined) m.token_file = resolveFrom(base, m.token_file);
  for (const d of config.devices as DeviceConfig[]) {
    if ('password_file' in d && d.password_file !== undefined) d.password_file = resolveFrom(base, d.password_file);
  }
}

/**
 * Reads a config or profile file, refusing anything that is not a regular file and anything over
 * `maxBytes`, before holding more than `maxBytes + 1` bytes: /dev/zero, /dev/urandom or a huge file must
 * not be read until V8 gives up (exit 134, and systemd restarting into it again), and a FIFO must not
 * hang the agent or stationctl. O_NONBLOCK makes opening a FIFO return at once; it changes nothing for a
 * regular file. The size is checked on the open descriptor (fstat), so a swap after a check cannot slip by.
 */
export function readBounded(file: string, maxBytes: number, what: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new ConfigError([`${file}: cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError([`${file}: not a regular file (${fileKind(st)}); a ${what} must be a plain file`]);
    if (st.size > maxBytes) throw new ConfigError([`${file}: file is larger than ${maxBytes} bytes (${st.size}); this is not a ${what}`]);
    // Read to the cap plus one byte whatever fstat said: a file still growing is caught too.
    const buf = Buffer.alloc(maxBytes + 1);
    let got = 0;
    for (;;) {
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > maxBytes) throw new ConfigError([`${file}: file is larger than ${maxBytes} bytes; this is not a ${what}`]);
    }
    return buf.subarray(0, got).toString('utf8');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([`${file}: cannot read ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  } finally {
    closeSync(fd);
  }
}

function fileKind(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

export function loadConfig(file: string, options: LoadOptions = { checkFiles: true }): Config {
  return parseConfig(readBounded(file, MAX_CONFIG_BYTES, 'config'), file, options);
}
