/**
 * The seed file: the station's current sealing key and its epoch, nothing else (docs/evidence.md "Key
 * handling"). `stationctl evidence init` writes it with the seed; the agent replaces it whenever the
 * epoch moves on, so the file only ever holds the newest key:
 *
 *   {"v":1,"kind":"station-agent-evidence-key","station_id":"village-01","seed_id":"…","epoch_s":3600,
 *    "epoch":490125,"key":"…64 hex…"}
 *
 * A replacement is written to a temp file in the same folder, fsynced, renamed over the old one, and the
 * folder fsynced; then the old file's bytes, still reachable through the descriptor kept open across the
 * rename, are overwritten with zeros and fsynced, so the old key is neither in the folder nor left in
 * its blocks (on a file system that writes in place, as ext4 does). A power cut at any point leaves
 * either the old key or the new one, whole.
 */
import { closeSync, constants, fchownSync, fstatSync, fsyncSync, linkSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { Id } from '../../protocol/schedule.js';
import { EPOCH_S_MAX, EPOCH_S_MIN, SeedIdSchema } from '../../protocol/enrollment.js';

export const KEY_FILE_KIND = 'station-agent-evidence-key';
export const KEY_FILE_MODE = 0o600;
/** A seed file is some 200 bytes. */
export const MAX_KEY_FILE_BYTES = 4096;

export const KeyFileSchema = z
  .object({
    v: z.literal(1),
    kind: z.literal(KEY_FILE_KIND),
    station_id: Id,
    seed_id: SeedIdSchema,
    epoch_s: z.number().int().min(EPOCH_S_MIN).max(EPOCH_S_MAX),
    epoch: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    key: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();
export type KeyFile = z.infer<typeof KeyFileSchema>;

export type ReadResult =
  | { ok: true; keyFile: KeyFile }
  | { ok: false; reason: 'missing' | 'unreadable' | 'not_a_file' | 'too_large' | 'invalid'; detail: string };

/** Reads and checks a seed file, bounded: a FIFO or a huge file is refused without being read. */
export function readKeyFile(file: string): ReadResult {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { ok: false, reason: code === 'ENOENT' ? 'missing' : 'unreadable', detail: code };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { ok: false, reason: 'not_a_file', detail: 'not a regular file' };
    if (st.size > MAX_KEY_FILE_BYTES) return { ok: false, reason: 'too_large', detail: `${st.size} bytes` };
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    let got = 0;
    for (;;) {
      const n = got > MAX_KEY_FILE_BYTES ? 0 : readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
    }
    if (got > MAX_KEY_FILE_BYTES) return { ok: false, reason: 'too_large', detail: `over ${MAX_KEY_FILE_BYTES} bytes` };
    const text = buf.subarray(0, got).toString('utf8');
    buf.fill(0);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'invalid', detail: 'not JSON' };
    }
    const parsed = KeyFileSchema.safeParse(raw);
    if (!parsed.success) {
      const kind = (raw as { kind?: unknown } | null)?.kind;
      const detail = typeof kind === 'string' && kind !== KEY_FILE_KIND ? `a ${kind} file, not a seed file` : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return { ok: false, reason: 'invalid', detail };
    }
    return { ok: true, keyFile: parsed.data };
  } catch (err) {
    return { ok: false, reason: 'unreadable', detail: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
  } finally {
    closeSync(fd);
  }
}

export interface Owner {
  uid: number;
  gid: number;
}

/**
 * Writes `text` to `file` as one atomic replacement, mode 0600 (and `owner` when given: a root
 * `evidence init` hands the file to the agent's user), and overwrites the replaced file's bytes.
 * `exclusive`: fail with EEXIST instead of replacing an existing file.
 */
export function replaceFile(file: string, text: string, options: { owner?: Owner | undefined; exclusive?: boolean } = {}): void {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.tmp`);
  // A temp file left by a crash holds at most a key newer than the file's: nothing to keep.
  try {
    unlinkSync(tmp);
  } catch {
    /* none */
  }
  const data = Buffer.from(text, 'utf8');
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, KEY_FILE_MODE);
  try {
    for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
    if (options.owner) fchownSync(fd, options.owner.uid, options.owner.gid);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  } finally {
    data.fill(0);
  }
  closeSync(fd);
  if (options.exclusive) {
    // link() fails with EEXIST when the name is taken: a new seed never replaces one by accident.
    try {
      linkSync(tmp, file);
    } finally {
      unlinkSync(tmp);
    }
    fsyncDir(dir);
    return;
  }
  let old: number | undefined;
  try {
    old = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(old).isFile()) {
      closeSync(old);
      old = undefined;
    }
  } catch {
    old = undefined;
  }
  try {
    renameSync(tmp, file);
    fsyncDir(dir);
  } catch (err) {
    if (old !== undefined) closeSync(old);
    throw err;
  }
  if (old === undefined) return;
  try {
    const size = fstatSync(old).size;
    if (size > 0 && size <= MAX_KEY_FILE_BYTES) {
      writeSync(old, Buffer.alloc(size), 0, size, 0);
      fsyncSync(old);
    }
  } finally {
    closeSync(old);
  }
}

/** A rename is durable once its folder is fsynced. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function keyFileText(keyFile: KeyFile): string {
  return `${JSON.stringify(keyFile)}\n`;
}
