/** The transport a device's config names: `serial: {…}` or `host` + `port`. */
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { SerialConfig } from '../../config/schema.js';
import { SerialTransport } from './serial.js';
import { TcpTransport } from './tcp.js';
import type { Transport } from './types.js';

export function serialTransport(s: SerialConfig): SerialTransport {
  return new SerialTransport({ path: s.path, baudRate: s.baud_rate, dataBits: s.data_bits, parity: s.parity, stopBits: s.stop_bits });
}

/** Serial when the config has `serial`, else TCP to `host:port`; `kind` tells which one was made. */
export function transportFromConfig(
  driver: string,
  c: { serial?: SerialConfig | undefined; host?: string | undefined; port: number },
  connectTimeoutMs: number,
): { transport: Transport; kind: 'serial' | 'tcp' } {
  if (c.serial) return { transport: serialTransport(c.serial), kind: 'serial' };
  if (c.host) return { transport: new TcpTransport({ host: c.host, port: c.port, connectTimeoutMs }), kind: 'tcp' };
  throw new AgentError(ErrorCodes.invalid_args, `${driver} needs serial or host`);
}
