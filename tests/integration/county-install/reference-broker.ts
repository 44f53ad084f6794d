/**
 * The reference broker of scripts/mosquitto/ (mosquitto.conf + acl.conf) run for real, with only its
 * paths rewritten to a temp folder and a loopback port, for the county install tests. Not a test file:
 * the callers dispose() what they start.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import { Mosquitto, writePasswordFile } from '../../../scripts/lib/kit/index.js';
import { writeFileSync } from 'node:fs';

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const REFERENCE_CONF = readFileSync(join(ROOT, 'scripts/mosquitto/mosquitto.conf'), 'utf8');
export const REFERENCE_ACL = readFileSync(join(ROOT, 'scripts/mosquitto/acl.conf'), 'utf8');

export interface ReferenceBrokerOptions {
  caFile: string;
  certFile: string;
  keyFile: string;
  users: Record<string, string>;
  /** Uncomment the reference config's `require_certificate true` (client certificates signed by the CA). */
  requireCertificate?: boolean;
}

export function startReferenceBroker(o: ReferenceBrokerOptions): Promise<Mosquitto> {
  return Mosquitto.start({
    tls: { caFile: o.caFile, certFile: o.certFile, keyFile: o.keyFile },
    configText: (port, dir) => {
      writePasswordFile(join(dir, 'passwd'), o.users);
      writeFileSync(join(dir, 'station-acl.conf'), REFERENCE_ACL, { mode: 0o600 });
      let conf = REFERENCE_CONF.replace(/^listener 8883$/m, `listener ${port} 127.0.0.1`)
        .replaceAll('/etc/mosquitto/certs/county-ca.crt', o.caFile)
        .replaceAll('/etc/mosquitto/certs/broker.crt', o.certFile)
        .replaceAll('/etc/mosquitto/certs/broker.key', o.keyFile)
        .replaceAll('/etc/mosquitto/passwd', join(dir, 'passwd'))
        .replaceAll('/etc/mosquitto/station-acl.conf', join(dir, 'station-acl.conf'))
        .replaceAll('/var/lib/mosquitto/', `${dir}/`)
        .replace('log_dest syslog', 'log_dest stderr');
      if (o.requireCertificate) {
        if (!/^# require_certificate true$/m.test(conf)) throw new Error('the reference mosquitto.conf no longer has the "# require_certificate true" line');
        conf = conf.replace(/^# require_certificate true$/m, 'require_certificate true');
      }
      // As root mosquitto drops to user `mosquitto`, which cannot read the test's temp files.
      return `${conf}\nuser ${userInfo().username}\n`;
    },
  });
}
