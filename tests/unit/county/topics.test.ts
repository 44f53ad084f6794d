import { describe, expect, it } from 'vitest';
import { Topics, assertTopicSegment } from '../../../agent/county/topics.js';

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
