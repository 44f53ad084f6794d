/**
 * `county-pki` (dist/county/pki.js) makes what the reference broker config needs, and it works: a real
 * mosquitto on the reference config with require_certificate on, using the county CA and the broker
 * certificate, lets a station in with the files `county-pki station` made, refuses a certificate of
 * another CA, and its certificate passes the hostname check for the broker name (and fails for another).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions } from 'mqtt';
import { makeTestPki, type Mosquitto, type TestPki } from '../../../scripts/lib/kit/index.js';
import { tempDir } from '../../helpers/temp.js';
import { ROOT, startReferenceBroker } from './reference-broker.js';

const PKI_JS = join(ROOT, 'dist/county/pki.js');
const run = promisify(execFile);
const pkiCli = (args: string[]) => run(process.execPath, [PKI_JS, ...args], { encoding: 'utf8' });
const BROKER_NAME = 'mqtt.county.test';

let dir: string;
let broker: Mosquitto;
let other: TestPki;
let stationOut = '';

const mode = (f: string): number => statSync(f).mode & 0o777;

beforeAll(async () => {
  dir = join(tempDir('county-pki-'), 'pki');
  await pkiCli(['init', '--dir', dir, '--broker-name', BROKER_NAME, '--broker-ip', '127.0.0.1']);
  stationOut = (await pkiCli(['station', '--dir', dir, 'village-07'])).stdout;
  const password = readFileSync(join(dir, 'stations/village-07/mqtt.pass'), 'utf8').trim();
  broker = await startReferenceBroker({
    caFile: join(dir, 'county-ca.crt'),
    certFile: join(dir, 'broker.crt'),
    keyFile: join(dir, 'broker.key'),
    users: { 'village-07': password },
    requireCertificate: true,
  });
  other = makeTestPki('other-county');
}, 60_000);

afterAll(async () => {
  await broker?.dispose();
  other?.dispose();
});

function stationOptions(over: Partial<IClientOptions> = {}): IClientOptions {
  const s = join(dir, 'stations/village-07');
  return {
    username: 'village-07',
    password: readFileSync(join(s, 'mqtt.pass'), 'utf8').trim(),
    ca: readFileSync(join(s, 'county-ca.crt')),
    cert: readFileSync(join(s, 'station.crt')),
    key: readFileSync(join(s, 'station.key')),
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...over,
  };
}

describe('county-pki', () => {
  it('makes the CA and the broker certificate with owner-only keys and the subjectAltNames asked for', () => {
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'county-ca.key'))).toBe(0o600);
    expect(mode(join(dir, 'broker.key'))).toBe(0o600);
    const ca = new X509Certificate(readFileSync(join(dir, 'county-ca.crt')));
    expect(ca.ca).toBe(true);
    const cert = new X509Certificate(readFileSync(join(dir, 'broker.crt')));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(`DNS:${BROKER_NAME}, IP Address:127.0.0.1`);
    expect(cert.checkHost(BROKER_NAME)).toBe(BROKER_NAME);
  });

  it("makes a station's certificate (CN = station id), key and password, and says what to run and copy", () => {
    const s = join(dir, 'stations/village-07');
    const cert = new X509Certificate(readFileSync(join(s, 'station.crt')));
    expect(cert.subject).toBe('CN=village-07');
    expect(cert.verify(new X509Certificate(readFileSync(join(dir, 'county-ca.crt'))).publicKey)).toBe(true);
    for (const f of ['station.key', 'mqtt.pass']) expect(mode(join(s, f))).toBe(0o600);
    expect(readFileSync(join(s, 'mqtt.pass'), 'utf8').trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(stationOut).toContain(`mosquitto_passwd -b /etc/mosquitto/passwd village-07 "$(cat ${join(s, 'mqtt.pass')})"`);
    for (const key of ['ca_file', 'cert_file', 'key_file', 'password_file']) expect(stationOut).toContain(`${key}: /etc/station-agent/secrets/`);
  });

  it('lets the station in over TLS with its certificate, checking the broker name', async () => {
    const c = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, stationOptions({ servername: BROKER_NAME }));
    await c.publishAsync('stations/village-07/heartbeat', '{}', { qos: 1 });
    await c.endAsync();
    // By address too: the IP subjectAltName.
    const byIp = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, stationOptions());
    await byIp.endAsync();
  });

  it('fails the hostname check for a name not in the broker certificate', async () => {
    await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, stationOptions({ servername: 'mqtt.elsewhere.test' }))).rejects.toThrow(/altnames|Hostname/i);
  });

  it("refuses a client certificate of another CA, and no certificate at all", async () => {
    const foreign = other.issueClient('village-07');
    const opts = stationOptions({ servername: BROKER_NAME, cert: readFileSync(foreign.certFile), key: readFileSync(foreign.keyFile) });
    await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, opts)).rejects.toThrow();
    const { cert: _c, key: _k, ...noCert } = stationOptions({ servername: BROKER_NAME });
    await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, noCert)).rejects.toThrow();
  });

  it('refuses a station id outside the protocol pattern before touching a path, and never overwrites', async () => {
    for (const bad of ['../evil', 'Village-1', '', 'a/b']) {
      const r = await pkiCli(['station', '--dir', dir, bad]).then(() => 0, (e: { code: number; stderr: string }) => e);
      expect(r).toMatchObject({ code: 1, stderr: expect.stringContaining('station id must match') });
    }
    expect(existsSync(join(dir, 'evil'))).toBe(false);
    await expect(pkiCli(['station', '--dir', dir, 'village-07'])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already exists') });
    await expect(pkiCli(['init', '--dir', dir, '--broker-name', BROKER_NAME])).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('already holds a county CA') });
  });
});
