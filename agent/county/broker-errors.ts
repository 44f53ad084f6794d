/**
 * The county broker's connection errors in words a technician can act on (wrong CA, bad password,
 * refused port …): the county link's `last_error` and its log lines.
 */
import type { CountyConfig } from '../../config/schema.js';

/** One readable line for the errors a technician will meet (wrong CA, bad password, refused port …). */
export function describeError(err: Error & { code?: string | number }, county?: CountyConfig): string {
  const code = typeof err.code === 'string' ? err.code : undefined;
  const url = county?.url ?? 'broker';
  switch (code) {
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return `TLS: the broker's certificate is not signed by county.ca_file${county?.ca_file ? ` (${county.ca_file})` : ''}: ${err.message} [${code}]`;
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return `TLS: the broker's certificate is expired or not yet valid (check the station clock): ${err.message} [${code}]`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS: the broker's certificate does not name the host in county.url (${url}): ${err.message}`;
    case 'ECONNREFUSED':
      return `connection refused by ${url} (broker down or wrong port)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host of ${url} (DNS)`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot reach ${url} (${code}): network down?`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `connection to ${url} reset (${code})`;
  }
  if (typeof err.code === 'number') {
    // CONNACK return codes of MQTT 3.1.1 §3.2.2.3.
    if (err.code === 4) return 'broker refused the login: bad county.username or password_file';
    // mosquitto answers 5 for a wrong password too.
    if (err.code === 5) return 'broker refused the login: not authorised (check county.username and county.password_file against the broker)';
    if (err.code === 2) return 'broker refused the client id';
  }
  return err.message;
}
