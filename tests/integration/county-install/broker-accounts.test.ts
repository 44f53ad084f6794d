/**
 * One broker account per county program (scripts/mosquitto/acl.conf, docs/county.md step 3) on the
 * reference mosquitto config, run for real: two collectors and the console (as installed: the console
 * process on a config file) stay connected together, where two programs on one account throw each
 * other off (the reference config forces client id = user name); and each account can do only its job —
 * the console cannot publish an ack or read what stations report, a collector cannot push a schedule.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { makeTestPki, sleep, spawnCaptured, waitFor, type Captured, type Mosquitto, type TestPki } from '../../../scripts/lib/kit/index.js';
import { startCollector, type Collector } from '../../../county/collector.js';
import { tempDir } from '../../helpers/temp.js';
import { ROOT, startReferenceBroker } from './reference-broker.js';

const USERS = { 'county-collector-1': 'pw-c1', 'county-collector-2': 'pw-c2', 'county-console': 'pw-console', 'village-01': 'pw-v1' };
/** Three of mqtt.js's reconnect periods as the county programs set it (2 s, broker-access.ts): a shared account would reconnect within it. */
const WINDOW_MS = 6_500;

let pki: TestPki;
let broker: Mosquitto;

beforeAll(async () => {
  pki = makeTestPki('accounts');
  broker = await startReferenceBroker({ caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey, users: USERS });
});

afterAll(async () => {
  await broker?.dispose();
  pki?.dispose();
});

const options = (username: keyof typeof USERS): IClientOptions => ({ username, password: USERS[username], ca: readFileSync(pki.caFile), reconnectPeriod: 0 });
/** Logins of `account` the broker has accepted so far (connection_messages true in the reference config). */
const logins = (account: string): number => broker.log.split('\n').filter((l) => l.includes('New client connected') && l.includes(` as ${account} `)).length;

async function collector(username: 'county-collector-1' | 'county-collector-2'): Promise<Collector> {
  return startCollector({ url: broker.url, db: join(tempDir(), 'county.db'), username, password: USERS[username], ca: readFileSync(pki.caFile) });
}

describe('county broker accounts', () => {
  it('lets the console push schedules and read answers only, and the collectors ack and ask for resends only', async () => {
    const station = await mqtt.connectAsync(broker.url, options('village-01'));
    const consoleClient = await mqtt.connectAsync(broker.url, options('county-console'));
    const collectorClient = await mqtt.connectAsync(broker.url, options('county-collector-1'));
    try {
      const toStation: string[] = [];
      station.on('message', (t) => toStation.push(t));
      await station.subscribeAsync(['stations/village-01/ack', 'stations/village-01/request/+'], { qos: 1 });
      const toConsole: string[] = [];
      consoleClient.on('message', (t) => toConsole.push(t));
      await consoleClient.subscribeAsync(['stations/+/usage', 'stations/+/status', 'stations/+/response/+'], { qos: 1 });

      // The console: an ack and another request are dropped; schedule.set, published last, gets through.
      await consoleClient.publishAsync('stations/village-01/ack', JSON.stringify({ seq: 999 }), { qos: 1, retain: true });
      await consoleClient.publishAsync('stations/village-01/request/sessions.resend', JSON.stringify({ transaction: 'c1', args: { from_seq: 1 } }), { qos: 1 });
      await consoleClient.publishAsync('stations/village-01/request/schedule.set', JSON.stringify({ transaction: 'c2', args: {} }), { qos: 1 });
      // A collector: a schedule is dropped; its resend request and ack get through, in order.
      await collectorClient.publishAsync('stations/village-01/request/schedule.set', JSON.stringify({ transaction: 'k1', args: {} }), { qos: 1 });
      await collectorClient.publishAsync('stations/village-01/request/sessions.resend', JSON.stringify({ transaction: 'k2', args: { from_seq: 1 } }), { qos: 1 });
      await collectorClient.publishAsync('stations/village-01/ack', JSON.stringify({ seq: 3 }), { qos: 1, retain: true });
      await waitFor(() => toStation.includes('stations/village-01/ack'), 5_000);
      expect(toStation).toEqual(['stations/village-01/request/schedule.set', 'stations/village-01/request/sessions.resend', 'stations/village-01/ack']);

      // The console reads a station's answer but not what the station reports (same publisher: ordered).
      await station.publishAsync('stations/village-01/usage', JSON.stringify({ seq: 1 }), { qos: 1 });
      await station.publishAsync('stations/village-01/status', JSON.stringify({ online: true }), { qos: 1 });
      await station.publishAsync('stations/village-01/response/schedule.set', JSON.stringify({ transaction: 'c2', status: 'ok' }), { qos: 1 });
      await waitFor(() => toConsole.length > 0, 5_000);
      expect(toConsole).toEqual(['stations/village-01/response/schedule.set']);
    } finally {
      // Gone before the next test: with client id = user name they would throw the real programs off.
      for (const c of [station, consoleClient, collectorClient]) await c.endAsync();
    }
  });

  it('runs two collectors and the console at once, each on its own account, without a reconnect', async () => {
    const dir = tempDir('county-accounts-');
    writeFileSync(join(dir, 'console.pass'), `${USERS['county-console']}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'command.key'), `${'k'.repeat(44)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'console-users'), '', { mode: 0o600 });
    const config = join(dir, 'county.yaml');
    writeFileSync(config, ['db: console.db', 'console:', '  users: console-users', '  create: true', '  http: 127.0.0.1:0', `  url: ${broker.url}`, '  username: county-console',
      '  password_file: console.pass', `  ca_file: ${pki.caFile}`, '  command_key_file: command.key', ''].join('\n'));
    const before = { c1: logins('county-collector-1'), c2: logins('county-collector-2'), console: logins('county-console') };
    const c1 = await collector('county-collector-1');
    const c2 = await collector('county-collector-2');
    let consoleProc: Captured | undefined;
    try {
      consoleProc = spawnCaptured(process.execPath, [join(ROOT, 'dist/county/console.js'), '--config', config], { ...process.env });
      await waitFor(() => consoleProc!.output().includes('console listening on'), 15_000);
      await waitFor(() => logins('county-console') === before.console + 1, 5_000);
      // The observation itself: nothing to wait for, a span in which a shared account would have reconnected.
      await sleep(WINDOW_MS);
      expect({ c1: logins('county-collector-1'), c2: logins('county-collector-2'), console: logins('county-console') }).toEqual({
        c1: before.c1 + 1,
        c2: before.c2 + 1,
        console: before.console + 1,
      });
      expect(consoleProc.output()).not.toContain('console mqtt error');
    } finally {
      await consoleProc?.stop();
      await c1.stop();
      await c2.stop();
    }
  });

  it('(what the accounts prevent) two collectors on one account throw each other off', async () => {
    const before = logins('county-collector-1');
    const a = await collector('county-collector-1');
    const b = await collector('county-collector-1');
    try {
      // Each login closes the other's connection; the closed one logs in again after its reconnect period.
      await waitFor(() => logins('county-collector-1') >= before + 4, WINDOW_MS * 2);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
