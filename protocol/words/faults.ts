/**
 * A device's fault in the reader's language. A device state's `errors` carry a stable `code` and the
 * driver's English `text` (wire data for the county); a technician reading Chinese gets the catalogue's
 * text for the code instead. Codes: the devices' own (lamp, fan, temperature … from PJLink ERST, ESC/VP21
 * ERR?, NEC error status) and the supervisor's (unreachable, link_lost, auth_failed, driver_unavailable).
 */
import type { DeviceFault } from '../devices.js';
import type { Translate, WordKey } from './index.js';

/** Fault codes with a text of their own in the catalogue (`fault.<code>`). */
const KNOWN = new Set([
  'lamp',
  'temperature',
  'fan',
  'cover_open',
  'filter',
  'power_supply',
  'abnormal_standby',
  'power_on_failed',
  'projector_failure',
  'other',
  'no_input_signal',
  'cec_unavailable',
  'media_unconfigured',
  'stream_stalled',
  'media_unreachable',
  'ping_missing',
  'ping_failed',
  'auth_failed',
  'link_lost',
  'unreachable',
  'driver_unavailable',
]);

export function isKnownFault(code: string): boolean {
  return KNOWN.has(code);
}

/** A lamp warning (end of life, over its limit) is not a lamp failure: it gets its own text. */
export function faultKey(f: Pick<DeviceFault, 'code' | 'severity'>): WordKey | undefined {
  if (f.code === 'lamp' && f.severity === 'warning') return 'fault.lamp_warning';
  return KNOWN.has(f.code) ? (`fault.${f.code}` as WordKey) : undefined;
}

export function faultText(t: Translate, f: DeviceFault): string {
  const key = faultKey(f);
  if (!key) return t('fault.unknown', { code: f.code });
  return t(key, { cmd: 'ping' });
}

/**
 * What a reader is shown for something a station sent: our words for it, or, when the catalogue has none
 * (a code this agent does not know, an event without its data), the station's own text, which a reader
 * must be able to tell apart: it is in the station's language (English), not ours.
 */
export type Words = { own: false; text: string } | { own: true; text: string; code?: string };

/**
 * A fault (a device state's `errors[]` entry, as read off the wire) in the reader's words: the
 * catalogue's text for a known code, in either language (as doctor shows it); otherwise the station's text.
 */
export function faultWords(t: Translate, f: { code: string; severity: string; text: string }): Words {
  const severity = f.severity === 'warning' ? 'warning' : 'error';
  if (faultKey({ code: f.code, severity })) return { own: false, text: faultText(t, { code: f.code, severity, text: f.text }) };
  return { own: true, text: f.text || f.code, code: f.code };
}
