import { spawn, type ChildProcess } from 'node:child_process';

/** Asks a child to stop (SIGTERM), kills it (SIGKILL) after `graceMs`, and resolves once it has exited. */
export function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A spawned child whose stdout and stderr are kept together as text. */
export interface Captured {
  proc: ChildProcess;
  /** Everything it wrote to stdout and stderr so far, interleaved as it came. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Signals it (SIGTERM by default; `pid`: another process to signal instead) unless it has exited, then waits for the exit. */
  stop(signal?: NodeJS.Signals, pid?: number): Promise<number | string>;
}

/** Spawns `command` with stdin closed and its output captured (agents, roots, long-running tools under test). */
export function spawnCaptured(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Captured {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | string>((res) => proc.on('exit', (code, sig) => res(code ?? sig ?? -1)));
  return {
    proc,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM', pid) => {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (pid) process.kill(pid, signal);
        else proc.kill(signal);
      }
      return exited;
    },
  };
}
