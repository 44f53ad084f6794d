import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * The county services' log: JSON lines to stdout, which journald stores and rotates. Secrets are
 * redacted by path wherever they may appear (passwords, command keys, request signatures).
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'key', '*.key', 'secret', '*.secret', 'sig', '*.sig'], censor: '[redacted]' },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
