import { describe, expect, it } from 'vitest';
import { SetTopBoxPlaying, combinePlaying, playingFromProjector, withSetTopBoxPlaying } from '../../../drivers/settopbox-playing.js';
import type { MediaPath, MediaPathSource } from '../../../drivers/mediamtx/client.js';
import type { DeviceDriver, DeviceState } from '../../../drivers/types.js';

const projector = (over: Partial<DeviceState> = {}): DeviceState => ({
  id: 'proj',
  kind: 'projector',
  driver: 'pjlink',
  online: true,
  power: 'on',
  last_seen: null,
  errors: [],
  input: '31',
  signal: true,
  ...over,
});

describe('playing from the projector signal', () => {
  it('follows signal on the configured input', () => {
    expect(playingFromProjector(projector(), '31')).toBe(true);
    expect(playingFromProjector(projector({ signal: false }), '31')).toBe(false);
    expect(playingFromProjector(projector({ signal: null }), '31')).toBeNull();
  });

  it('cannot tell when the projector shows another input, is off, offline or unknown', () => {
    expect(playingFromProjector(projector({ input: '11' }), '31')).toBeNull();
    expect(playingFromProjector(projector({ power: 'off', signal: false }), '31')).toBeNull();
    expect(playingFromProjector(projector({ power: 'warming' }), '31')).toBeNull();
    expect(playingFromProjector(projector({ online: false }), '31')).toBeNull();
    expect(playingFromProjector(undefined, '31')).toBeNull();
    expect(playingFromProjector(projector({ input: null }), '31')).toBeNull();
  });

  it('without a configured input any input counts', () => {
    expect(playingFromProjector(projector({ input: '11' }), undefined)).toBe(true);
  });

  it('combines evidence: any true wins, then any false, else null', () => {
    expect(combinePlaying(true, false)).toBe(true);
    expect(combinePlaying(null, false)).toBe(false);
    expect(combinePlaying(null, null)).toBeNull();
    expect(combinePlaying()).toBeNull();
  });
});

describe('SetTopBoxPlaying', () => {
  const path = (over: Partial<MediaPath>): MediaPath => ({
    name: 'stb',
    confName: 'stb',
    available: true,
    online: true,
    up: true,
    since: null,
    inboundBytes: 0,
    outboundBytes: 0,
    codecs: [],
    readers: 0,
    sourceType: null,
    ...over,
  });

  it('uses the projector and the stream together', async () => {
    let bytes = 1000;
    const media: MediaPathSource = { getPath: async () => path({ inboundBytes: (bytes += 500) }) };
    let peer = projector({ signal: false });
    const p = new SetTopBoxPlaying({ signal_from: 'proj', input: '31', media_path: 'stb' }, { peerState: () => peer, media });
    // First sample: stream growth not measurable yet, projector says no picture.
    expect((await p.read()).playing).toBe(false);
    // Stream grows: playing even though the projector sees nothing (e.g. it shows another room's PC).
    expect((await p.read()).playing).toBe(true);
    peer = projector({ signal: true });
    expect((await p.read()).playing).toBe(true);
  });

  it('reports a missing MediaMTX setup as a warning, not a crash', async () => {
    const p = new SetTopBoxPlaying({ media_path: 'stb' }, { peerState: () => undefined });
    expect(await p.read()).toEqual({ playing: null, errors: [expect.objectContaining({ code: 'media_unconfigured', severity: 'warning' })] });
  });

  it('not configured at all', () => {
    expect(new SetTopBoxPlaying({}, { peerState: () => undefined }).configured).toBe(false);
  });
});

describe('withSetTopBoxPlaying', () => {
  const relay = (): DeviceDriver => ({
    capabilities: ['power'],
    open: async () => ({ power: 'on' }),
    poll: async () => ({ power: 'on', errors: [{ code: 'x', severity: 'warning', text: 'kept' }] }),
    execute: async () => ({ power: 'on' }),
    close: async () => undefined,
    onDisconnect: () => undefined,
  });

  it('adds playing to a set-top box driven by another driver (e.g. its mains relay)', async () => {
    const d = withSetTopBoxPlaying(relay(), { config: { kind: 'settopbox', signal_from: 'proj', input: '31' }, peerState: () => projector() });
    expect(await d.open()).toEqual({ power: 'on', playing: true, errors: [] });
    expect(await d.poll()).toEqual({ power: 'on', playing: true, errors: [{ code: 'x', severity: 'warning', text: 'kept' }] });
  });

  it('leaves other kinds and unconfigured boxes alone', async () => {
    expect(await withSetTopBoxPlaying(relay(), { config: { kind: 'amplifier' }, peerState: () => projector() }).open()).toEqual({ power: 'on' });
    expect(await withSetTopBoxPlaying(relay(), { config: { kind: 'settopbox' }, peerState: () => projector() }).open()).toEqual({ power: 'on' });
  });
});
