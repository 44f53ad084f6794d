/**
 * `county-pki`: the certificates the reference broker config (scripts/mosquitto/mosquitto.conf) needs,
 * made the same way every time (docs/county.md "The broker").
 *
 *   county-pki init --dir /etc/station-county/pki --broker-name mqtt.county.example [--broker-ip 10.0.0.5]…
 *   county-pki station --dir /etc/station-county/pki <station_id>
 *   county-pki master-key --out /etc/station-county/secrets/master.key
 *   county-pki command-key --dir /etc/station-county/pki --config /etc/station-county/county.yaml <station_id>
 *
 * The last two are the command keys (key-files.ts): the county's master key, and a station's own key
 * derived from it, exported for installation on that station.
 *
 * Keys are made with node:crypto and written owner-only (0600) before anything is in them; certificates
 * are signed by openssl, run with execFile and an argv array (no shell). Nothing is ever overwritten: an
 * issued key or CA replaced by mistake would lock stations out. The folder holds the county CA's key:
 * keep it on the county's own machine and in its backups, nowhere else.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { ID_PATTERN } from '../protocol/schedule.js';
import { addConfigOption, failAndExit } from './config.js';
import { exportStationKey, makeMasterKey, masterKeyInstructions, stationKeyInstructions } from './key-files.js';

const run = promisify(execFile);

export const CA_KEY = 'county-ca.key';
export const CA_CERT = 'county-ca.crt';
export const BROKER_KEY = 'broker.key';
export const BROKER_CERT = 'broker.crt';

/** A DNS name the stations dial (RFC 1123 labels); what goes in the broker certificate's subjectAltName. */
const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export class PkiError extends Error {}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: 60_000, maxBuffer: 1024 * 1024 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new PkiError(`openssl ${args[0]} 失败 / failed: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

/** Creates `file` with `mode`, failing if it exists: a key is never written over, nor readable while written. */
function writeNew(file: string, content: string, mode: number): void {
  try {
    writeFileSync(file, content, { mode, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new PkiError(`${file} 已存在，不覆盖 / already exists; not overwritten`);
    throw err;
  }
  chmodSync(file, mode);
}

function newKey(file: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  writeNew(file, privateKey, 0o600);
}

/** Signs a certificate for `keyFile` with the county CA; `ext` are the x509v3 extension lines. */
async function issue(dir: string, keyFile: string, cn: string, ext: string[], certFile: string, days: number): Promise<void> {
  if (existsSync(certFile)) throw new PkiError(`${certFile} 已存在，不覆盖 / already exists; not overwritten`);
  const base = certFile.replace(/\.crt$/, '');
  const csr = `${base}.csr`;
  const extFile = `${base}.ext`;
  try {
    writeNew(extFile, ext.join('\n') + '\n', 0o600);
    await openssl(['req', '-new', '-key', keyFile, '-subj', `/CN=${cn}`, '-out', csr], dir);
    // A random serial: no serial file to keep, and two certificates never share one.
    const serial = `0x${randomBytes(16).toString('hex')}`;
    await openssl(['x509', '-req', '-in', csr, '-CA', join(dir, CA_CERT), '-CAkey', join(dir, CA_KEY), '-set_serial', serial, '-days', String(days), '-sha256', '-extfile', extFile, '-out', certFile], dir);
    chmodSync(certFile, 0o640);
  } finally {
    rmSync(csr, { force: true });
    rmSync(extFile, { force: true });
  }
}

export interface InitOptions {
  dir: string;
  brokerName: string;
  brokerIps?: readonly string[];
  caName?: string;
  days?: number;
}

/** The county CA and the broker's certificate. Refuses to touch a folder that already has a CA. */
export async function initPki(o: InitOptions): Promise<{ caCert: string; caKey: string; brokerCert: string; brokerKey: string }> {
  if (!DNS_NAME.test(o.brokerName) || isIP(o.brokerName) !== 0) {
    throw new PkiError(`--broker-name 须是站点连接时用的主机名 / must be the host name the stations connect to, got ${JSON.stringify(o.brokerName)}`);
  }
  for (const ip of o.brokerIps ?? []) if (isIP(ip) === 0) throw new PkiError(`--broker-ip 不是 IP 地址 / not an IP address: ${JSON.stringify(ip)}`);
  const caName = o.caName ?? 'station-county CA';
  if (!/^[\p{L}\p{N} ._-]{1,64}$/u.test(caName)) throw new PkiError('--ca-name: 1–64 个字母、数字、空格、._- / 1–64 letters, digits, spaces, ._-');
  const days = o.days ?? 3650;
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const caKey = join(dir, CA_KEY);
  const caCert = join(dir, CA_CERT);
  if (existsSync(caKey) || existsSync(caCert)) throw new PkiError(`${dir} 已有县级 CA，不覆盖 / already holds a county CA; not overwritten`);
  newKey(caKey);
  await openssl(['req', '-x509', '-new', '-key', caKey, '-subj', `/CN=${caName}`, '-days', String(days), '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', caCert], dir);
  chmodSync(caCert, 0o640);
  const brokerKey = join(dir, BROKER_KEY);
  const brokerCert = join(dir, BROKER_CERT);
  newKey(brokerKey);
  const san = [`DNS:${o.brokerName}`, ...(o.brokerIps ?? []).map((ip) => `IP:${ip}`)].join(',');
  await issue(dir, brokerKey, o.brokerName, ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth', `subjectAltName=${san}`], brokerCert, days);
  return { caCert, caKey, brokerCert, brokerKey };
}

export interface StationFiles {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  passwordFile: string;
  password: string;
}

/**
 * A station's client certificate (CN = station id), key and MQTT password, in `<dir>/stations/<id>/`.
 * The id is checked against the protocol's pattern before it becomes part of any path.
 */
export async function issueStation(pkiDir: string, stationId: string, days = 3650): Promise<StationFiles> {
  if (!ID_PATTERN.test(stationId)) throw new PkiError(`站点编号须符合 / the station id must match ${ID_PATTERN.source}: ${JSON.stringify(stationId)}`);
  const dir = resolve(pkiDir);
  if (!existsSync(join(dir, CA_KEY))) throw new PkiError(`${dir} 没有县级 CA，先运行 county-pki init / holds no county CA: run county-pki init first`);
  const stations = join(dir, 'stations');
  mkdirSync(stations, { recursive: true, mode: 0o700 });
  const out = join(stations, stationId);
  try {
    mkdirSync(out, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new PkiError(`${out} 已存在（证书已发过）/ already exists (issued before); remove it to issue again`);
    throw err;
  }
  const keyFile = join(out, 'station.key');
  const certFile = join(out, 'station.crt');
  const passwordFile = join(out, 'mqtt.pass');
  const caFile = join(out, CA_CERT);
  newKey(keyFile);
  await issue(dir, keyFile, stationId, ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'], certFile, days);
  // 24 random bytes, base64url: no character a shell, YAML or mosquitto_passwd would read specially.
  const password = randomBytes(24).toString('base64url');
  writeNew(passwordFile, password + '\n', 0o600);
  writeNew(caFile, readFileSync(join(dir, CA_CERT), 'utf8'), 0o640);
  return { dir: out, caFile, certFile, keyFile, passwordFile, password };
}

/** What `county-pki station` prints: the broker account line and where each file goes on the station. */
export function stationInstructions(id: string, f: StationFiles): string {
  const secrets = '/etc/station-agent/secrets';
  return [
    `站点 ${id} 的证书已生成 / certificate for station ${id} made in ${f.dir}`,
    '',
    '1. 在消息服务器上添加账号 / on the broker, add its account:',
    `   mosquitto_passwd -b /etc/mosquitto/passwd ${id} "$(cat ${f.passwordFile})"`,
    '   systemctl reload mosquitto',
    '',
    `2. 把这些文件拷到站点的 ${secrets}/（属主 root，组 station-agent，权限 0640）/ copy these to the station's ${secrets}/ (root:station-agent, 0640):`,
    `   ${f.caFile}  →  ${secrets}/county-ca.pem`,
    `   ${f.certFile}  →  ${secrets}/station.crt`,
    `   ${f.keyFile}  →  ${secrets}/station.key`,
    `   ${f.passwordFile}  →  ${secrets}/mqtt.pass`,
    '',
    '3. 站点配置 /etc/station-agent/config.yaml 的 county 节 / the county section of the station\'s config:',
    `   username: ${id}`,
    `   password_file: ${secrets}/mqtt.pass`,
    `   ca_file: ${secrets}/county-ca.pem`,
    `   cert_file: ${secrets}/station.crt`,
    `   key_file: ${secrets}/station.key`,
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command('county-pki').description("the county CA, the broker's certificate and the stations' client certificates").showHelpAfterError();
  program
    .command('init')
    .description('make the county CA and the broker certificate (never overwrites)')
    .requiredOption('--dir <dir>', 'the PKI folder (0700; holds the CA key)')
    .requiredOption('--broker-name <name>', 'the host name stations connect to (DNS subjectAltName)')
    .option('--broker-ip <ip>', 'an IP address stations may connect to (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--ca-name <name>', "the CA's common name", 'station-county CA')
    .option('--days <n>', 'validity in days', '3650')
    .action(async (o: { dir: string; brokerName: string; brokerIp: string[]; caName: string; days: string }) => {
      const r = await initPki({ dir: o.dir, brokerName: o.brokerName, brokerIps: o.brokerIp, caName: o.caName, days: parseDays(o.days) });
      process.stdout.write(
        [
          `县级 CA / county CA: ${r.caCert} (key ${r.caKey}, 0600)`,
          `消息服务器证书 / broker certificate: ${r.brokerCert} (key ${r.brokerKey}, 0600)`,
          '拷到 / copy to /etc/mosquitto/certs/ (county-ca.crt, broker.crt, broker.key; chown mosquitto), see docs/county.md',
          '',
        ].join('\n'),
      );
    });
  program
    .command('station')
    .description("make a station's client certificate, key and MQTT password (never overwrites)")
    .requiredOption('--dir <dir>', 'the PKI folder made by init')
    .option('--days <n>', 'validity in days', '3650')
    .argument('<station_id>')
    .action(async (id: string, o: { dir: string; days: string }) => {
      process.stdout.write(stationInstructions(id, await issueStation(o.dir, id, parseDays(o.days))));
    });
  program
    .command('master-key')
    .description("make the county's master key for per-station command keys (0600; never overwrites)")
    .requiredOption('--out <file>', 'where to write it, e.g. /etc/station-county/secrets/master.key')
    .action((o: { out: string }) => {
      process.stdout.write(masterKeyInstructions(makeMasterKey(o.out)));
    });
  const commandKey = program
    .command('command-key')
    .description("export a station's own command key, derived from the master key, for installation on that station (0600)");
  addConfigOption(commandKey, undefined)
    .requiredOption('--dir <dir>', 'the PKI folder: the key goes to <dir>/stations/<station_id>/command.key')
    .option('--master-key-file <file>', "the county's master key (or master_key_file in --config)")
    .argument('<station_id>')
    .action((id: string, o: { dir: string; masterKeyFile?: string }) => {
      if (o.masterKeyFile === undefined) throw new PkiError('需要 --master-key-file，或 --config 指向含 master_key_file 的配置 / needs --master-key-file, or --config with master_key_file');
      process.stdout.write(stationKeyInstructions(id, exportStationKey(o.dir, o.masterKeyFile, id)));
    });
  await program.parseAsync(argv, { from: 'user' });
}

function parseDays(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 36_500) throw new PkiError('--days: 1–36500');
  return n;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => failAndExit('county-pki', err));
}
