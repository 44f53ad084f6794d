/**
 * Runs the transport contract (transport.contract.ts) against both transports the drivers use: TCP to
 * a local server, and serial over a real socat PTY pair.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { SerialPort } from 'serialport';
import { ErrorCodes } from '../../protocol/errors.js';
import { SerialTransport } from '../../drivers/transport/serial.js';
import { TcpTransport } from '../../drivers/transport/tcp.js';
import { PtyPair } from '../../scripts/lib/kit/pty.js';
import { waitFor } from '../../scripts/lib/kit/wait.js';
import { describeTransportContract, type TransportRig } from './transport.contract.js';

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

async function tcpRig(): Promise<TransportRig> {
  const accepted: Array<{ socket: Socket; data: Buffer[] }> = [];
  let taken = 0;
  let current: { socket: Socket; data: Buffer[] } | undefined;
  const onConnection = (socket: Socket): void => {
    const conn = { socket, data: [] as Buffer[] };
    socket.on('data', (d: Buffer) => conn.data.push(d));
    socket.on('error', () => undefined);
    accepted.push(conn);
  };
  let server = createServer(onConnection);
  const port = await listen(server);
  const closeServer = async (): Promise<void> => {
    for (const c of accepted) c.socket.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return {
    transport: new TcpTransport({ host: '127.0.0.1', port, connectTimeoutMs: 2000 }),
    peer: {
      attached: async () => {
        await waitFor('the server to accept', () => accepted.length > taken, 5000);
        current = accepted[taken++];
      },
      write: (bytes) => new Promise<void>((resolve, reject) => current!.socket.write(bytes, (err) => (err ? reject(err) : resolve()))),
      received: () => Buffer.concat(current?.data ?? []),
      pause: () => current!.socket.pause(),
    },
    dropRemote: closeServer,
    restoreRemote: async () => {
      server = createServer(onConnection);
      await listen(server, port);
    },
    dispose: async () => {
      if (server.listening) await closeServer();
      else for (const c of accepted) c.socket.destroy();
    },
  };
}

async function serialRig(): Promise<TransportRig> {
  const pty = await PtyPair.start();
  let device: SerialPort | undefined;
  let data: Buffer[] = [];
  const closeDevice = async (): Promise<void> => {
    const d = device;
    device = undefined;
    if (d?.isOpen) await new Promise<void>((r) => d.close(() => r()));
  };
  return {
    // presenceCheckMs small: the unplug test should not wait a second for the path watch.
    transport: new SerialTransport({ path: pty.a, baudRate: 9600, presenceCheckMs: 100 }),
    peer: {
      attached: async () => {
        data = [];
        if (device?.isOpen) return;
        const port = new SerialPort({ path: pty.b, baudRate: 9600, autoOpen: false });
        await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
        port.on('data', (d: Buffer) => data.push(d));
        port.on('error', () => undefined);
        device = port;
      },
      write: (bytes) => new Promise<void>((resolve, reject) => device!.write(Buffer.from(bytes), (err) => (err ? reject(err) : device!.drain((e) => (e ? reject(e) : resolve()))))),
      received: () => Buffer.concat(data),
      pause: () => device!.pause(),
    },
    dropRemote: async () => {
      await closeDevice();
      await pty.unplug();
    },
    restoreRemote: () => pty.replug(),
    dispose: async () => {
      await closeDevice();
      await pty.stop();
    },
  };
}

describeTransportContract({ name: 'tcp (drivers/transport/tcp.ts) to a local TCP server', rig: tcpRig, goneOpenCode: ErrorCodes.disconnected });
describeTransportContract({ name: 'serial (drivers/transport/serial.ts) over a socat PTY pair', rig: serialRig, goneOpenCode: ErrorCodes.not_found });
