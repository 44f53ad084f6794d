import { afterEach, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../scripts/broker.js';

let broker: EmbeddedBroker | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await broker?.close();
  broker = undefined;
});

describe('embedded aedes broker', () => {
  it('accepts connect, subscribe and publish, and keeps retained messages', async () => {
    broker = await startEmbeddedBroker({ port: 0, host: '127.0.0.1' });
    expect(broker.port).toBeGreaterThan(0);
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(pub);
    await pub.publishAsync('stations/a/status', JSON.stringify({ online: true }), { qos: 1, retain: true });

    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(sub);
    const got: Array<{ topic: string; payload: string; retain: boolean }> = [];
    sub.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await sub.subscribeAsync('stations/+/#', { qos: 1 });
    await pub.publishAsync('stations/a/usage', '{"seq":1}', { qos: 1 });
    await expect.poll(() => got.length, { timeout: 5000 }).toBe(2);
    expect(got).toEqual([
      { topic: 'stations/a/status', payload: '{"online":true}', retain: true },
      { topic: 'stations/a/usage', payload: '{"seq":1}', retain: false },
    ]);
    expect(broker.clients()).toBe(2);
  });

  it('close() returns while clients are still connected and frees the port', async () => {
    broker = await startEmbeddedBroker();
    const c = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    clients.push(c);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    await broker.close();
    await closed;
    await expect(mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
  });
});
