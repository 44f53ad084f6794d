/**
 * coalesceWrites (county/coalesce-writes.ts) on a real mosquitto: a subscriber's PUBACKs for a
 * burst of QoS 1 messages leave in a few socket writes instead of one each, and every one of them still
 * reaches the broker (mosquitto sends a subscriber at most 20 unacknowledged QoS 1 messages, so all 300
 * arriving proves every PUBACK arrived).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import type { Duplex } from 'node:stream';
import { Mosquitto, waitFor } from '../../../scripts/lib/kit/index.js';
import { coalesceWrites } from '../../../county/coalesce-writes.js';

let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start();
});
afterAll(async () => {
  await broker.dispose();
});

const N = 300;

/** Socket writes (write and writev calls reaching the socket) a subscriber makes while it receives N QoS 1 messages. */
async function writesFor(topic: string, coalesce: boolean): Promise<number> {
  const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
  const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, clean: true });
  const clients: MqttClient[] = [sub, pub];
  try {
    if (coalesce) coalesceWrites(sub);
    let received = 0;
    sub.on('message', () => received++);
    await sub.subscribeAsync(topic, { qos: 1 });
    const stream = (sub as unknown as { stream: Duplex & { _write: Duplex['_write']; _writev?: Duplex['_writev'] } }).stream;
    let writes = 0;
    const write = stream._write.bind(stream);
    stream._write = (chunk, enc, cb) => {
      writes++;
      write(chunk, enc, cb);
    };
    const writev = stream._writev?.bind(stream);
    if (writev) {
      stream._writev = (chunks, cb) => {
        writes++;
        writev(chunks, cb);
      };
    }
    await Promise.all(Array.from({ length: N }, (_, i) => pub.publishAsync(topic, `m${i}`, { qos: 1 })));
    await waitFor('every message at the subscriber', () => received === N, 20_000, 10);
    return writes;
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true)));
  }
}

describe('coalesceWrites', () => {
  it('sends the PUBACKs of a burst in a few writes, and every one reaches the broker', async () => {
    const plain = await writesFor(`cw-${process.pid}/plain`, false);
    const coalesced = await writesFor(`cw-${process.pid}/coalesced`, true);
    // Without it, one write per PUBACK.
    expect(plain).toBeGreaterThanOrEqual(N);
    expect(coalesced).toBeLessThan(N / 4);
  });
});
