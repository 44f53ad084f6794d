/**
 * The fault catalogue: one station broken in realistic ways, on real parts (the daemon as a child process,
 * simulators on socat PTYs and TCP, a real mosquitto, a real tmpfs, a real SQLite file), and
 * `stationctl doctor` must name each cause with the fix aimed at it, in English and in Chinese, with its
 * stable `cause` code. The ways:
 *  - a missing serial adapter (an Epson configured on a by-id path that is not there);
 *  - a wrong device password (PJLink ERRA: the projector refuses the digest);
 *  - a silent relay unit on a bus where the other unit answers (unit 2 of an RS-485 bus);
 *  - a lamp error (PJLink ERST lamp = 2), an Epson over-temperature (PWR=05 with ERR=04: abnormal
 *    standby), an NEC fan error (009 error status DATA01 bit 4) and a device that answers but never
 *    identifies (a frame-profile amplifier without identify commands);
 *  - a wrong broker password, then the broker down;
 *  - a nearly full disk (the data directory on an 8 MB tmpfs, filled);
 *  - a damaged database (pages overwritten on disk).
 */
import { describe, it, expect, afterEach, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Mosquitto, PtyPair, tempDir, removeDir, waitFor } from '../../../scripts/lib/kit/index.js';
import { PjlinkSimulator } from '../../../scripts/sims/pjlink.js';
import { Escvp21Simulator } from '../../../scripts/sims/escvp21.js';
import { NecSimulator } from '../../../scripts/sims/nec.js';
import { ModbusRelaySimulator } from '../../../scripts/sims/modbus-relay.js';
import { PaAmplifierSimulator } from '../../../scripts/sims/frame-profile-device.js';
import { callDaemon } from '../../../agent/control/client.js';
import type { DeviceState } from '../../../drivers/types.js';
import { writeConfig, ctl, startAgent, waitReady } from '../../helpers/agent.js';

interface Row {
  check: string;
  status: 'pass' | 'warn' | 'fail';
  cause: string;
  detail: string;
  fix?: string;
  raw?: string;
}

let broker: Mosquitto;
beforeAll(async () => {
  broker = await Mosquitto.start({ users: { 'village-07': 'county-issued' } });
});
afterAll(async () => {
  await broker.dispose();
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ENV = { STATION_AGENT_CLOCK_SYNCED: '1', STATION_AGENT_NO_SYSTEMD: '1' };

async function doctor(file: string, lang: 'en' | 'zh'): Promise<Row[]> {
  const res = await ctl(['--json', '--lang', lang, '--config', file, 'doctor'], ENV);
  expect(res.code, res.stderr).toBe(1);
  return JSON.parse(res.stdout) as Row[];
}

function row(rows: Row[], check: string): Row {
  const r = rows.find((x) => x.check === check);
  expect(r, `${check} in ${rows.map((x) => x.check).join(', ')}`).toBeDefined();
  return r!;
}

/** English words left in Chinese output once paths, commands, config keys, codes and names are taken out. */
function englishIn(text: string): string[] {
  const stripped = text
    .replace(/(?:\/[\w.@:+-]+)+/g, ' ') // paths
    .replace(/(?:sudo|stationctl|journalctl|sqlite3)\s[^，。；（）\n]*/g, ' ') // commands
    .replace(/\b[a-z][a-z0-9]*(?:[._][a-z0-9]+)+:?/g, ' ') // config keys (password_file, serial.baud_rate)
    .replace(/\b(?:driver|host|coil|unit_id):?/g, ' ')
    .replace(/\d+\.\d+\.\d+\.\d+(?::\d+)?/g, ' ');
  // Device ids, protocol names, units, and the pieces of a by-id path that the 80-column layout wrapped.
  const allowed = /^(MQTT|TLS|CA|LED|ID|RS|MB|PJLink|ESC|VP|net|MediaMTX|CEC|projector|epson|worn|hot|nec|amplifier|led|pa|village|station|agent|root|usb|FTDI|UART|port|recovered|covered)$/i;
  return (stripped.match(/[A-Za-z]{3,}/g) ?? []).filter((w) => !allowed.test(w));
}

async function humanZh(file: string): Promise<string> {
  const res = await ctl(['--config', file, 'doctor'], { ...ENV, LANG: 'zh_CN.UTF-8' });
  expect(res.code).toBe(1);
  return res.stdout;
}

describe('doctor names the cause of each fault, with its fix, in English and Chinese', () => {
  it('devices: missing adapter, wrong password, silent relay unit, lamp, over-temperature, fan, unidentified; broker: wrong password', async () => {
    const dir = tempDir('faults-');
    cleanups.push(() => removeDir(dir));

    const projector = new PjlinkSimulator({ password: 'proj-secret' });
    await projector.start();
    cleanups.push(() => projector.stop());
    const worn = new PjlinkSimulator({ model: 'EB-X41' });
    worn.setError('lamp', 2);
    await worn.start();
    cleanups.push(() => worn.stop());
    const epsonPty = await PtyPair.start();
    cleanups.push(() => epsonPty.stop());
    const hot = new Escvp21Simulator({ serialPath: epsonPty.b });
    hot.injectFault('temperature');
    await hot.start();
    cleanups.push(() => hot.stop());
    const nec = new NecSimulator({ tcpPort: 0 });
    nec.errorBits[0] = 0x10;
    const necPort = await nec.start();
    cleanups.push(() => nec.stop());
    const bus = await PtyPair.start();
    cleanups.push(() => bus.stop());
    const relays = new ModbusRelaySimulator({ path: bus.b, units: [1, 2] });
    relays.silent.add(2);
    await relays.start();
    cleanups.push(() => relays.stop());
    const amp = new PaAmplifierSimulator();
    const ampPort = await amp.startTcp(0);
    cleanups.push(() => amp.stop());

    const projectorPass = join(dir, 'projector.pass');
    writeFileSync(projectorPass, 'guess\n', { mode: 0o600 });
    const countyPass = join(dir, 'county.pass');
    writeFileSync(countyPass, 'not-the-issued-one\n', { mode: 0o600 });
    const gone = '/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A50285BI-if00-port0';
    const file = writeConfig(dir, {
      station: { id: 'village-07', name: '七村', timezone: 'Asia/Shanghai' },
      county: { url: broker.url, username: 'village-07', password_file: countyPass },
      devices: [
        { id: 'epson', kind: 'projector', driver: 'escvp21', serial: { path: gone }, usage: false },
        { id: 'projector', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: projector.port, password_file: projectorPass },
        { id: 'worn', kind: 'projector', driver: 'pjlink', host: '127.0.0.1', port: worn.port, usage: false, poll_s: 1 },
        { id: 'hot', kind: 'projector', driver: 'escvp21', serial: { path: epsonPty.a }, usage: false, poll_s: 1 },
        { id: 'nec', kind: 'projector', driver: 'nec', host: '127.0.0.1', port: necPort, usage: false, poll_s: 1 },
        { id: 'amplifier', kind: 'amplifier', driver: 'modbus_relay', serial: { path: bus.a }, unit_id: 1, coil: 0, poll_s: 1 },
        { id: 'led', kind: 'led_display', driver: 'modbus_relay', serial: { path: bus.a }, unit_id: 2, coil: 0, poll_s: 1 },
        { id: 'pa', kind: 'amplifier', driver: 'frame_profile', host: '127.0.0.1', port: ampPort, profile: 'pa-amplifier-hex', poll_s: 1 },
      ],
    });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    const socket = join(dir, 'ctl.sock');
    // Every device has been tried: each is either online or offline with its reason.
    await waitFor(async () => {
      const states = (await callDaemon(socket, 'devices')).data as DeviceState[];
      const by = new Map(states.map((s) => [s.id, s]));
      return (
        ['epson', 'projector', 'led'].every((id) => by.get(id)?.errors.length) &&
        ['worn', 'hot', 'nec', 'amplifier', 'pa'].every((id) => by.get(id)?.online) &&
        by.get('worn')!.errors.length > 0 &&
        by.get('hot')!.errors.length > 0 &&
        by.get('nec')!.errors.length > 0
      );
    }, 20_000);

    const en = await doctor(file, 'en');
    const zh = await doctor(file, 'zh');
    const expectRow = (check: string, status: Row['status'], cause: string, en_: { detail: RegExp; fix: RegExp }, zh_: { detail: RegExp; fix: RegExp }) => {
      const e = row(en, check);
      const z = row(zh, check);
      expect(e, check).toMatchObject({ status, cause });
      expect(z, check).toMatchObject({ status, cause });
      expect(e.detail, check).toMatch(en_.detail);
      expect(e.fix, check).toMatch(en_.fix);
      expect(z.detail, check).toMatch(zh_.detail);
      expect(z.fix, check).toMatch(zh_.fix);
    };

    // A missing adapter: plug it in (both on the device's row and on its port's row).
    expectRow('device:epson', 'fail', 'adapter_missing', { detail: /not plugged in: .*does not exist/, fix: /plug the USB-serial adapter back in.*stationctl ports.*serial\.path/ }, { detail: /串口适配器未插好/, fix: /重新插好串口适配器.*serial\.path/ });
    expect(row(en, `serial:${gone}`)).toMatchObject({ status: 'fail', cause: 'adapter_missing' });
    // A refused device password names password_file and the file.
    expectRow('device:projector', 'fail', 'password_rejected', { detail: new RegExp(`refused the password in password_file \\(${projectorPass}\\)`), fix: new RegExp(`password into ${projectorPass}`) }, { detail: /设备拒绝了 password_file/, fix: /控制密码写入/ });
    // A silent relay unit where another unit answers: the wiring is fine, look at that unit.
    expectRow('device:led', 'fail', 'modbus_unit_silent', { detail: /relay unit 2 does not answer, while unit 1 .* the wiring is fine/, fix: /unit 2's address switch is set to 2 .*power/ }, { detail: /继电器 2 号单元没有应答.*线路正常/, fix: /地址拨码是否为 2.*通电/ });
    expect(row(en, 'device:amplifier')).toMatchObject({ status: 'warn', cause: 'unidentified' });
    // The device's own faults, each with the fix for that fault.
    expectRow('device:worn', 'fail', 'lamp', { detail: /lamp failure/, fix: /replace the lamp, then reset the lamp hours/ }, { detail: /灯泡故障/, fix: /更换灯泡.*灯泡使用时间清零/ });
    expectRow('device:hot', 'fail', 'temperature', { detail: /over-temperature, switched itself off after an error \(abnormal standby\)/, fix: /let it cool; clear the air vents/ }, { detail: /机内温度过高.*异常待机/, fix: /关机冷却/ });
    expectRow('device:nec', 'fail', 'fan', { detail: /fan failure/, fix: /fan repaired/ }, { detail: /风扇故障/, fix: /维修风扇/ });
    expectRow('device:pa', 'warn', 'unidentified', { detail: /did not report its model or serial number/, fix: /survey form/ }, { detail: /未报告型号或序列号/, fix: /手工登记/ });
    // The broker refuses the station's password: the password file is named.
    expectRow('broker_auth', 'fail', 'broker_login_refused', { detail: /wrong password/, fix: new RegExp(countyPass) }, { detail: /密码错误/, fix: /密码/ });
    // Raw messages are kept for scripts, never shown to the reader.
    expect(row(en, 'device:projector').raw).toMatch(/ERRA/);
    expect(row(zh, 'device:projector').detail).not.toMatch(/ERRA/);

    const human = await humanZh(file);
    expect(englishIn(human)).toEqual([]);
  }, 60_000);

  it('the broker down and a nearly full disk', async () => {
    const dir = tempDir('faults-disk-');
    cleanups.push(() => removeDir(dir));
    const data = join(dir, 'data');
    mkdirSync(data);
    // A real small file system for the data directory, as on a PC whose disk is nearly full.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', data]);
    cleanups.push(() => execFileSync('umount', [data]));
    const down = await Mosquitto.start({ users: { 'village-07': 'county-issued' } });
    cleanups.push(() => down.dispose());
    const countyPass = join(dir, 'county.pass');
    writeFileSync(countyPass, 'county-issued\n', { mode: 0o600 });
    const file = writeConfig(dir, {
      station: { id: 'village-07', name: '七村' },
      county: { url: down.url, username: 'village-07', password_file: countyPass },
      devices: [],
    });
    const agent = startAgent(file);
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitReady(agent, file);
    // Fill the disk up to its last half megabyte.
    const filler = openSync(join(data, 'old-recordings.bin'), 'w');
    const chunk = Buffer.alloc(256 * 1024, 0x5a);
    while (statfsSync(data).bavail * statfsSync(data).bsize > 768 * 1024) writeSync(filler, chunk);
    expect(fstatSync(filler).size).toBeGreaterThan(6 * 1024 * 1024);
    closeSync(filler);
    await down.stop();

    const en = await doctor(file, 'en');
    const zh = await doctor(file, 'zh');
    expect(row(en, 'disk_space')).toMatchObject({ status: 'fail', cause: 'disk_full', detail: expect.stringMatching(/only 0\.\d MB free .*usage records may stop being saved/), fix: expect.stringMatching(/free some space/) });
    expect(row(zh, 'disk_space')).toMatchObject({ status: 'fail', cause: 'disk_full', detail: expect.stringMatching(/仅剩 0\.\d MB.*使用记录可能无法保存/), fix: expect.stringMatching(/清理磁盘/) });
    const where = `127.0.0.1:${down.port}`;
    expect(row(en, 'broker_tcp')).toMatchObject({ status: 'fail', cause: 'broker_down', detail: `nothing listens at ${where}: the broker is down or the port is wrong`, raw: 'ECONNREFUSED' });
    expect(row(en, 'broker_tcp').fix).toMatch(/check the port in county\.url and that the broker runs/);
    expect(row(zh, 'broker_tcp')).toMatchObject({ status: 'fail', cause: 'broker_down', detail: expect.stringMatching(/没有服务在监听：服务器未运行/) });
    expect(row(en, 'broker_auth')).toMatchObject({ status: 'fail', cause: 'not_tried' });
    expect(englishIn(await humanZh(file))).toEqual([]);
  }, 60_000);

  it('a damaged database: named by its class in both languages, SQLite\'s message only in --json', async () => {
    const dir = tempDir('faults-db-');
    cleanups.push(() => removeDir(dir));
    const file = writeConfig(dir, { station: { id: 'village-07', name: '七村' }, devices: [] });
    const agent = startAgent(file);
    await waitReady(agent, file);
    expect(await agent.stop()).toBe(0);
    // The disk returned garbage for some pages: the b-tree pages after the header page are overwritten.
    const db = join(dir, 'data', 'station.db');
    const fd = openSync(db, 'r+');
    const pageSize = 4096;
    writeSync(fd, Buffer.alloc(pageSize * 3, 0xa5), 0, pageSize * 3, pageSize);
    closeSync(fd);
    // The agent cannot start on it (systemd would restart it in a loop): this is when a technician runs doctor.
    const broken = startAgent(file);
    cleanups.push(() => broken.stop('SIGKILL'));
    expect(await broken.exited).not.toBe(0);
    expect(broken.output()).toMatch(/database disk image is malformed/);

    const en = await doctor(file, 'en');
    const zh = await doctor(file, 'zh');
    expect(row(en, 'database')).toMatchObject({ status: 'fail', cause: 'db_corrupt', detail: `${db} is damaged: the database file is malformed` });
    expect(row(en, 'database').fix).toMatch(/stop the agent, keep a copy .* \.recover/);
    expect(row(en, 'database').raw).toMatch(/malformed|corrupt|Page|tree/i);
    expect(row(zh, 'database')).toMatchObject({ status: 'fail', cause: 'db_corrupt', detail: `${db} 已损坏：数据库文件格式错误` });
    const human = await humanZh(file);
    expect(human).not.toMatch(/malformed/);
    expect(englishIn(human)).toEqual([]);
  }, 60_000);
});
