import { describe, it, expect } from 'vitest';
import { rowMaker, type DoctorContext } from '../../../agent/cli/doctor/check.js';
import { brokerTarget } from '../../../agent/cli/doctor/broker.js';
import { clockCheck } from '../../../agent/cli/doctor/clock.js';
import { CHECKS } from '../../../agent/cli/doctor/index.js';
import { translator } from '../../../agent/i18n/index.js';

const t = translator('en');

describe('doctor rows', () => {
  it('carry the check id, the translated label, and a fix only when one is given', () => {
    const r = rowMaker(t, 'device:proj', 'doctor.check.device', { id: 'proj' });
    expect(r.pass('fine')).toEqual({ check: 'device:proj', status: 'pass', cause: 'ok', detail: 'fine', label: t('doctor.check.device', { id: 'proj' }) });
    expect('fix' in r.warn('hm')).toBe(false);
    expect(r.fail('bad', 'do this')).toMatchObject({ status: 'fail', fix: 'do this' });
    expect(r.of('warn', 'x', undefined)).not.toHaveProperty('fix');
  });

  it('carry a stable cause: the one given, else ok when passing and <family>_<status> otherwise; raw only when there is one', () => {
    const r = rowMaker(t, 'device:proj', 'doctor.check.device', { id: 'proj' });
    expect(r.fail('lamp failure', 'replace it', { cause: 'lamp', raw: '[lamp] lamp error' })).toMatchObject({ cause: 'lamp', raw: '[lamp] lamp error' });
    expect(r.warn('hm')).toMatchObject({ cause: 'device_warn' });
    expect(r.fail('bad', undefined, { cause: 'x', raw: '' })).not.toHaveProperty('raw');
  });

  it('a check family reads the shared context: the clock override decides pass / fail / warn', async () => {
    const ctx = (synced: string) => ({ t, env: { STATION_AGENT_CLOCK_SYNCED: synced }, config: { station: { timezone: 'Asia/Shanghai' } } }) as unknown as DoctorContext;
    expect((await clockCheck.run(ctx('1'))).map((c) => [c.check, c.status])).toEqual([['clock', 'pass']]);
    const [fail] = await clockCheck.run(ctx('0'));
    expect(fail).toMatchObject({ status: 'fail', fix: expect.stringContaining('timedatectl set-ntp true') });
  });

  it('runs the families in the checklist order', () => {
    expect(CHECKS.map((c) => c.family)).toEqual(['data_dir', 'database', 'devices', 'serial', 'broker', 'outbox', 'clock', 'systemd']);
  });
});

describe('brokerTarget', () => {
  it('takes host and port from county.url, with the MQTT default ports', () => {
    expect(brokerTarget('mqtt://county.example:1884')).toEqual({ host: 'county.example', port: 1884, tls: false });
    expect(brokerTarget('mqtts://county.example')).toEqual({ host: 'county.example', port: 8883, tls: true });
    expect(brokerTarget('mqtt://[::1]')).toEqual({ host: '::1', port: 1883, tls: false });
  });
});
