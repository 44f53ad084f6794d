/**
 * A real MQTT CONNECT with the station's credentials, under a client id of its own so the running
 * agent's session is not kicked off the broker. MQTT 5 first: its reason codes tell "bad user name or
 * password" (0x86) from "not authorized" (0x87); a 3.1.1-only broker refuses v5 and is asked again.
 * Logged in, it subscribes to the station's own ack topic: an ACL that forbids it is the next thing
 * that goes wrong.
 */
import mqtt, { type IClientOptions } from 'mqtt';
import type { Config } from '../../../config/schema.js';
import type { MessageKey, Translate } from '../../i18n/index.js';
import { Topics } from '../../../protocol/topics.js';
import { rowMaker, type DoctorCheck } from './check.js';
import { withTimeout } from './probes.js';

/** Where the broker is, from county.url (brokerTarget in broker.ts). */
export interface BrokerTarget {
  host: string;
  port: number;
  tls: boolean;
}

/** The station's secret files, read once for the TLS step and the login. */
export interface BrokerSecrets {
  ca: Buffer | undefined;
  cert: Buffer | undefined;
  key: Buffer | undefined;
  password: string | undefined;
  servername: string | undefined;
}

/** CONNACK codes, MQTT 5 reason code / MQTT 3.1.1 return code (MQTT 5 §3.2.2.2, MQTT 3.1.1 §3.2.2.3). */
const CONNACK = {
  unsupportedVersion: [0x84, 1],
  clientIdRejected: [0x85, 2],
  badCredentials: [0x86, 4],
  notAuthorized: [0x87, 5],
} as const;
const is = (code: unknown, which: readonly [number, number]): boolean => code === which[0] || code === which[1];

/**
 * Detail, fix and cause. A wrong password and "not authorised" are one cause for the fleet: mosquitto
 * answers a wrong password with "not authorised", other brokers with "bad user name or password".
 */
function failure(code: unknown): [MessageKey, MessageKey, string] {
  if (is(code, CONNACK.badCredentials)) return ['doctor.auth.bad_credentials', 'doctor.auth.fix_credentials', 'broker_login_refused'];
  if (is(code, CONNACK.notAuthorized)) return ['doctor.auth.not_authorized', 'doctor.auth.fix_not_authorized', 'broker_login_refused'];
  if (is(code, CONNACK.clientIdRejected)) return ['doctor.auth.client_id', 'doctor.auth.fix_not_authorized', 'broker_client_id_rejected'];
  return ['doctor.auth.failed_class', 'doctor.tcp.fix_unreachable', 'broker_login_failed'];
}

export async function authRow(t: Translate, config: Config, target: BrokerTarget, s: BrokerSecrets, timeoutMs: number): Promise<DoctorCheck> {
  const county = config.county!;
  const r = rowMaker(t, 'broker_auth', 'doctor.check.broker_auth');
  const user = county.username ?? '-';
  const connectOnce = async (protocolVersion: 4 | 5) => {
    const opts: IClientOptions = {
      clientId: `stationctl-doctor-${config.station.id}-${process.pid}`,
      protocolVersion,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...(county.username ? { username: county.username } : {}),
      ...(s.password !== undefined ? { password: s.password } : {}),
      ...(target.tls ? { rejectUnauthorized: true, ...(s.ca ? { ca: s.ca } : {}), ...(s.cert && s.key ? { cert: s.cert, key: s.key } : {}), ...(s.servername ? { servername: s.servername } : {}) } : {}),
    };
    return mqtt.connectAsync(county.url, opts, false);
  };
  let client: mqtt.MqttClient;
  try {
    try {
      client = await withTimeout(connectOnce(5), timeoutMs + 1000);
    } catch (err) {
      // An older broker that does not speak MQTT 5.
      if (is((err as { code?: unknown }).code, CONNACK.unsupportedVersion)) client = await withTimeout(connectOnce(4), timeoutMs + 1000);
      else throw err;
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const [detail, fix, cause] = failure(code);
    return r.fail(
      t(detail, { user, code: String(code ?? '') }),
      t(fix, { user, password_file: county.password_file ?? '-', where: `${target.host}:${target.port}` }),
      { cause, raw: (err as Error).message },
    );
  }
  const topic = new Topics(county.topic_prefix, config.station.id).ack;
  try {
    const granted = await withTimeout(client.subscribeAsync(topic, { qos: 1 }), timeoutMs);
    const denied = granted.some((g) => g.qos >= 128);
    await client.endAsync(true).catch(() => undefined);
    if (denied) return r.warn(t('doctor.auth.acl_denied', { user, topic }), t('doctor.auth.fix_acl', { topic }), { cause: 'broker_acl_denied' });
  } catch {
    await client.endAsync(true).catch(() => undefined);
  }
  return r.pass(t('doctor.auth.ok', { user }));
}
