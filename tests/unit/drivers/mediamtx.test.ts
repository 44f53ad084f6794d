import { describe, expect, it } from 'vitest';
import { encodePathName, normalisePath, type MediaPath, type MediaPathSource } from '../../../drivers/mediamtx/client.js';
import { StreamWatch } from '../../../drivers/mediamtx/stream-watch.js';
import { parseConfig } from '../../../config/load.js';
import { ConfigError } from '../../../config/errors.js';

describe('normalisePath across MediaMTX versions', () => {
  it('v1.17+: new fields win over the deprecated copies', () => {
    const p = normalisePath({
      name: 'stb',
      available: true,
      online: false,
      ready: true,
      inboundBytes: 500,
      bytesReceived: 400,
      tracks2: [{ codec: 'H265', codecProps: null }],
      tracks: ['H264'],
      onlineTime: null,
      availableTime: '2026-01-01T00:00:00Z',
    });
    expect(p).toMatchObject({ available: true, online: false, up: false, inboundBytes: 500, codecs: ['H265'], since: '2026-01-01T00:00:00Z' });
  });

  it('v1.15 and older: ready / bytesReceived / tracks only; online assumed', () => {
    expect(normalisePath({ name: 'stb', ready: true, readyTime: 't', bytesReceived: 42, tracks: ['H264'] })).toMatchObject({
      available: true,
      online: true,
      up: true,
      inboundBytes: 42,
      codecs: ['H264'],
      since: 't',
    });
  });

  it('tolerates junk: wrong types, nulls, unknown enum values', () => {
    const p = normalisePath({ name: 3, ready: 'yes', inboundBytes: 'lots', source: { type: 'carrierPigeon' }, tracks2: [null, { codec: 7 }], readers: {} } as never);
    expect(p).toMatchObject({ name: '', available: false, up: false, inboundBytes: 0, codecs: [], readers: 0, sourceType: 'carrierPigeon' });
  });
});

describe('encodePathName', () => {
  it('keeps slashes, encodes the rest per segment, refuses traversal', () => {
    expect(encodePathName('cam/front door')).toBe('cam/front%20door');
    expect(encodePathName('a?b#c')).toBe('a%3Fb%23c');
    for (const bad of ['', '/abs', 'a//b', '../x', 'a/./b']) expect(() => encodePathName(bad)).toThrow();
  });
});

describe('StreamWatch (in-memory source)', () => {
  const base: MediaPath = { name: 's', confName: 's', available: true, online: true, up: true, since: null, inboundBytes: 0, outboundBytes: 0, codecs: [], readers: 0, sourceType: null };
  function source(seq: Array<Partial<MediaPath> | null | Error>): MediaPathSource {
    let i = 0;
    return {
      getPath: async () => {
        const v = seq[Math.min(i++, seq.length - 1)];
        if (v instanceof Error) throw v;
        return v === null || v === undefined ? null : { ...base, ...v };
      },
    };
  }

  it('a counter reset (path restarted) is a new baseline, not a stall', async () => {
    const w = new StreamWatch(source([{ inboundBytes: 100 }, { inboundBytes: 200 }, { inboundBytes: 10 }, { inboundBytes: 20 }]), 's');
    expect((await w.sample()).state).toBe('starting');
    expect((await w.sample()).state).toBe('playing');
    expect((await w.sample()).state).toBe('starting');
    expect((await w.sample()).state).toBe('playing');
  });

  it('available but not online (alwaysAvailable placeholder) is offline', async () => {
    const w = new StreamWatch(source([{ available: true, online: false, up: false, inboundBytes: 5 }]), 's');
    expect(await w.sample()).toMatchObject({ state: 'offline', playing: false });
  });

  it('an API error keeps the baseline', async () => {
    const w = new StreamWatch(source([{ inboundBytes: 1 }, { inboundBytes: 2 }, new Error('down'), { inboundBytes: 3 }]), 's', { stallSamples: 1 });
    await w.sample();
    expect((await w.sample()).playing).toBe(true);
    expect(await w.sample()).toMatchObject({ state: 'unknown', playing: null });
    expect(await w.sample()).toMatchObject({ state: 'playing', playing: true });
  });

  it('stallSamples: 1 flags the first still sample', async () => {
    const w = new StreamWatch(source([{ inboundBytes: 1 }, { inboundBytes: 2 }, { inboundBytes: 2 }]), 's', { stallSamples: 1 });
    await w.sample();
    await w.sample();
    expect(await w.sample()).toMatchObject({ state: 'stalled', playing: false });
  });
});

describe('media.mediamtx config', () => {
  const base = 'station: { id: s1, name: Station }\ndata_dir: /tmp/x\nmedia:\n  mediamtx:\n';
  const issues = (text: string): string[] => {
    try {
      parseConfig(text, '/tmp/config.yaml');
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    return [];
  };

  it('token_file for a bearer token; not together with username/password_file', () => {
    const c = parseConfig(`${base}    token_file: /etc/station-agent/secrets/mediamtx.jwt\n`, '/tmp/config.yaml');
    expect(c.media?.mediamtx).toEqual({ url: 'http://127.0.0.1:9997', token_file: '/etc/station-agent/secrets/mediamtx.jwt' });
    expect(issues(`${base}    username: agent\n    token_file: /t\n`)).toEqual([expect.stringMatching(/^media\.mediamtx\.token_file: a bearer token or username/)]);
  });
});
