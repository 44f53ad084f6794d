/**
 * The simulator table behind `npm run sim -- <name> [--flags]` (scripts/sim.ts). Add a simulator by
 * appending one entry: name, one-line summary, usage and a start(flags) that returns something to stop.
 */
import { Escvp21Simulator } from './escvp21.js';
import { NecSimulator } from './nec.js';
import { PjlinkSimulator } from './pjlink.js';
import { numFlag, type Chunking, type SimEntry } from './shared.js';
import { STATION_SIMS } from './station-sims.js';


function chunking(flags: Map<string, string>): Chunking {
  const c = flags.get('chunking') ?? 'whole';
  if (c !== 'whole' && c !== 'bytes' && c !== 'random') throw new Error('--chunking must be whole, bytes or random');
  return c;
}

const bool = (flags: Map<string, string>, name: string): boolean => flags.has(name) && flags.get(name) !== 'false';

export const SIMULATORS: SimEntry[] = [
  {
    name: 'pjlink',
    summary: 'PJLink class 1/2 projector (TCP)',
    usage:
      'pjlink [--port 4352] [--host 127.0.0.1] [--password PW] [--class 1|2] [--warmup-ms 30000] [--cooldown-ms 60000] ' +
      '[--idle-timeout-ms 30000] [--mixed-case] [--clss-reply "Class 1"] [--laser] [--chunking whole|bytes|random]',
    async start(flags) {
      const cls = numFlag(flags, 'class', 2);
      if (cls !== 1 && cls !== 2) throw new Error('--class must be 1 or 2');
      const sim = new PjlinkSimulator({
        host: flags.get('host') ?? '127.0.0.1',
        port: numFlag(flags, 'port', 4352),
        password: flags.get('password'),
        projectorClass: cls,
        warmupMs: numFlag(flags, 'warmup-ms', 30_000),
        cooldownMs: numFlag(flags, 'cooldown-ms', 60_000),
        idleTimeoutMs: numFlag(flags, 'idle-timeout-ms', 30_000),
        mixedCaseGreeting: bool(flags, 'mixed-case'),
        clssReply: flags.get('clss-reply') ?? '',
        laser: bool(flags, 'laser'),
      });
      sim.setChunking(chunking(flags));
      const port = await sim.start();
      return {
        describe: `pjlink projector on ${sim.opts.host}:${port} (class ${cls}, auth ${sim.opts.password ? 'on' : 'off'})`,
        stop: () => sim.stop(),
      };
    },
  },
  {
    name: 'escvp21',
    summary: 'Epson ESC/VP21 projector (serial PTY path, or ESC/VP.net TCP)',
    usage: 'escvp21 (--serial /path/to/pty | [--port 3629]) [--warmup-ms 40000] [--cooldown-ms 60000] [--no-signal-query] [--chunking …]',
    async start(flags) {
      const serialPath = flags.get('serial');
      const sim = new Escvp21Simulator({
        ...(serialPath ? { serialPath } : { tcpPort: numFlag(flags, 'port', 3629) }),
        host: flags.get('host') ?? '127.0.0.1',
        warmupMs: numFlag(flags, 'warmup-ms', 40_000),
        cooldownMs: numFlag(flags, 'cooldown-ms', 60_000),
        signalSupported: !bool(flags, 'no-signal-query'),
      });
      sim.setChunking(chunking(flags));
      const port = await sim.start();
      return { describe: `escvp21 projector on ${serialPath ? `serial ${serialPath}` : `${sim.opts.host}:${port}`}`, stop: () => sim.stop() };
    },
  },
  {
    name: 'nec',
    summary: 'NEC binary-protocol projector (serial PTY path, or TCP 7142)',
    usage: 'nec (--serial /path/to/pty | [--port 7142]) [--warmup-ms 30000] [--cooldown-ms 60000] [--power-saving] [--laser] [--chunking …]',
    async start(flags) {
      const serialPath = flags.get('serial');
      const sim = new NecSimulator({
        ...(serialPath ? { serialPath } : { tcpPort: numFlag(flags, 'port', 7142) }),
        host: flags.get('host') ?? '127.0.0.1',
        warmupMs: numFlag(flags, 'warmup-ms', 30_000),
        cooldownMs: numFlag(flags, 'cooldown-ms', 60_000),
        powerSaving: bool(flags, 'power-saving'),
        laser: bool(flags, 'laser'),
      });
      sim.setChunking(chunking(flags));
      const port = await sim.start();
      return { describe: `nec projector on ${serialPath ? `serial ${serialPath}` : `${sim.opts.host}:${port}`}`, stop: () => sim.stop() };
    },
  },
  ...STATION_SIMS,
];

export function findSimulator(name: string): SimEntry | undefined {
  return SIMULATORS.find((s) => s.name === name);
}
