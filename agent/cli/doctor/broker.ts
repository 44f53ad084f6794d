/**
 * The county broker, step by step, so the failing step names the fix: DNS, TCP, TLS (mqtts only), then
 * a real MQTT login (broker-auth.ts). A step that fails marks the steps after it as not tried.
 */
import { readFile } from 'node:fs/promises';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import type { MessageKey, Translate } from '../../i18n/index.js';
import { rowMaker, type Check, type DoctorCheck, type DoctorContext, type RowMaker } from './check.js';
import { authRow, type BrokerSecrets, type BrokerTarget } from './broker-auth.js';
import { withTimeout } from './probes.js';
import { tcpProbe } from '../../../drivers/transport/tcp-probe.js';
import { errnoOf, osWhy } from './os-errors.js';
import { localTime } from '../time.js';

export function brokerTarget(url: string): BrokerTarget {
  const u = new URL(url);
  const tls = u.protocol === 'mqtts:';
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : tls ? 8883 : 1883, tls };
}

const TLS_CA_CODES = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT']);

function tlsFailure(t: Translate, err: NodeJS.ErrnoException, caFile: string | undefined): { detail: string; fix: string; cause: string } {
  const code = err.code ?? '';
  if (TLS_CA_CODES.has(code)) return { detail: t('doctor.tls.untrusted', { code }), fix: t('doctor.tls.fix_ca', { ca: caFile ?? '-' }), cause: 'tls_untrusted' };
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return { detail: t('doctor.tls.expired', { code }), fix: t('doctor.tls.fix_clock'), cause: 'tls_expired' };
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { detail: t('doctor.tls.wrong_name', { code }), fix: t('doctor.tls.fix_name'), cause: 'tls_wrong_name' };
  return { detail: t('doctor.tls.failed_class'), fix: t('doctor.tls.fix_generic'), cause: 'tls_failed' };
}

/** The TLS handshake with the station's CA and client certificate; resolves the broker's certificate. */
function tlsHandshake(address: string, port: number, s: BrokerSecrets, timeoutMs: number): Promise<PeerCertificate> {
  return withTimeout(
    new Promise<PeerCertificate>((resolve, reject) => {
      const sock = tlsConnect({
        host: address,
        port,
        ...(s.servername ? { servername: s.servername } : {}),
        ...(s.ca ? { ca: s.ca } : {}),
        ...(s.cert && s.key ? { cert: s.cert, key: s.key } : {}),
        rejectUnauthorized: true,
      });
      sock.once('secureConnect', () => {
        const p = sock.getPeerCertificate();
        sock.destroy();
        resolve(p);
      });
      sock.once('error', (e) => {
        sock.destroy();
        reject(e);
      });
    }),
    timeoutMs,
  );
}

async function brokerRows({ t, config, timeoutMs }: DoctorContext): Promise<DoctorCheck[]> {
  const county = config.county!;
  const out: DoctorCheck[] = [];
  const target = brokerTarget(county.url);
  const where = `${target.host}:${target.port}`;
  const dns = rowMaker(t, 'broker_dns', 'doctor.check.broker_dns');
  const tcp = rowMaker(t, 'broker_tcp', 'doctor.check.broker_tcp');
  const tls = rowMaker(t, 'broker_tls', 'doctor.check.broker_tls');
  const auth = rowMaker(t, 'broker_auth', 'doctor.check.broker_auth');
  /** The rows after a failed step, each saying which step it waits for. */
  const notTried = (because: MessageKey, ...steps: RowMaker[]) => steps.map((r) => r.fail(t('doctor.skipped', { because: t(because) }), t('doctor.skipped_fix'), { cause: 'not_tried' }));
  const later = (...steps: RowMaker[]) => (target.tls ? steps : steps.filter((s) => s !== tls));

  let address = target.host;
  if (isIP(target.host)) {
    out.push(dns.pass(t('doctor.dns.ip', { host: target.host })));
  } else {
    try {
      address = (await withTimeout(lookup(target.host), timeoutMs)).address;
      out.push(dns.pass(t('doctor.dns.ok', { host: target.host, address })));
    } catch (err) {
      out.push(
        dns.fail(t('doctor.dns.failed_class', { host: target.host, why: osWhy(t, errnoOf(err)) }), t('doctor.dns.fix', { file: '/etc/resolv.conf' }), {
          cause: 'broker_dns_failed',
          raw: (err as Error).message,
        }),
      );
      return [...out, ...notTried('doctor.check.broker_dns', ...later(tcp, tls, auth))];
    }
  }

  const tcpErr = await tcpProbe(address, target.port, timeoutMs);
  if (tcpErr) {
    // Refused: the host is there and nothing listens, the broker is down (or the port is wrong).
    const down = tcpErr === 'ECONNREFUSED';
    out.push(
      tcp.fail(
        down ? t('doctor.tcp.down', { where }) : t('doctor.tcp.failed_class', { where, why: osWhy(t, tcpErr) }),
        t(down ? 'doctor.tcp.fix_refused' : 'doctor.tcp.fix_unreachable', { where }),
        { cause: down ? 'broker_down' : 'broker_unreachable', raw: tcpErr },
      ),
    );
    return [...out, ...notTried('doctor.check.broker_tcp', ...later(tls, auth))];
  }
  out.push(tcp.pass(t('doctor.tcp.ok', { where })));

  let secrets: BrokerSecrets;
  try {
    secrets = {
      ca: county.ca_file ? await readFile(county.ca_file) : undefined,
      cert: county.cert_file ? await readFile(county.cert_file) : undefined,
      key: county.key_file ? await readFile(county.key_file) : undefined,
      password: county.password_file ? (await readFile(county.password_file, 'utf8')).trim() : undefined,
      servername: isIP(target.host) ? undefined : target.host,
    };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return [...out, auth.fail(t('doctor.auth.secret_class', { path: e.path ?? '', why: osWhy(t, errnoOf(e)) }), t('doctor.auth.fix_secret'), { cause: 'broker_secret_unreadable', raw: e.message })];
  }
  if (target.tls) {
    try {
      const peer = await tlsHandshake(address, target.port, secrets, timeoutMs);
      const until = peer.valid_to ? localTime(new Date(peer.valid_to).toISOString(), config.station.timezone).slice(0, 10) : '?';
      out.push(tls.pass(t('doctor.tls.ok', { subject: String(peer.subject?.CN ?? '?'), until })));
    } catch (err) {
      const f = tlsFailure(t, err as NodeJS.ErrnoException, county.ca_file);
      out.push(tls.fail(f.detail, f.fix, { cause: f.cause, raw: (err as Error).message }));
      return [...out, ...notTried('doctor.check.broker_tls', auth)];
    }
  }
  out.push(await authRow(t, config, target, secrets, timeoutMs));
  return out;
}

export const brokerCheck: Check = {
  family: 'broker',
  run: async (ctx) => (ctx.config.county ? brokerRows(ctx) : []),
};
