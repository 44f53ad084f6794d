/** Loopback ports for the test kit, the bench and the demo's helpers. Everything binds 127.0.0.1 only. */
import { createServer } from 'node:net';
import { tcpProbe } from '../../../drivers/transport/tcp-probe.js';

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something accepts a TCP connection on `host:port` (the connection is closed at once). */
export async function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return (await tcpProbe(host, port, 2_000)) === null;
}
