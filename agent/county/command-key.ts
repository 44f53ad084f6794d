/**
 * The county command key (`county.command_key_file`), read once when the link starts: it verifies
 * county requests (admission.ts) and county acks (ack-gate.ts). When the file is set but unreadable the
 * link fails closed: no request runs and no ack is believed, while reporting goes on.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { CountyConfig } from '../../config/schema.js';

export type CommandKey =
  | { state: 'none' }
  | { state: 'loaded'; key: Buffer }
  | { state: 'unreadable'; problem: string };

export const NO_COMMAND_KEY: CommandKey = { state: 'none' };

export async function loadCommandKey(county: Pick<CountyConfig, 'command_key_file'>, log: Logger): Promise<CommandKey> {
  const file = county.command_key_file;
  if (!file) return NO_COMMAND_KEY;
  let key: Buffer;
  try {
    key = Buffer.from((await readFile(file, 'utf8')).trim(), 'utf8');
  } catch (err) {
    const problem = `cannot read county.command_key_file ${file}: ${(err as Error).message}`;
    log.error({ err }, problem);
    return { state: 'unreadable', problem };
  }
  if (key.length === 0) {
    const problem = `county.command_key_file ${file} is empty`;
    log.error(problem);
    return { state: 'unreadable', problem };
  }
  if (key.length < 16) log.warn('county.command_key_file holds fewer than 16 bytes: use a longer random key');
  return { state: 'loaded', key };
}
