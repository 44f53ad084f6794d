/**
 * Controller for the fake `cec-client` (scripts/sims/bin/cec-client, a POSIX sh script so it runs
 * without a build step). A test or the demo creates a FakeCec, passes `env()` to the CEC driver (PATH
 * with the fake first, FAKE_CEC_STATE), and changes the simulated adapter and devices here.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type FakeCecPower = 'on' | 'standby' | 'warming' | 'cooling';

/** scripts/sims/bin, found from source or from dist/. */
export function fakeCecBinDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'scripts', 'sims', 'bin');
    if (existsSync(join(candidate, 'cec-client'))) return candidate;
    if (existsSync(join(dir, 'bin', 'cec-client'))) return join(dir, 'bin');
    dir = dirname(dir);
  }
  throw new Error('scripts/sims/bin/cec-client not found');
}

export class FakeCec {
  readonly dir: string;
  readonly stateFile: string;
  private state = new Map<string, string>();

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'fake-cec-'));
    this.stateFile = join(this.dir, 'state');
    this.set('adapter', 'absent');
  }

  /** Environment for the driver's child processes: the fake first on PATH. */
  env(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    return { ...base, PATH: `${fakeCecBinDir()}:${base.PATH ?? '/usr/bin:/bin'}`, FAKE_CEC_STATE: this.stateFile };
  }

  /** Adapter present (auto-detected, or only at `port`), or absent. */
  setAdapter(present: boolean, port?: string): void {
    this.set('adapter', present ? 'present' : 'absent');
    if (port !== undefined) this.set('port', port);
  }

  setPower(logicalAddress: number, power: FakeCecPower): void {
    this.set(`power_${logicalAddress.toString(16)}`, power);
  }

  /** Seconds the fake waits before reading its command (to test timeouts). */
  setDelay(seconds: number | undefined): void {
    this.load();
    if (seconds === undefined) this.state.delete('delay');
    else this.state.set('delay', String(seconds));
    this.flush();
  }

  power(logicalAddress: number): string | undefined {
    this.load();
    return this.state.get(`power_${logicalAddress.toString(16)}`);
  }

  /** Lines the fake logged: `args …` per start, `cmd …` per command. */
  log(): string[] {
    try {
      return readFileSync(`${this.stateFile}.log`, 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      return [];
    }
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private set(key: string, value: string): void {
    this.load();
    this.state.set(key, value);
    this.flush();
  }

  private load(): void {
    if (!existsSync(this.stateFile)) return;
    this.state = new Map(
      readFileSync(this.stateFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
    );
  }

  private flush(): void {
    writeFileSync(this.stateFile, [...this.state].map(([k, v]) => `${k}=${v}\n`).join(''));
  }
}
