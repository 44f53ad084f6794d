/**
 * An in-process MQTT broker (aedes) for the demo, so `npm run demo` needs no mosquitto. Not for the
 * county: aedes keeps everything in memory and does not implement `$share/` subscriptions, so collectors
 * run against it with `share: false` (see county/README.md).
 *
 *   node dist/scripts/broker.js [--port 1883] [--host 127.0.0.1]
 */
import { createServer, type Server, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Aedes } from 'aedes';

export interface EmbeddedBrokerOptions {
  /** 0 (default) lets the OS pick a free port. */
  port?: number;
  host?: string;
}

export interface EmbeddedBroker {
  port: number;
  host: string;
  url: string;
  /** Clients connected right now. */
  clients(): number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = options.host ?? '127.0.0.1';
  const aedes = await Aedes.createBroker();
  // Sockets are tracked so close() does not wait for clients that never disconnect (net.Server.close
  // only stops accepting).
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let closing: Promise<void> | undefined;
  return {
    port,
    host,
    url: `mqtt://${host}:${port}`,
    clients: () => aedes.connectedClients,
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await serverClosed;
      })()),
  };
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const broker = await startEmbeddedBroker({ port: Number(arg('--port') ?? 1883), host: arg('--host') ?? '127.0.0.1' });
  process.stdout.write(`embedded MQTT broker listening on ${broker.url}\n`);
  const stop = (): void => {
    void broker.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`broker: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
