/**
 * The transport contract (drivers/transport/types.ts), one suite for every transport, the way
 * node-serialport runs one binding suite against each binding: open, bytes both ways, split and
 * coalesced chunks delivered intact, close is not failing, a lost far end is reported as
 * `disconnected`, and the same object opens again. Each target supplies a rig: the agent's transport
 * and the real far end (a TCP server socket, the device side of a socat PTY pair).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, type ErrorCode } from '../../protocol/errors.js';
import { FramedLink } from '../../drivers/framed-link.js';
import { DelimiterFramer } from '../../drivers/framing/delimiter.js';
import type { Transport } from '../../drivers/transport/types.js';
import { waitFor } from '../../scripts/lib/kit/wait.js';
import { captureLogger, type CapturedLog } from './log-capture.js';

/** The far end of the link, as the device sees it. */
export interface Peer {
  /** Resolves once the far end is attached to the agent's open transport (TCP: accepted). */
  attached(): Promise<void>;
  write(bytes: Uint8Array): Promise<void>;
  /** Everything received since attached. */
  received(): Buffer;
  /** Stops reading, so the agent's writes back up and stay in flight. */
  pause(): void;
}

export interface TransportRig {
  /** A fresh transport for the agent's side; the contract opens, closes and reopens it. */
  transport: Transport;
  peer: Peer;
  /** The far end goes away: the server drops the connection and stops listening; the adapter is unplugged. */
  dropRemote(): Promise<void>;
  /** The far end is back (listening again / plugged in again) on the same address. */
  restoreRemote(): Promise<void>;
  dispose(): Promise<void>;
}

export interface TransportTarget {
  name: string;
  rig(): Promise<TransportRig>;
  /** What open() rejects with while the far end is gone (TCP: refused → disconnected; serial: no device node → not_found). */
  goneOpenCode: ErrorCode;
}

/** Bytes 0..255 and back: nothing may be translated on the way (no CR/LF mapping, no 8th bit stripped). */
const ALL_BYTES = Buffer.from([...Array.from({ length: 256 }, (_, i) => i), ...Array.from({ length: 256 }, (_, i) => 255 - i)]);

export function describeTransportContract(target: TransportTarget): void {
  describe(`transport contract: ${target.name}`, () => {
    const rigs: TransportRig[] = [];
    afterEach(async () => {
      for (const r of rigs.splice(0)) {
        await r.transport.close();
        await r.dispose();
      }
    });

    async function opened(): Promise<{ rig: TransportRig; got: () => Buffer; chunks: () => number; lost: Error[] }> {
      const rig = await target.rig();
      rigs.push(rig);
      const data: Buffer[] = [];
      const lost: Error[] = [];
      rig.transport.onData((d) => data.push(d));
      rig.transport.onClose((e) => lost.push(e));
      await rig.transport.open();
      await rig.peer.attached();
      return { rig, got: () => Buffer.concat(data), chunks: () => data.length, lost };
    }

    it('opens and carries every byte value both ways', async () => {
      const { rig, got } = await opened();
      expect(rig.transport.isOpen).toBe(true);
      expect(rig.transport.description).toMatch(/\S/);
      await rig.transport.write(ALL_BYTES);
      await waitFor(() => rig.peer.received().length >= ALL_BYTES.length, 5000);
      expect(rig.peer.received()).toEqual(ALL_BYTES);
      await rig.peer.write(ALL_BYTES);
      await waitFor(() => got().length >= ALL_BYTES.length, 5000);
      expect(got()).toEqual(ALL_BYTES);
    });

    it('delivers a reply split over many writes intact and in order', async () => {
      const { rig, got, chunks } = await opened();
      const parts = ['%1PO', 'WR=', '1', '\r', Buffer.from([0x00, 0xff]), 'end\r'].map((p) => Buffer.from(p));
      let sent = 0;
      for (const p of parts) {
        // The next part leaves only once the previous one arrived, so the parts cannot merge on the way.
        await rig.peer.write(p);
        sent += p.length;
        await waitFor(() => got().length >= sent, 5000);
      }
      expect(got()).toEqual(Buffer.concat(parts));
      expect(chunks()).toBeGreaterThanOrEqual(parts.length);
    });

    it('delivers frames coalesced into one write intact, and many small writes from the agent in order', async () => {
      const { rig, got } = await opened();
      const burst = Buffer.from('PWR=01\r:LAMP=1234\r:SOURCE=30\r:'.repeat(64));
      await rig.peer.write(burst);
      await waitFor(() => got().length >= burst.length, 5000);
      expect(got()).toEqual(burst);

      const small = Array.from({ length: 200 }, (_, i) => Buffer.from(`${i};`));
      await Promise.all(small.map((b) => rig.transport.write(b)));
      const all = Buffer.concat(small);
      await waitFor(() => rig.peer.received().length >= all.length, 5000);
      expect(rig.peer.received()).toEqual(all);
    });

    /**
     * A FramedLink over a fresh rig with two things in flight: a request whose reply never comes (it
     * reached the far end), and a write that cannot finish (the far end stopped reading and the buffers
     * on the way are full). Both settle to their value or error, never throw.
     */
    async function inFlight(): Promise<{ rig: TransportRig; link: FramedLink; captured: CapturedLog; transportLost: Error[]; linkLost: Error[]; request: Promise<unknown>; write: Promise<unknown> }> {
      const rig = await target.rig();
      rigs.push(rig);
      const captured = captureLogger();
      const link = new FramedLink({ transport: rig.transport, framer: () => new DelimiterFramer({ delimiter: '\r', maxLength: 64 }), log: captured.log });
      const transportLost: Error[] = [];
      const linkLost: Error[] = [];
      rig.transport.onClose((e) => transportLost.push(e));
      link.onDisconnect((e) => linkLost.push(e));
      await link.open();
      await rig.peer.attached();
      const request = link.request({ data: Buffer.from('POWR ?\r'), timeoutMs: 60_000, match: (f) => f.toString() }).catch((e: unknown) => e);
      await waitFor(() => rig.peer.received().length > 0, 5000);
      rig.peer.pause();
      const write = rig.transport.write(Buffer.alloc(32 * 1024 * 1024, 0x55)).then(
        () => 'resolved',
        (e: unknown) => e,
      );
      return { rig, link, captured, transportLost, linkLost, request, write };
    }

    it('close is not failing: a write in flight and a request awaiting its reply reject with closed, nothing is logged', async () => {
      const { rig, link, captured, transportLost, linkLost, request, write } = await inFlight();
      await link.close();
      // `closed`, not the request's own timeout (60 s) nor a write reported as sent.
      expect(await request).toMatchObject({ code: ErrorCodes.closed });
      expect(await write).toMatchObject({ code: ErrorCodes.closed });
      await expect(rig.transport.write(Buffer.from('x'))).rejects.toMatchObject({ code: ErrorCodes.closed });
      expect(rig.transport.isOpen).toBe(false);
      expect(transportLost).toEqual([]);
      expect(linkLost).toEqual([]);
      expect(captured.problems()).toEqual([]);
      // Closing twice is harmless.
      await rig.transport.close();
    });

    it('reopens after close and talks again', async () => {
      const { rig, got, lost } = await opened();
      await rig.transport.close();
      expect(rig.transport.isOpen).toBe(false);
      await rig.transport.open();
      await rig.peer.attached();
      await rig.transport.write(Buffer.from('again\r'));
      await waitFor(() => rig.peer.received().toString() === 'again\r', 5000);
      await rig.peer.write(Buffer.from('ok\r'));
      await waitFor(() => got().toString().endsWith('ok\r'), 5000);
      expect(lost).toEqual([]);
    });

    it('reports the far end going away as disconnected, fails in-flight writes and requests with it, and reopens once it is back', async () => {
      const { rig, link, captured, transportLost, linkLost, request, write } = await inFlight();
      await rig.dropRemote();
      await waitFor(() => transportLost.length > 0, 5000);
      expect(transportLost).toHaveLength(1);
      expect(transportLost[0]).toMatchObject({ code: ErrorCodes.disconnected, retryable: true });
      expect(linkLost).toHaveLength(1);
      expect(await request).toMatchObject({ code: ErrorCodes.disconnected });
      expect(await write).toMatchObject({ code: ErrorCodes.disconnected });
      expect(rig.transport.isOpen).toBe(false);
      await expect(rig.transport.write(Buffer.from('x'))).rejects.toMatchObject({ code: ErrorCodes.disconnected });

      await link.close();
      await expect(rig.transport.open()).rejects.toMatchObject({ code: target.goneOpenCode, retryable: true });
      await rig.restoreRemote();
      await link.open();
      await rig.peer.attached();
      const reply = link.request({ data: Buffer.from('POWR ?\r'), timeoutMs: 5000, match: (f) => f.toString() });
      await waitFor(() => rig.peer.received().toString() === 'POWR ?\r', 5000);
      await rig.peer.write(Buffer.from('%1POWR=1\r'));
      expect(await reply).toBe('%1POWR=1');
      expect(transportLost).toHaveLength(1);
      expect(captured.problems()).toEqual([]);
    });
  });
}
