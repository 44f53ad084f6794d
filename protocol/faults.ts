/**
 * Stable fault codes for why a device cannot be used, set where the cause is known (AgentError.fault).
 * The error `code` says what kind of failure it was (`timeout`, `auth` …) and drives retries; the fault
 * says why, so `stationctl doctor` can name the fix aimed at it and the county can count causes across
 * the fleet. A device's own self-reported faults (lamp, fan, temperature …) are the `code`s of its
 * state's `errors` and are listed in docs/drivers.md with these.
 */
export const Faults = {
  /** The serial path does not exist: adapter unplugged or wrong path. */
  adapter_missing: 'adapter_missing',
  /** Another program holds the serial port (cannot lock). */
  port_locked: 'port_locked',
  /** The agent's user may not open the serial port. */
  port_permission: 'port_permission',
  /** The device asks for a password and none is configured. */
  password_required: 'password_required',
  /** The device refused the configured password. */
  password_rejected: 'password_rejected',
  /** The password in password_file cannot be used (too long, not ASCII). */
  password_invalid: 'password_invalid',
  /** A password_file (or token_file) cannot be read. */
  secret_unreadable: 'secret_unreadable',
  /** TCP: the host answers but nothing listens on the port (network control off, wrong port). */
  connection_refused: 'connection_refused',
  /** TCP: no route, no answer to the connect (powered off, cable, wrong address). */
  host_unreachable: 'host_unreachable',
  /** A host name that does not resolve. */
  host_not_found: 'host_not_found',
  /** The link works but the device did not answer within its time. */
  no_answer: 'no_answer',
  /** Something answers, but not in the driver's protocol (wrong driver, wrong baud rate, line noise). */
  bad_reply: 'bad_reply',
  /** Modbus: the addressed unit did not answer. */
  unit_silent: 'unit_silent',
  /** Modbus: the unit's reply failed its CRC. */
  reply_corrupted: 'reply_corrupted',
  /** Modbus: the unit answered with an exception (no such coil …). */
  unit_exception: 'unit_exception',
} as const;

export type Fault = (typeof Faults)[keyof typeof Faults];

/** The fault an error names, or the one its code implies when the raiser did not say. */
export function faultOf(err: { code: string; fault?: string | undefined }): string | undefined {
  if (err.fault) return err.fault;
  switch (err.code) {
    case 'timeout':
      return Faults.no_answer;
    case 'protocol':
      return Faults.bad_reply;
    case 'auth':
      return Faults.password_rejected;
    default:
      return undefined;
  }
}
