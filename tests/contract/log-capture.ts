/** A real pino logger (trace level) that keeps its lines, so a contract can assert "nothing logged as a problem". */
import pino, { type Logger } from 'pino';

export interface CapturedLog {
  log: Logger;
  /** Every line logged so far, parsed. */
  entries(): Array<{ level: number; msg?: string } & Record<string, unknown>>;
  /** Lines at warn (40) or above: what a technician would read as a fault. */
  problems(): string[];
}

export function captureLogger(): CapturedLog {
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
  const entries = () => lines.map((l) => JSON.parse(l) as { level: number; msg?: string } & Record<string, unknown>);
  return {
    log,
    entries,
    problems: () => entries().filter((e) => e.level >= 40).map((e) => `${e.level} ${e.msg ?? ''} ${JSON.stringify(e['err'] ?? '')}`),
  };
}
