/**
 * `stationctl evidence init`: makes a station's seed (docs/evidence.md "Enrollment"). 32 random bytes
 * become the key of the current epoch, written to the seed file (mode 0600, owned by the agent's user
 * when run as root) and, with the station id, epoch length, epoch and time, to the county's enrollment
 * copy (mode 0600, owned by whoever ran the command: it is carried away and deleted here).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { epochOf, SEED_BYTES } from '../../protocol/evidence.js';
import { ENROLLMENT_KIND, seedId, type Enrollment } from '../../protocol/enrollment.js';
import { DATA_DIR_MODE } from '../store/store.js';
import { KEY_FILE_KIND, keyFileText, replaceFile, type KeyFile, type Owner } from './key-file.js';

/** The user the packaged agent runs as (systemd/station-agent.sysusers.conf, scripts/package/debian/postinst). */
export const AGENT_USER = 'station-agent';

export interface InitResult {
  seed_file: string;
  enrollment_file: string;
  station_id: string;
  seed_id: string;
  epoch: number;
  epoch_s: number;
  created: string;
  /** The owner the seed file was given (root only), null when it stayed the caller's. */
  owner: Owner | null;
}

/**
 * The agent's user as root sees it: `station-agent` when it exists (getent: passwd, LDAP, whatever NSS
 * has), else the owner of the folder the seed goes in (the data dir is the agent's: postinst, tmpfiles).
 * Null when not root: the file stays the caller's, who is then the agent's user.
 */
export function agentOwner(folder: string): Owner | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const line = execFileSync('getent', ['passwd', AGENT_USER], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const [, , uid, gid] = line.trim().split(':');
    if (uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) return { uid: Number(uid), gid: Number(gid) };
  } catch {
    /* no such user here (a development machine) */
  }
  const st = statSync(folder);
  return { uid: st.uid, gid: st.gid };
}

export function initEvidence(options: {
  seedFile: string;
  outDir: string;
  stationId: string;
  epochS: number;
  nowMs: number;
  /** Replace an existing seed (a rotation). */
  force: boolean;
}): InitResult {
  const folder = dirname(options.seedFile);
  if (!existsSync(folder)) {
    // The data dir of an agent that never ran: made as the agent would make it, and given to its user.
    mkdirSync(folder, { recursive: true, mode: DATA_DIR_MODE });
    const owner = agentOwner(dirname(folder));
    if (owner && process.getuid?.() === 0) chownSync(folder, owner.uid, owner.gid);
  }
  const owner = agentOwner(folder);
  const seed = randomBytes(SEED_BYTES);
  const epoch = epochOf(options.nowMs, options.epochS);
  const created = new Date(options.nowMs).toISOString();
  const id = seedId(seed);
  const keyFile: KeyFile = { v: 1, kind: KEY_FILE_KIND, station_id: options.stationId, seed_id: id, epoch_s: options.epochS, epoch, key: seed.toString('hex') };
  const enrollment: Enrollment = { v: 1, kind: ENROLLMENT_KIND, station_id: options.stationId, seed_id: id, seed: seed.toString('hex'), epoch, epoch_s: options.epochS, created };
  const enrollmentFile = join(options.outDir, `${options.stationId}-evidence-${id}.json`);
  mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  // The enrollment copy first: a seed nobody can enroll would seal records nobody can check.
  replaceFile(enrollmentFile, `${JSON.stringify(enrollment, null, 2)}\n`, { exclusive: true });
  try {
    replaceFile(options.seedFile, keyFileText(keyFile), { owner: owner ?? undefined, exclusive: !options.force });
  } catch (err) {
    rmSync(enrollmentFile, { force: true });
    throw err;
  } finally {
    seed.fill(0);
  }
  return {
    seed_file: options.seedFile,
    enrollment_file: enrollmentFile,
    station_id: options.stationId,
    seed_id: id,
    epoch,
    epoch_s: options.epochS,
    created,
    owner,
  };
}
