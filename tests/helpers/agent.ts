/**
 * Runs the built daemon (dist/agent/main.js) and stationctl as real child processes against a config
 * written into a temp folder (tempDir/removeDir of scripts/lib/kit). The test command builds before it tests.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from '../../scripts/lib/kit/wait.js';
import { spawnCaptured, type Captured } from '../../scripts/lib/kit/process.js';
import { AGENT_NODE_FLAGS } from '../../agent/version.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const AGENT_JS = join(ROOT, 'dist', 'agent', 'main.js');
export const CTL_JS = join(ROOT, 'dist', 'agent', 'cli', 'stationctl.js');

/** A minimal valid config in `dir` (data and socket inside it), merged with `extra`. */
export function writeConfig(dir: string, extra: Record<string, unknown> = {}, name = 'config.yaml'): string {
  const config = {
    station: { id: 'test-station', name: '测试站点' },
    data_dir: join(dir, 'data'),
    control: { socket: join(dir, 'ctl.sock') },
    log: { level: 'info' },
    ...extra,
  };
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
}

/** The agent as a child process: its output, its exit, `stop(signal)`. */
export type RunningAgent = Captured;

export function startAgent(configFile: string, env: NodeJS.ProcessEnv = {}): RunningAgent {
  return spawnCaptured(process.execPath, [...AGENT_NODE_FLAGS, AGENT_JS, '--config', configFile], { ...process.env, ...env });
}

/** Waits until the agent answers `status` on its control socket. */
export async function waitReady(agent: RunningAgent, configFile: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(async () => {
    if (agent.proc.exitCode !== null) throw new Error(`agent exited early: ${agent.output()}`);
    const r = await ctl(['--json', '--config', configFile, 'status']);
    return r.code === 0 && r.stdout.includes('"running": true');
  }, timeoutMs, 100);
}

export interface CtlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function ctl(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CtlResult> {
  return new Promise((res) => {
    execFile(process.execPath, [CTL_JS, ...args], { env: { ...process.env, LANG: 'C', ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      res({ code, stdout, stderr });
    });
  });
}
