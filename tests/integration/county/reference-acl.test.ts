/**
 * The reference broker setup in scripts/mosquitto/ (config + ACL), run for real with only its paths
 * rewritten: each station reaches its own subtree only; a collector account reads the upward topics
 * and publishes acks and sessions.resend. One account is the test's own: `test-observer` reads
 * everything, so a forged message the ACL let through would be seen (tests/integration/county-install/
 * broker-accounts.test.ts covers the county accounts themselves).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { Mosquitto, makeTestPki, writePasswordFile, waitFor, type TestPki } from '../../../scripts/lib/kit/index.js';
import { CountyConsumer, makeStation, writeSecret, type Station } from './harness.js';
import { tempDir } from '../../helpers/temp.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const CONF = readFileSync(join(ROOT, 'scripts/mosquitto/mosquitto.conf'), 'utf8');
const ACL = readFileSync(join(ROOT, 'scripts/mosquitto/acl.conf'), 'utf8');
// village-03 is a station PC under an attacker's control (village-01 runs a real CountyLink; with
// use_username_as_clientid a second village-01 login would take over its session).
const USERS = { 'village-01': 'pw-01', 'village-02': 'pw-02', 'village-03': 'pw-03', 'county-collector-1': 'pw-county', 'test-observer': 'pw-obs' };

let pki: TestPki;
let broker: Mosquitto;
let county: CountyConsumer;
let s1: Station;
const clients: MqttClient[] = [];
interface Seen { topic: string; payload: unknown; retain: boolean }
let observer: MqttClient;
const observed: Seen[] = [];

beforeAll(async () => {
  pki = makeTestPki('acl');
  broker = await Mosquitto.start({
    tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey },
    configText: (port, dir) => {
      writePasswordFile(join(dir, 'passwd'), USERS);
      writeSecret(dir, 'station-acl.conf', `${ACL}\nuser test-observer\ntopic read stations/#\n`);
      return (
        CONF.replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`)
          .replaceAll('/etc/mosquitto/certs/county-ca.crt', pki.caFile)
          .replaceAll('/etc/mosquitto/certs/broker.crt', pki.serverCert)
          .replaceAll('/etc/mosquitto/certs/broker.key', pki.serverKey)
          .replaceAll('/etc/mosquitto/passwd', join(dir, 'passwd'))
          .replaceAll('/etc/mosquitto/station-acl.conf', join(dir, 'station-acl.conf'))
          .replaceAll('/var/lib/mosquitto/', `${dir}/`)
          .replace('log_dest syslog', 'log_dest stderr') + `\nuser ${userInfo().username}\n`
      );
    },
  });
  county = await CountyConsumer.connect(broker.url, {
    autoAck: true,
    options: { username: 'county-collector-1', password: 'pw-county', ca: readFileSync(pki.caFile) },
  });
  const dir = tempDir();
  s1 = makeStation({
    url: broker.url,
    stationId: 'village-01',
    county: { username: 'village-01', password_file: writeSecret(dir, 'pw', 'pw-01\n'), ca_file: pki.caFile, allowed_commands: ['sessions.resend'] },
  });
  await s1.link.start();
  await county.waitFor('stations/village-01/status');
  observer = await rawClient('test-observer', 'pw-obs');
  observer.on('message', (topic, payload, packet) => observed.push({ topic, payload: JSON.parse(payload.toString()) as unknown, retain: packet.retain }));
  await observer.subscribeAsync('stations/#', { qos: 1 });
});

afterAll(async () => {
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await s1?.close();
  await county?.close();
  await broker?.dispose();
  pki?.dispose();
});

async function rawClient(username: string, password: string): Promise<MqttClient> {
  const c = await mqtt.connectAsync(broker.url, { username, password, ca: readFileSync(pki.caFile), reconnectPeriod: 0, clientId: `raw-${username}-${clients.length}` });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

describe('reference mosquitto config and ACL', () => {
  it('lets a station run its whole contract in its own subtree', async () => {
    s1.appendUsage(3);
    await waitFor(() => county.stored.size === 3, 5_000);
    await waitFor(() => s1.ledger.depth().count === 0, 5_000);
    // The one request a collector account may publish (scripts/mosquitto/acl.conf: least privilege).
    await county.publish('stations/village-01/request/sessions.resend', JSON.stringify({ transaction: 'acl-1', args: { from_seq: 1, to_seq: 3 } }));
    const res = await county.waitFor('stations/village-01/response/sessions.resend');
    expect(res.payload).toMatchObject({ transaction: 'acl-1', status: 'ok' });
  });

  it('refuses a station publishing into another station\'s subtree, or forging its own ack and requests', async () => {
    const intruder = await rawClient('village-03', 'pw-03');
    observed.length = 0;
    const forged = [
      ['stations/village-02/usage', { v: 1, seq: 1, id: 'forged-usage-record' }],
      ['stations/village-02/status', { v: 1, online: false, boot: 99 }],
      ['stations/village-02/ack', { seq: 100 }],
      ['stations/village-02/request/device.power', { transaction: 'x', args: {} }],
      ['stations/village-01/ack', { seq: 100 }],
      ['stations/village-01/request/diag.run', { transaction: 'forged', args: {} }],
      ['stations/village-03/ack', { seq: 100 }],
      ['stations/village-03/request/diag.run', { transaction: 'self', args: {} }],
      ['other/village-02/usage', { seq: 1 }],
    ] as const;
    // Acks retained, as a real forgery would be: it would wait on the topic for every reconnect.
    for (const [topic, payload] of forged) await intruder.publishAsync(topic, JSON.stringify(payload), { qos: 1, retain: topic.endsWith('/ack') });
    // A permitted publish after the forged ones: the broker forwards one client's messages to a
    // subscriber in the order it received them (MQTT 3.1.1 §4.6, ordered topics), so once the marker
    // has arrived, any forged message the ACL let through would have arrived before it.
    await intruder.publishAsync('stations/village-03/heartbeat', JSON.stringify({ marker: true }), { qos: 1 });
    await waitFor(() => observed.some((r) => r.topic === 'stations/village-03/heartbeat'), 5_000);
    // Only the real station's live lane and the intruder's own heartbeat may have got through.
    const legit = /^stations\/(village-01\/(heartbeat|status|inventory|devices\/[^/]+\/state)|village-03\/heartbeat)$/;
    expect(observed.filter((r) => !legit.test(r.topic)).map((r) => r.topic)).toEqual([]);
    expect(s1.ledger.depth().count).toBe(0);
    // What a station finds retained on ack topics is the county's own watermark only (subscribing
    // again makes the broker send the retained messages again).
    observed.length = 0;
    await observer.subscribeAsync('stations/+/ack', { qos: 1 });
    await waitFor(() => observed.some((r) => r.retain && r.topic === 'stations/village-01/ack'), 5_000);
    const retained = observed.filter((r) => r.retain && r.topic.endsWith('/ack'));
    expect(retained.map((r) => [r.topic, r.payload])).toEqual([['stations/village-01/ack', { seq: 3, ledger: s1.ledger.ledger() }]]);
  });

  it('lets only the county account publish acks and requests: no station, not even for itself', async () => {
    observed.length = 0;
    // (Not as village-01: a second login with its name would take the real station's session over.)
    for (const [user, pw] of [['village-02', 'pw-02'], ['village-03', 'pw-03']] as const) {
      const c = await rawClient(user, pw);
      for (const target of ['village-01', 'village-02', 'village-03']) {
        await c.publishAsync(`stations/${target}/ack`, JSON.stringify({ seq: 1 }), { qos: 1 });
        await c.publishAsync(`stations/${target}/request/schedule.set`, JSON.stringify({ transaction: `${user}-${target}`, args: {} }), { qos: 1 });
      }
    }
    // The county's own publish after them (each awaited to its PUBACK, so already routed) is the
    // marker: anything let through would have arrived before it.
    await county.publish('stations/village-02/request/sessions.resend', JSON.stringify({ transaction: 'county-marker', args: { from_seq: 1 } }));
    await waitFor(() => observed.some((r) => r.topic === 'stations/village-02/request/sessions.resend'), 5_000);
    const downward = observed.filter((r) => /\/(ack|request\/[^/]+)$/.test(r.topic)).map((r) => r.topic);
    expect(downward).toEqual(['stations/village-02/request/sessions.resend']);
  });

  it('refuses a station reading another station\'s subtree', async () => {
    const peeker = await rawClient('village-03', 'pw-03');
    const seen: string[] = [];
    peeker.on('message', (t) => seen.push(t));
    const granted = await peeker.subscribeAsync(['stations/village-02/#', 'stations/#'], { qos: 1 });
    const victim = await rawClient('village-02', 'pw-02');
    await victim.publishAsync('stations/village-02/usage', JSON.stringify({ seq: 1 }), { qos: 1 });
    await county.waitFor('stations/village-02/usage');
    // The broker has routed the victim's message (the county got it); a marker the peeker may read,
    // published now, is queued to the peeker behind anything that message put there.
    await county.publish('stations/village-03/request/sessions.resend', JSON.stringify({ transaction: 'marker', args: { from_seq: 1 } }));
    await waitFor(() => seen.includes('stations/village-03/request/sessions.resend'), 5_000);
    expect(seen.filter((t) => t.startsWith('stations/village-02/'))).toEqual([]);
    expect(granted.length).toBe(2);
  });

  it('refuses a wrong password and anonymous clients', async () => {
    await expect(mqtt.connectAsync(broker.url, { username: 'village-01', password: 'nope', ca: readFileSync(pki.caFile), reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
    await expect(mqtt.connectAsync(broker.url, { ca: readFileSync(pki.caFile), reconnectPeriod: 0 })).rejects.toThrow(/Not authorized/i);
  });
});
