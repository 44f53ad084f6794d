/**
 * The driver contract (drivers/types.ts DeviceDriver), one suite run for every driver in
 * drivers/registry.ts against its simulator: open identifies, poll returns a reading, the kind's command
 * changes the device's state, close ends a request in flight with `closed` at once (and is not a lost
 * link), and a device that goes away shows the way the driver documents it.
 *
 * How a lost device shows differs by design, so each target names it:
 * - `event`: the driver holds a link; onDisconnect fires with `disconnected` (the supervisor then reopens).
 * - `poll`: PJLink opens a connection per burst and treats the projector's idle disconnect as routine
 *   (drivers/pjlink/driver.ts), so a lost projector is the next poll failing with `disconnected`.
 * - `reading`: no link at all (net_presence probes, cec runs one cec-client per command); absence is a
 *   state in the reading, not an error, so the supervisor does not spin a reconnect loop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/errors.js';
import { SharedResourcePool } from '../../drivers/shared.js';
import { DRIVERS } from '../../drivers/registry.js';
import { POWER_STATES } from '../../protocol/devices.js';
import { type DeviceCommand, type DeviceDriver, type DeviceReading, type DriverContext } from '../../drivers/types.js';
import { waitFor } from '../../scripts/lib/kit/wait.js';
import { captureLogger, type CapturedLog } from './log-capture.js';

export type LossKind = { kind: 'event' } | { kind: 'poll' } | { kind: 'reading'; reading: Partial<DeviceReading> };

export interface DriverRig {
  /** The device entry as the config loader produces it. */
  config: unknown;
  /**
   * The kind's command, whether a reading shows its effect (e.g. power on or warming), and whether the
   * simulated device itself changed; null for a watch-only driver (no capabilities).
   */
  toggle: { command: DeviceCommand; shows(reading: DeviceReading): boolean; deviceChanged(): boolean } | null;
  /** The device stops answering; requests stay in flight. */
  silence(): void;
  /** Requests the device has received so far (answered or not). */
  heard(): number;
  /** The device goes away: mains off, adapter unplugged, box gone. */
  goAway(): Promise<void>;
  loss: LossKind;
  dispose(): Promise<void>;
}

export interface DriverTarget {
  /** The config's `driver:` value, a key of DRIVERS. */
  driver: string;
  /** How it is reached, e.g. "over a socat PTY against Escvp21Simulator". */
  via: string;
  rig(): Promise<DriverRig>;
}

function context(config: unknown, log: CapturedLog): DriverContext {
  return {
    config,
    log: log.log,
    readSecret: () => Promise.reject(new Error('no secrets in the driver contract')),
    peerState: () => undefined,
    shared: new SharedResourcePool(),
  };
}

export function describeDriverContract(target: DriverTarget): void {
  describe(`driver contract: ${target.driver} ${target.via}`, () => {
    const running: Array<{ driver: DeviceDriver; rig: DriverRig }> = [];
    afterEach(async () => {
      for (const r of running.splice(0)) {
        await r.driver.close();
        await r.rig.dispose();
      }
    });

    /** A driver made the way the daemon makes it: the registry's definition, on the loader's config. */
    async function setup(): Promise<{ driver: DeviceDriver; rig: DriverRig; log: CapturedLog; lost: Error[] }> {
      const def = DRIVERS.get(target.driver);
      expect(def, `${target.driver} is registered`).toBeDefined();
      const rig = await target.rig();
      const log = captureLogger();
      const driver = def!.create(context(rig.config, log));
      running.push({ driver, rig });
      const lost: Error[] = [];
      driver.onDisconnect((e) => lost.push(e));
      return { driver, rig, log, lost };
    }

    it('opens, identifies, and polls a reading', async () => {
      const { driver } = await setup();
      const opened = await driver.open();
      expect(opened).toBeTypeOf('object');
      expect(POWER_STATES).toContain(opened.power);
      const reading = await driver.poll();
      expect(POWER_STATES).toContain(reading.power);
      if (reading.errors !== undefined) expect(reading.errors).toBeInstanceOf(Array);
    });

    it("carries out the kind's command, and the device's state changes", async () => {
      const { driver, rig } = await setup();
      await driver.open();
      if (rig.toggle === null) {
        expect(driver.capabilities).toEqual([]);
        await expect(driver.execute({ action: 'power', value: 'on' })).rejects.toMatchObject({ code: ErrorCodes.unsupported });
        return;
      }
      const { command, shows, deviceChanged } = rig.toggle;
      expect(driver.capabilities).toContain(command.action);
      expect(deviceChanged()).toBe(false);
      const before = await driver.poll();
      expect(shows(before), JSON.stringify(before)).toBe(false);
      const after = await driver.execute(command);
      expect(shows(after), JSON.stringify(after)).toBe(true);
      expect(deviceChanged()).toBe(true);
      const polled = await driver.poll();
      expect(shows(polled), JSON.stringify(polled)).toBe(true);
    });

    it('close ends a request in flight with closed at once, is not a lost link, and nothing is logged as a fault', async () => {
      const { driver, rig, log, lost } = await setup();
      await driver.open();
      rig.silence();
      const before = rig.heard();
      const poll = driver.poll().then(
        (r) => r,
        (e: unknown) => e,
      );
      await waitFor('the device to receive the request', () => rig.heard() > before, 5000);
      await driver.close();
      // `closed`, not the request's own `timeout`: the caller hears at once that nobody will answer.
      expect(await poll).toMatchObject({ code: ErrorCodes.closed });
      await expect(driver.poll()).rejects.toMatchObject({ code: ErrorCodes.closed });
      expect(lost).toEqual([]);
      expect(log.problems()).toEqual([]);
    });

    it('a device going away shows as the driver documents it', async () => {
      const { driver, rig, lost } = await setup();
      await driver.open();
      await rig.goAway();
      switch (rig.loss.kind) {
        case 'event':
          await waitFor('onDisconnect', () => lost.length > 0, 5000);
          expect(lost).toHaveLength(1);
          expect(lost[0]).toMatchObject({ code: ErrorCodes.disconnected });
          await expect(driver.poll()).rejects.toMatchObject({ code: ErrorCodes.disconnected });
          break;
        case 'poll':
          await expect(driver.poll()).rejects.toMatchObject({ code: ErrorCodes.disconnected });
          expect(lost).toEqual([]);
          break;
        case 'reading':
          expect(await driver.poll()).toMatchObject(rig.loss.reading);
          expect(lost).toEqual([]);
          break;
      }
      await driver.close();
    });
  });
}
