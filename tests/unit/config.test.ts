import { describe, it, expect } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '../../scripts/lib/kit/temp.js';
import { parseConfig, loadConfig } from '../../config/load.js';
import { formatPath } from '../../config/issues.js';
import { ConfigError } from '../../config/errors.js';
import { configWarnings } from '../../config/warnings.js';

const base = `
station: { id: s1, name: Station }
data_dir: /tmp/x
`;

function errorsOf(text: string): string[] {
  try {
    parseConfig(text, '/tmp/config.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('accepts a minimal config and fills defaults', () => {
    const c = parseConfig(base, '/tmp/config.yaml');
    expect(c.station.timezone).toBe('Asia/Shanghai');
    expect(c.station.level).toBe('village');
    expect(c.control.socket).toBe('/run/station-agent/control.sock');
    expect(c.sessions).toEqual({ min_s: 300, merge_gap_s: 120, idle_cutoff_s: 1800, checkpoint_s: 60 });
    expect(c.devices).toEqual([]);
    expect(c.county).toBeUndefined();
  });

  it('accepts the shipped example config, which signs county commands', () => {
    // The secret files it names live on the station PC, not here.
    const c = loadConfig(join(import.meta.dirname, '..', '..', 'config', 'example.yaml'), { checkFiles: false });
    expect(c.county?.command_key_file).toBe('/etc/station-agent/secrets/command.key');
    expect(configWarnings(c).filter((w) => w.code === 'unsigned_commands')).toEqual([]);
    expect(c.devices.length).toBeGreaterThanOrEqual(5);
    expect(c.county?.topic_prefix).toBe('stations');
    expect(c.devices.find((d) => d.id === 'projector')?.usage).toBe(true);
    expect(c.devices.find((d) => d.id === 'settopbox')?.usage).toBe(false);
  });

  it('takes evidence with the seed file in the data dir by default, relative paths from the config, and bounded epochs', () => {
    expect(parseConfig(`${base}evidence: {}\n`, '/etc/sa/config.yaml').evidence).toEqual({ seed_file: '/tmp/x/evidence.key', epoch_s: 3600 });
    expect(parseConfig(`${base}evidence: { seed_file: keys/seed.json, epoch_s: 10 }\n`, '/etc/sa/config.yaml').evidence).toEqual({ seed_file: '/etc/sa/keys/seed.json', epoch_s: 10 });
    expect(parseConfig(base, '/etc/sa/config.yaml').evidence).toBeUndefined();
    expect(errorsOf(`${base}evidence: { epoch_s: 9 }\n`)).toEqual(['evidence.epoch_s: Too small: expected number to be >=10']);
    expect(errorsOf(`${base}evidence: { epoch_s: 86401 }\n`)[0]).toMatch(/^evidence\.epoch_s: /);
    expect(errorsOf(`${base}evidence: { seed: x }\n`)).toEqual(['evidence.seed: unknown key']);
  });

  it('reports a missing seed file with the fix to make it', () => {
    const dir = tempDir('config-seed-');
    try {
      const text = `station: { id: s1, name: Station }\ndata_dir: ${dir}\nevidence: {}\n`;
      let error: ConfigError | undefined;
      try {
        parseConfig(text, join(dir, 'config.yaml'), { checkFiles: true });
      } catch (err) {
        error = err as ConfigError;
      }
      expect(error?.issues).toEqual([`evidence.seed_file: no seed file ${join(dir, 'evidence.key')}`]);
      expect(error?.hints).toEqual([{ code: 'evidence_init', file: join(dir, 'evidence.key') }]);
      writeFileSync(join(dir, 'evidence.key'), '{}');
      expect(parseConfig(text, join(dir, 'config.yaml'), { checkFiles: true }).evidence?.seed_file).toBe(join(dir, 'evidence.key'));
    } finally {
      removeDir(dir);
    }
  });

  it('takes declared opening hours, and refuses ones that make no sense with the key path', () => {
    const c = parseConfig(`station: { id: s1, name: Station, opening_hours: [{ days: [sat], from: "19:00", to: "02:00" }] }\ndata_dir: /tmp/x\n`, '/tmp/config.yaml');
    expect(c.station.opening_hours).toEqual([{ days: ['sat'], from: '19:00', to: '02:00' }]);
    expect(parseConfig(base, '/tmp/config.yaml').station.opening_hours).toBeUndefined();
    const errors = errorsOf(`station: { id: s1, name: Station, opening_hours: [{ days: [sat, sat], from: "8:00", to: "08:00" }] }\ndata_dir: /tmp/x\n`);
    expect(errors.join('\n')).toMatch(/station\.opening_hours\[0\]\.days/);
    expect(errors.join('\n')).toMatch(/station\.opening_hours\[0\]\.from/);
    expect(errorsOf(`station: { id: s1, name: Station, opening_hours: [{ days: [mon], from: "08:00", to: "08:00" }] }\ndata_dir: /tmp/x\n`).join('\n')).toMatch(
      /station\.opening_hours\[0\]\.to: from and to are the same time/,
    );
  });

  it('defaults usage to true for projector, LED and amplifier only', () => {
    const c = parseConfig(
      `${base}
devices:
  - { id: p, kind: projector, driver: pjlink, host: 10.0.0.1 }
  - { id: stb, kind: settopbox, driver: net_presence, host: 10.0.0.2 }
  - { id: amp, kind: amplifier, driver: modbus_relay, serial: { path: /dev/ttyUSB0 }, unit_id: 1, coil: 0, usage: false }
`,
      '/tmp/c.yaml',
    );
    expect(c.devices.map((d) => d.usage)).toEqual([true, false, false]);
    expect(c.devices[2]).toMatchObject({ serial: { baud_rate: 9600, data_bits: 8, parity: 'none', stop_bits: 1 } });
  });

  it('reports every problem with its key path in one pass', () => {
    const errors = errorsOf(`
station: { id: s1, name: Station, colour: red }
devices:
  - { id: p, kind: projector, driver: pjlink, host: 10.0.0.1, port: 99999 }
  - { id: q, kind: projector, driver: escvp21, serial: { path: /dev/ttyS0 } }
  - { id: a, kind: amplifier, driver: modbus_relay, serial: { path: /dev/ttyUSB0, baud_rate: 9601 }, unit_id: 1, coil: 0 }
`);
    expect(errors).toHaveLength(3);
    expect(errors).toContain('station.colour: unknown key');
    expect(errors.some((e) => e.startsWith('devices[0].port:'))).toBe(true);
    expect(errors).toContain('devices[2].serial.baud_rate: expected one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200');
  });

  it.each([
    ['a bad station id', `station: { id: "Bad Id", name: S }`, 'station.id:'],
    ['an unknown driver', `${base}devices: [{ id: p, kind: projector, driver: sony, host: h }]`, 'devices[0].driver: expected one of'],
    ['a driver of the wrong kind', `${base}devices: [{ id: p, kind: projector, driver: novastar, host: h }]`, 'devices[0].kind: driver novastar serves led_display'],
    ['a duplicate device id', `${base}devices: [{ id: p, kind: projector, driver: pjlink, host: h }, { id: p, kind: projector, driver: pjlink, host: g }]`, 'devices[1].id: duplicate device id p'],
    ['serial and host both given', `${base}devices: [{ id: p, kind: projector, driver: nec, host: h, serial: { path: /dev/ttyS0 } }]`, 'devices[0].serial: nec needs exactly one of serial or host'],
    ['signal_from to no projector', `${base}devices: [{ id: s, kind: settopbox, driver: net_presence, host: h, signal_from: nope }]`, 'devices[0].signal_from: no projector with id nope'],
    ['a plain mqtt url with a CA', `${base}county: { url: "mqtt://broker:1883", ca_file: ca.pem }`, 'county.url: ca_file/cert_file need an mqtts:// url'],
    ['a county url of another scheme', `${base}county: { url: "http://broker" }`, 'county.url: must be mqtt://'],
    ['a topic prefix with a wildcard', `${base}county: { url: "mqtts://b", topic_prefix: "st/#" }`, 'county.topic_prefix:'],
    ['an unknown time zone', `station: { id: s, name: S, timezone: Mars/Olympus }`, 'station.timezone: unknown IANA time zone'],
    ['a schedule step for no device', `${base}schedules: [{ id: c, cron: "0 20 * * 2", duration_min: 90, steps: [{ device: nope, action: power, value: "on" }] }]`, 'schedules[0].steps[0].device: no device with id nope'],
    ['an invalid cron', `${base}devices: [{ id: p, kind: projector, driver: pjlink, host: h }]\nschedules: [{ id: c, cron: "0 25 * * 2", duration_min: 90, steps: [{ device: p, action: power, value: "on" }] }]`, 'schedules[0].cron:'],
    ['a missing station', `data_dir: /x`, 'station:'],
    ['a YAML syntax error', `station: { id: s1, name: [unclosed`, 'YAML'],
    ['a duplicate YAML key', `station: { id: s1, name: S }\nstation: { id: s2, name: T }`, 'YAML'],
  ])('rejects %s', (_label, text, expected) => {
    const errors = errorsOf(text);
    expect(errors.some((e) => e.includes(expected))).toBe(true);
  });

  it('checks that secret files exist when asked, naming the key', () => {
    const dir = tempDir('cfg-');
    try {
      const file = join(dir, 'c.yaml');
      writeFileSync(file, `${base}county: { url: "mqtts://broker:8883", password_file: secret.pass }\n`);
      expect(() => loadConfig(file, { checkFiles: true })).toThrow(/county\.password_file: cannot read .*secret\.pass/);
      writeFileSync(join(dir, 'secret.pass'), 'pw\n');
      const c = loadConfig(file, { checkFiles: true });
      expect(c.county?.password_file).toBe(join(dir, 'secret.pass'));
    } finally {
      removeDir(dir);
    }
  });

  it('names an unreadable config file', () => {
    expect(() => loadConfig('/nonexistent/config.yaml')).toThrow(/cannot read config: ENOENT/);
  });

  it('formats key paths like a technician reads them', () => {
    expect(formatPath(['devices', 2, 'serial', 'baud_rate'])).toBe('devices[2].serial.baud_rate');
    expect(formatPath([])).toBe('(top level)');
  });
});

describe('config warnings', () => {
  it('names the write commands allowed without a command key, counting unknown names as writes', () => {
    const c = parseConfig(
      `${base}
county:
  url: mqtt://127.0.0.1:1883
  allowed_commands: [diag.run, sessions.resend, rebirth, schedule.list, device.power, schedule.set, schedule.run, some.future]
`,
      '/tmp/c.yaml',
    );
    expect(configWarnings(c)).toEqual([
      { code: 'unsigned_commands', key: 'county.allowed_commands', commands: ['device.power', 'schedule.set', 'schedule.run', 'some.future'] },
    ]);
    const readOnly = parseConfig(`${base}\ncounty: { url: 'mqtt://127.0.0.1:1883', allowed_commands: [diag.run, sessions.resend] }\n`, '/tmp/c.yaml');
    expect(configWarnings(readOnly)).toEqual([]);
    const signed = parseConfig(`${base}\ncounty: { url: 'mqtt://127.0.0.1:1883', allowed_commands: [schedule.set], command_key_file: k }\n`, '/tmp/c.yaml');
    expect(configWarnings(signed)).toEqual([]);
  });

  it('flags secret files other users can read or write, and leaves certificates alone', () => {
    const dir = tempDir('config-warn-');
    try {
      const file = (name: string, mode: number) => {
        const f = join(dir, name);
        writeFileSync(f, 'secret\n');
        chmodSync(f, mode);
        return f;
      };
      file('county.pass', 0o644);
      file('command.key', 0o640);
      file('station.key', 0o604);
      file('ca.pem', 0o644);
      file('pjlink.pass', 0o602);
      const c = parseConfig(
        `${base}
county: { url: 'mqtts://127.0.0.1:8883', password_file: county.pass, command_key_file: command.key, ca_file: ca.pem, cert_file: ca.pem, key_file: station.key }
devices:
  - { id: p, kind: projector, driver: pjlink, host: 10.0.0.1, password_file: pjlink.pass }
`,
        join(dir, 'config.yaml'),
      );
      expect(configWarnings(c)).toEqual([
        { code: 'secret_file_open', key: 'county.password_file', file: join(dir, 'county.pass'), mode: '0644' },
        { code: 'secret_file_open', key: 'county.key_file', file: join(dir, 'station.key'), mode: '0604' },
        { code: 'secret_file_open', key: 'devices[0].password_file', file: join(dir, 'pjlink.pass'), mode: '0602' },
      ]);
    } finally {
      removeDir(dir);
    }
  });
});
