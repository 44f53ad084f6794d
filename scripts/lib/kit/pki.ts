/**
 * A throw-away CA with a server certificate for 127.0.0.1/localhost and client certificates on demand,
 * made with openssl, for TLS and mTLS tests against the kit's mosquitto. The folder holds private keys:
 * dispose() removes it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from './temp.js';

export interface TestPki {
  dir: string;
  caFile: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Issues a client certificate (CN = `cn`) signed by this CA. */
  issueClient(cn: string): { certFile: string; keyFile: string };
  /** Removes the folder with every key and certificate in it. */
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

export function makeTestPki(name = 'test'): TestPki {
  const dir = tempDir(`pki-${name}-`);
  try {
    const caKey = join(dir, 'ca.key');
    const caFile = join(dir, 'ca.crt');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${name} test CA`], dir);
    const issue = (cn: string, base: string, ext: string): { certFile: string; keyFile: string } => {
      const keyFile = join(dir, `${base}.key`);
      const csr = join(dir, `${base}.csr`);
      const certFile = join(dir, `${base}.crt`);
      const extFile = join(dir, `${base}.ext`);
      writeFileSync(extFile, ext);
      openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${cn}`], dir);
      openssl(['x509', '-req', '-in', csr, '-CA', caFile, '-CAkey', caKey, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', extFile], dir);
      return { certFile, keyFile };
    };
    const server = issue('127.0.0.1', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    return {
      dir,
      caFile,
      caKey,
      serverCert: server.certFile,
      serverKey: server.keyFile,
      issueClient: (cn) => issue(cn, `client-${cn}`, 'extendedKeyUsage=clientAuth\n'),
      dispose: () => removeDir(dir),
    };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}
