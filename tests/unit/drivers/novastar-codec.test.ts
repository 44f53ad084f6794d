import { describe, expect, it } from 'vitest';
import {
  DEV_RECEIVING_CARD,
  DEV_SENDING_CARD,
  REG,
  brightnessToPercent,
  encodeReply,
  encodeRequest,
  novaChecksum,
  percentToBrightness,
  replyParser,
  requestParser,
} from '../../../drivers/novastar/codec.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('NovaStar codec', () => {
  it('matches the verified Companion frames (docs/reference/protocols.md §4.1)', () => {
    const bright = encodeRequest({ serial: 0, dst: 0xff, devType: DEV_RECEIVING_CARD, port: 0xff, board: 0xffff, addr: REG.brightness, data: Uint8Array.of(0xff) });
    expect(bright).toEqual(hex('55 AA 00 00 FE FF 01 FF FF FF 01 00 01 00 00 02 01 00 FF 54 5B'));
    const black = encodeRequest({ serial: 0, devType: DEV_SENDING_CARD, addr: REG.displayMode, data: Uint8Array.of(2) });
    expect(black).toEqual(hex('55 AA 00 00 FE 00 00 00 00 00 01 00 50 00 20 02 01 00 02 C9 56'));
  });

  it('checksum example from the MCTRL300 notes', () => {
    const msg = hex('55 AA 00 32 FE 00 01 00 00 00 00 00 00 00 00 0A 00 01 91 56');
    expect(novaChecksum(msg, 2, msg.length - 2)).toBe(0x5691);
  });

  it('parses replies split byte by byte, with garbage and a bad frame in front', () => {
    const req = requestParser().push(encodeRequest({ serial: 7, devType: 0, addr: REG.modelId, length: 2 }))[0]!;
    const reply = encodeReply(req, 0, Uint8Array.of(0x01, 0x10));
    const bad = Buffer.from(reply);
    bad[19] = bad[19]! ^ 0xff;
    const stream = Buffer.concat([hex('00 AA 13 37'), bad, reply]);
    const p = replyParser();
    const frames = [];
    for (const b of stream) frames.push(...p.push(Uint8Array.of(b)));
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ ack: 0, serial: 7, code: 0, addr: REG.modelId, length: 2 });
    expect(frames[0]!.data).toEqual(hex('01 10'));
    expect(p.badChecksums).toBe(1);
  });

  it('write acknowledgements carry no data', () => {
    const req = requestParser().push(encodeRequest({ serial: 1, devType: 0, addr: REG.displayMode, data: Uint8Array.of(0) }))[0]!;
    const ack = encodeReply(req, 0);
    expect(ack.length).toBe(20);
    expect(replyParser().push(ack)[0]).toMatchObject({ code: 1, length: 1, data: Buffer.alloc(0) });
  });

  it('stays bounded on endless garbage', () => {
    const p = replyParser();
    for (let i = 0; i < 1000; i++) p.push(Buffer.alloc(1000, 0x11));
    expect(p.push(Buffer.alloc(0))).toEqual([]);
    expect(p.dropped).toBe(1_000_000);
  });

  it('maps brightness 0–255 onto percent', () => {
    expect(brightnessToPercent(255)).toBe(100);
    expect(percentToBrightness(100)).toBe(255);
    for (let pct = 0; pct <= 100; pct++) expect(brightnessToPercent(percentToBrightness(pct))).toBe(pct);
  });
});
