import { describe, expect, it } from 'vitest';
import { FleetTopics, Topics, assertTopicSegment } from '../../../protocol/topics.js';

describe('Topics', () => {
  const t = new Topics('stations', 'village-01');

  it('builds every topic from prefix + station id + relative topic', () => {
    expect(t.status).toBe('stations/village-01/status');
    expect(t.inventory).toBe('stations/village-01/inventory');
    expect(t.heartbeat).toBe('stations/village-01/heartbeat');
    expect(t.events).toBe('stations/village-01/events');
    expect(t.usage).toBe('stations/village-01/usage');
    expect(t.ack).toBe('stations/village-01/ack');
    expect(t.deviceState('proj1')).toBe('stations/village-01/devices/proj1/state');
    expect(t.request('device.power')).toBe('stations/village-01/request/device.power');
    expect(t.response('device.power')).toBe('stations/village-01/response/device.power');
    expect(t.requestFilter).toBe('stations/village-01/request/+');
    expect(t.stream('usage')).toBe(t.usage);
    expect(t.stream('events')).toBe(t.events);
    expect(new Topics('prov/county-7', 'v1').status).toBe('prov/county-7/v1/status');
  });

  it('bans wildcards, separators and empty ids', () => {
    for (const bad of ['', 'a+b', 'a#', 'a/b', '+', '#', 'x\u0000']) {
      expect(() => assertTopicSegment(bad, 'id')).toThrow(/cannot be used in an MQTT topic/);
      expect(() => t.deviceState(bad)).toThrow();
      expect(() => new Topics('stations', bad)).toThrow();
    }
    expect(() => new Topics('stations/+', 'v1')).toThrow();
    expect(() => new Topics('stations//x', 'v1')).toThrow();
    expect(() => t.response('a/b')).toThrow();
  });

  it('reads the action of this station\'s request topics only', () => {
    expect(t.requestAction('stations/village-01/request/diag.run')).toBe('diag.run');
    expect(t.requestAction('stations/village-02/request/diag.run')).toBeUndefined();
    expect(t.requestAction('stations/village-01/request/')).toBeUndefined();
    expect(t.requestAction('stations/village-01/request/a/b')).toBeUndefined();
    expect(t.requestAction('stations/village-01/ack')).toBeUndefined();
    expect(t.requestAction('stations/village-01/request/' + 'x'.repeat(200))).toBeUndefined();
  });
});

describe('FleetTopics', () => {
  const f = new FleetTopics('stations');

  it('builds fleet-wide filters, shared or not, and per-station topics', () => {
    expect(f.filter('usage')).toBe('stations/+/usage');
    expect(f.filter('heartbeat', null)).toBe('stations/+/heartbeat');
    expect(f.filter('events', 'county')).toBe('$share/county/stations/+/events');
    expect(f.filter('device_state')).toBe('stations/+/devices/+/state');
    expect(f.filter('response', 'g')).toBe('$share/g/stations/+/response/+');
    expect(f.filter('request')).toBe('stations/+/request/+');
    expect(f.filter('ack')).toBe('stations/+/ack');
    expect(f.all).toBe('stations/+/#');
    expect(new FleetTopics('prov/county-7').filter('status')).toBe('prov/county-7/+/status');
    expect(f.station('v1').ack).toBe(new Topics('stations', 'v1').ack);
    expect(f.station('v1').request('sessions.resend')).toBe('stations/v1/request/sessions.resend');
  });

  it('refuses a prefix or share group that would change what a filter matches', () => {
    for (const bad of ['', 'a/+', 'a/#', 'a//b']) expect(() => new FleetTopics(bad)).toThrow(/cannot be used in an MQTT topic/);
    for (const bad of ['', 'a/b', '+', '#']) expect(() => f.filter('usage', bad)).toThrow(/share group/);
    expect(() => f.station('a/b')).toThrow();
  });

  it('takes incoming topics apart under a multi-level prefix, and ignores the rest', () => {
    const p = new FleetTopics('county/stations');
    expect(p.parse('county/stations/s1/usage')).toEqual({ kind: 'usage', station: 's1' });
    for (const kind of ['status', 'inventory', 'heartbeat', 'events', 'ack'] as const) expect(f.parse(`stations/s1/${kind}`)).toEqual({ kind, station: 's1' });
    expect(f.parse('stations/s1/devices/projector-1/state')).toEqual({ kind: 'device_state', station: 's1', device: 'projector-1' });
    expect(f.parse('stations/s1/response/sessions.resend')).toEqual({ kind: 'response', station: 's1', action: 'sessions.resend' });
    expect(f.parse('stations/s1/request/device.power')).toEqual({ kind: 'request', station: 's1', action: 'device.power' });
    expect(f.parse('other/s1/usage')).toBeUndefined();
    expect(f.parse('stationsX/s1/usage')).toBeUndefined();
    expect(f.parse('stations')).toBeUndefined();
    expect(f.parse('stations//usage')).toBeUndefined();
    expect(f.parse(`stations/${'s'.repeat(129)}/usage`)).toBeUndefined();
    expect(f.parse('stations/s1/devices/state')).toEqual({ kind: 'other', station: 's1' });
    expect(f.parse('stations/s1/devices//state')).toEqual({ kind: 'other', station: 's1' });
    expect(f.parse('stations/s1/response/')).toEqual({ kind: 'other', station: 's1' });
    expect(f.parse('stations/s1/usage/extra')).toEqual({ kind: 'other', station: 's1' });
    expect(f.parse('stations/s1')).toEqual({ kind: 'other', station: 's1' });
  });

  it('parses what it builds', () => {
    const s = f.station('village-9');
    expect(f.parse(s.deviceState('amp'))).toEqual({ kind: 'device_state', station: 'village-9', device: 'amp' });
    expect(f.parse(s.response('sessions.resend'))).toEqual({ kind: 'response', station: 'village-9', action: 'sessions.resend' });
    expect(f.parse(s.stream('events'))).toEqual({ kind: 'events', station: 'village-9' });
  });
});
