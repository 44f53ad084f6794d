import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Mosquitto, makeTestPki, waitFor, type TestPki } from '../../../scripts/lib/kit/index.js';
import { CountyConsumer, makeStation, type Station } from './harness.js';

let pki: TestPki;
let otherPki: TestPki;
let broker: Mosquitto;
let mtls: Mosquitto;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  pki = makeTestPki('county');
  otherPki = makeTestPki('impostor');
  broker = await Mosquitto.start({ tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey } });
  mtls = await Mosquitto.start({ tls: { caFile: pki.caFile, certFile: pki.serverCert, keyFile: pki.serverKey, requireCertificate: true } });
});
afterAll(async () => {
  await broker?.dispose();
  await mtls?.dispose();
  pki?.dispose();
  otherPki?.dispose();
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function station(opts: Parameters<typeof makeStation>[0]): Station {
  const s = makeStation(opts);
  cleanups.push(() => s.close());
  return s;
}

describe('county link over TLS', () => {
  it('connects with the pinned test CA and delivers', async () => {
    expect(broker.url.startsWith('mqtts://')).toBe(true);
    const county = await CountyConsumer.connect(broker.url, { options: { ca: readFileSync(pki.caFile) } });
    cleanups.push(() => county.close());
    const s = station({ url: broker.url, county: { ca_file: pki.caFile } });
    await s.link.start();
    await county.waitFor('/status', (r) => r.payload?.['online'] === true);
    s.appendUsage(2);
    await waitFor(() => county.stored.size === 2 && s.ledger.depth().count === 0, 5_000);
  });

  it('refuses a broker whose certificate is not from county.ca_file, with a clear error', async () => {
    const s = station({ url: broker.url, county: { ca_file: otherPki.caFile } });
    await s.link.start();
    const err = await waitFor(() => s.link.status().last_error, 5_000);
    expect(err).toMatch(/^TLS: the broker's certificate is not signed by county\.ca_file \(.*impostor.*ca\.crt\)/);
    expect(s.link.status().connected).toBe(false);
  });

  it('without county.ca_file trusts the system CAs only, so a private county CA is refused', async () => {
    const s = station({ url: broker.url });
    await s.link.start();
    const err = await waitFor(() => s.link.status().last_error, 5_000);
    expect(err).toMatch(/TLS: .*not signed by county\.ca_file/);
  });

  it('presents a client certificate when the broker requires one', async () => {
    const client = pki.issueClient('village-01');
    const county = await CountyConsumer.connect(mtls.url, { options: { ca: readFileSync(pki.caFile), ...readPair(pki.issueClient('county')) } });
    cleanups.push(() => county.close());
    const s = station({ url: mtls.url, county: { ca_file: pki.caFile, cert_file: client.certFile, key_file: client.keyFile } });
    await s.link.start();
    await county.waitFor('/status', (r) => r.payload?.['online'] === true);

    const without = station({ url: mtls.url, stationId: 'village-02', county: { ca_file: pki.caFile } });
    await without.link.start();
    await waitFor(() => without.link.status().last_error, 5_000);
    expect(without.link.status().connected).toBe(false);
  });

  it('names an unreadable ca_file in the error', async () => {
    const s = station({ url: broker.url, county: { ca_file: '/nonexistent/ca.crt' } });
    await s.link.start();
    const err = await waitFor(() => s.link.status().last_error, 5_000);
    expect(err).toContain('cannot read county.ca_file /nonexistent/ca.crt: ENOENT');
  });
});

function readPair(p: { certFile: string; keyFile: string }): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(p.certFile), key: readFileSync(p.keyFile) };
}
