/**
 * The pure part of doctor's device rows and database row: from a device's state and its driver's
 * diagnosis to the cause, the text and the fix; from an SQLite error to its class.
 */
import { describe, it, expect } from 'vitest';
import type { DeviceConfig } from '../../../config/schema.js';
import type { DeviceFault, DeviceState } from '../../../drivers/types.js';
import type { DeviceDiagnosis } from '../../../agent/control/protocol.js';
import { deviceFinding } from '../../../agent/cli/doctor/device-cause.js';
import { dbClass, osWhy } from '../../../agent/cli/doctor/os-errors.js';
import { translator } from '../../../agent/i18n/index.js';

const en = translator('en');
const zh = translator('zh');

const relay = (id: string, unit: number, path = '/dev/serial/by-id/usb-rs485-if00'): DeviceConfig =>
  ({ id, kind: 'amplifier', driver: 'modbus_relay', serial: { path, baud_rate: 9600 }, unit_id: unit, coil: 0 }) as unknown as DeviceConfig;
const pjlink = (id: string, extra: Record<string, unknown> = {}): DeviceConfig =>
  ({ id, kind: 'projector', driver: 'pjlink', host: '192.168.1.20', port: 4352, ...extra }) as unknown as DeviceConfig;
const state = (id: string, online: boolean, errors: DeviceFault[] = [], extra: Partial<DeviceState> = {}): DeviceState => ({
  id,
  kind: 'projector',
  driver: 'x',
  online,
  power: online ? 'off' : 'unknown',
  last_seen: null,
  errors,
  ...extra,
});
const unreachable: DeviceFault = { code: 'unreachable', severity: 'error', text: 'x' };
const diag = (id: string, code: string, fault: string | null, message = 'raw message'): DeviceDiagnosis => ({ id, online: false, failure: { code, fault, message } });

describe('device causes', () => {
  it('a silent relay unit: the wiring is fine when another unit on the same bus answers, else the bus is suspect', () => {
    const configs = [relay('amp', 1), relay('led', 2)];
    const silent = diag('led', 'timeout', 'unit_silent', 'unit 2 did not answer read 1 coil(s) at 0 within 500 ms');
    const other = deviceFinding(en, configs[1]!, [state('amp', true), state('led', false, [unreachable])], [silent], configs);
    expect(other).toMatchObject({ status: 'fail', cause: 'modbus_unit_silent', raw: silent.failure!.message });
    expect(other.detail).toContain('the wiring is fine');
    const alone = deviceFinding(en, configs[1]!, [state('amp', false, [unreachable]), state('led', false, [unreachable])], [silent], configs);
    expect(alone).toMatchObject({ cause: 'modbus_bus_silent', fix: expect.stringMatching(/RS-485 wiring \(A and B not swapped\)/) });
    // A unit on another port is no evidence about this bus.
    const elsewhere = [relay('amp', 1, '/dev/ttyUSB9'), relay('led', 2)];
    expect(deviceFinding(en, elsewhere[1]!, [state('amp', true), state('led', false, [unreachable])], [silent], elsewhere).cause).toBe('modbus_bus_silent');
  });

  it('passwords: refused names the file, missing names password_file; an old daemon without a diagnosis still gives auth_failed its cause', () => {
    const d = pjlink('proj', { password_file: '/etc/station-agent/proj.pass' });
    const auth: DeviceFault = { code: 'auth_failed', severity: 'error', text: 'PJLink authentication failed' };
    expect(deviceFinding(en, d, [state('proj', false, [auth])], undefined, [d])).toMatchObject({ cause: 'password_rejected', fix: expect.stringContaining('/etc/station-agent/proj.pass') });
    const none = pjlink('proj');
    expect(deviceFinding(zh, none, [state('proj', false, [auth])], [diag('proj', 'auth', 'password_required')], [none])).toMatchObject({
      cause: 'password_required',
      detail: '设备要求密码，但未设置 password_file',
    });
  });

  it('network: a refused port is not a dead host', () => {
    const d = pjlink('proj');
    expect(deviceFinding(en, d, [state('proj', false, [unreachable])], [diag('proj', 'disconnected', 'connection_refused')], [d])).toMatchObject({
      cause: 'connection_refused',
      fix: expect.stringContaining('PJLink'),
    });
    expect(deviceFinding(en, d, [state('proj', false, [unreachable])], [diag('proj', 'timeout', 'host_unreachable')], [d]).cause).toBe('host_unreachable');
    // Without a diagnosis the row still says offline, with the generic fix.
    expect(deviceFinding(en, d, [state('proj', false, [unreachable])], undefined, [d])).toMatchObject({ cause: 'offline', detail: 'offline (192.168.1.20:4352)' });
  });

  it("a device's own faults: the most telling one names the cause, warnings warn, a lamp warning is not a lamp failure", () => {
    const d = pjlink('proj');
    const f = (code: string, severity: DeviceFault['severity'] = 'error'): DeviceFault => ({ code, severity, text: `${code} (driver text)` });
    expect(deviceFinding(en, d, [state('proj', true, [f('abnormal_standby'), f('lamp')], { lamp_hours: 3012 })], undefined, [d])).toMatchObject({
      status: 'fail',
      cause: 'lamp',
      detail: 'lamp failure, switched itself off after an error (abnormal standby) (3012 h)',
      fix: expect.stringMatching(/replace the lamp, then reset the lamp hours/),
    });
    expect(deviceFinding(zh, d, [state('proj', true, [f('lamp', 'warning')])], undefined, [d])).toMatchObject({ status: 'warn', cause: 'lamp_warning', detail: '灯泡寿命将尽' });
    expect(deviceFinding(en, d, [state('proj', true, [f('other')])], undefined, [d])).toMatchObject({ cause: 'device_fault', raw: '[other] other (driver text)' });
    expect(deviceFinding(en, d, [state('proj', true, [], { model: 'EB-X51' })], undefined, [d])).toMatchObject({ status: 'pass', cause: 'ok' });
  });
});

describe('the fault catalogue', () => {
  // Every code a driver puts in a state's errors (docs/drivers.md): each has words and a fix of its own.
  const OWN = ['lamp', 'temperature', 'fan', 'cover_open', 'filter', 'power_supply', 'abnormal_standby', 'power_on_failed', 'projector_failure', 'other', 'no_input_signal', 'cec_unavailable', 'media_unconfigured', 'stream_stalled', 'media_unreachable', 'ping_missing', 'ping_failed'];
  it('names every device fault code in both languages, each with its own fix', () => {
    const d = pjlink('proj');
    const generic = [en('doctor.fix.unknown'), zh('doctor.fix.unknown')];
    for (const code of OWN) {
      for (const t of [en, zh]) {
        const f = deviceFinding(t, d, [state('proj', true, [{ code, severity: 'error', text: 'x' }])], undefined, [d]);
        expect(f.detail, code).not.toMatch(/fault |故障 /);
        expect(generic, code).not.toContain(f.fix);
      }
    }
  });
});

describe('error classes', () => {
  it('SQLite: by result code, or by the standard message a daemon forwarded', () => {
    expect(dbClass({ code: 'SQLITE_CORRUPT', message: 'database disk image is malformed' }).cause).toBe('db_corrupt');
    expect(dbClass(new Error('database disk image is malformed')).cause).toBe('db_corrupt');
    expect(dbClass({ code: 'db_open', message: 'cannot open database x read-only: file is not a database', cause: { code: 'SQLITE_NOTADB' } }).cause).toBe('db_not_a_database');
    expect(dbClass({ code: 'SQLITE_BUSY', message: 'database is locked' }).cause).toBe('db_locked');
    expect(dbClass({ code: 'SQLITE_IOERR_READ', message: 'disk I/O error' }).cause).toBe('db_io_error');
    expect(dbClass({ code: 'SQLITE_FULL', message: 'database or disk is full' }).cause).toBe('db_disk_full');
    expect(dbClass({ code: 'db_too_new', message: '…' }).cause).toBe('db_too_new');
    expect(dbClass(new Error('something else')).cause).toBe('db_error');
  });

  it('errno codes in words, in both languages', () => {
    expect(osWhy(en, 'ENOSPC')).toBe('no space left on the disk');
    expect(osWhy(zh, 'EPERM')).toBe('没有权限');
    expect(osWhy(zh, 'EWHATEVER')).toBe('系统错误');
  });
});
