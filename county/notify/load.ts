/**
 * Loads the notify file (`county-collector run --notify FILE`, or `notify:` in county.yaml's collector
 * section) the way the county config is loaded (county/config.ts): bounded, regular files only, YAML
 * without duplicate keys or alias bombs, unknown keys refused with their key path, exit 78. Each
 * target's URL (it holds the robot's key) and signing secret are read from their own files, relative
 * to the notify file: refused when other users may read them, and never written anywhere: messages
 * name the file, never what is in it.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { CountyConfigError, formatIssues, parseYamlText, readConfigText } from '../config.js';
import { NotifySchema, type NotifyConfig } from './config.js';
import type { ResolvedTarget } from './dispatcher.js';

/** A robot's URL or secret is a line; anything near this is not one. */
export const MAX_SECRET_BYTES = 4096;

export interface LoadedNotify {
  /** The notify file, absolute. */
  file: string;
  config: NotifyConfig;
  /** The targets with their URLs and secrets read (absolute file paths). */
  targets: ResolvedTarget[];
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\])$/i;

/** A secret file's one line, or why it cannot be used (never its content). */
function readSecret(file: string): { value: string } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    return { problem: `${file}: 无法打开 / cannot open (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: `${file}: 不是普通文件 / not a regular file` };
    if ((st.mode & 0o007) !== 0) {
      return { problem: `${file}: 其他用户可读写，请 chmod o-rwx（例如 0640 root:station-county）/ other users may read or write it: chmod o-rwx (e.g. 0640 root:station-county)` };
    }
    if (st.size > MAX_SECRET_BYTES) return { problem: `${file}: 文件太大（上限 ${MAX_SECRET_BYTES} 字节）/ too large (at most ${MAX_SECRET_BYTES} bytes)` };
    const buf = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_SECRET_BYTES) return { problem: `${file}: 文件太大（上限 ${MAX_SECRET_BYTES} 字节）/ too large (at most ${MAX_SECRET_BYTES} bytes)` };
    const value = buf.subarray(0, n).toString('utf8').trim();
    if (value === '') return { problem: `${file}: 文件是空的 / empty` };
    if (/[\u0000-\u001f\u007f]/.test(value)) return { problem: `${file}: 须只有一行，不含控制字符 / must be one line without control characters` };
    return { value };
  } finally {
    closeSync(fd);
  }
}

/** Why a robot URL cannot be used (without quoting it: it holds the robot's key). */
function urlProblem(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return '不是网址 / not a URL';
  }
  if (u.username || u.password) return '网址中不能带用户名或密码 / must not carry a user name or password';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && LOOPBACK.test(u.hostname)) return undefined;
  return '须为 https://（http:// 只限本机）/ must be https:// (http:// only on this host)';
}

/** Parses and checks notify text; `file` names it in messages and anchors the relative paths of its secret files. */
export function parseNotifyConfig(textIn: string, file: string): LoadedNotify {
  const abs = resolve(file);
  const parsed = NotifySchema.safeParse(parseYamlText(textIn, abs));
  if (!parsed.success) throw new CountyConfigError(abs, formatIssues(parsed.error.issues));
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(dirname(abs), p));
  const problems: string[] = [];
  const targets: ResolvedTarget[] = [];
  parsed.data.targets.forEach((t, i) => {
    const urlFile = at(t.url_file);
    const url = readSecret(urlFile);
    if ('problem' in url) problems.push(`targets.${i}.url_file: ${url.problem}`);
    else {
      const why = urlProblem(url.value);
      if (why) problems.push(`targets.${i}.url_file: ${urlFile}: ${why}`);
    }
    const secretFile = t.secret_file === undefined ? undefined : at(t.secret_file);
    const secret = secretFile === undefined ? undefined : readSecret(secretFile);
    if (secret && 'problem' in secret) problems.push(`targets.${i}.secret_file: ${secret.problem}`);
    if ('value' in url && (!secret || 'value' in secret)) {
      targets.push({ ...t, url_file: urlFile, ...(secretFile !== undefined ? { secret_file: secretFile } : {}), url: url.value, ...(secret && 'value' in secret ? { secret: secret.value } : {}) });
    }
  });
  if (problems.length > 0) throw new CountyConfigError(abs, problems);
  return { file: abs, config: parsed.data, targets };
}

export function loadNotifyConfig(file: string): LoadedNotify {
  return parseNotifyConfig(readConfigText(file), file);
}
