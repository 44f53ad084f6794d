/**
 * `modbus_relay`: mains power of an amplifier, LED display (or any device) through one coil of a
 * Modbus RTU relay board on RS-485 (docs/reference/protocols.md §5.4). Switches with FC 0x05 and reads the
 * coil back with FC 0x01, so the reported power is what the relay did, not what we asked.
 *
 * Several devices usually share one board and one USB adapter: the bus is acquired through
 * ctx.shared under the port's path, so they share one transport and one request queue.
 */
import type { z } from 'zod';
import { AgentError, ErrorCodes } from '../../protocol/errors.js';
import type { ModbusRelayDevice } from '../../config/schema.js';
import { withSetTopBoxPlaying } from '../settopbox-playing.js';
import type { DeviceCommand, DeviceDriver, DeviceReading, DriverContext, DriverDefinition, Lease } from '../types.js';
import { ModbusBus, busKey } from './bus.js';

export type ModbusRelayConfig = z.infer<typeof ModbusRelayDevice>;

export interface ModbusRelayTuning {
  /** Reply timeout per request (default 500 ms). */
  timeoutMs?: number;
}

export class ModbusRelayDriver implements DeviceDriver {
  readonly capabilities = ['power'] as const;
  private lease: Lease<ModbusBus> | undefined;
  private unlisten: (() => void) | undefined;
  private readonly listeners: ((err: Error) => void)[] = [];

  constructor(
    private readonly ctx: DriverContext<ModbusRelayConfig>,
    private readonly tuning: ModbusRelayTuning = {},
  ) {}

  private get bus(): ModbusBus {
    if (!this.lease) throw new AgentError(ErrorCodes.closed, 'modbus_relay: not open');
    return this.lease.value;
  }

  async open(): Promise<DeviceReading> {
    const { serial } = this.ctx.config;
    if (!this.lease) {
      this.lease = this.ctx.shared.acquire(busKey(serial.path), () =>
        new ModbusBus({
          serial,
          log: this.ctx.log,
          ...(this.tuning.timeoutMs !== undefined ? { timeoutMs: this.tuning.timeoutMs } : {}),
          ...(this.ctx.signal ? { signal: this.ctx.signal } : {}),
        }),
      );
      const first = this.lease.value.options.serial;
      if (first.baud_rate !== serial.baud_rate || first.parity !== serial.parity) {
        this.ctx.log.warn({ path: serial.path }, 'devices on this RS-485 bus disagree on serial settings; the first device opened sets them');
      }
      this.unlisten = this.lease.value.onDisconnect((err) => {
        for (const l of this.listeners) l(err);
      });
    }
    await this.bus.open();
    return this.poll();
  }

  async poll(): Promise<DeviceReading> {
    const { unit_id, coil } = this.ctx.config;
    const [on] = await this.bus.readCoils(unit_id, coil, 1);
    return { power: on ? 'on' : 'off' };
  }

  async execute(command: DeviceCommand): Promise<DeviceReading> {
    if (command.action !== 'power') throw new AgentError(ErrorCodes.unsupported, `modbus_relay switches power only, not ${command.action}`);
    const { unit_id, coil } = this.ctx.config;
    let on: boolean;
    if (command.value === 'toggle') {
      const [now] = await this.bus.readCoils(unit_id, coil, 1);
      on = !now;
    } else {
      on = command.value === 'on';
    }
    await this.bus.writeCoil(unit_id, coil, on);
    const reading = await this.poll();
    if ((reading.power === 'on') !== on) {
      throw new AgentError(ErrorCodes.device_error, `unit ${unit_id} coil ${coil} reads ${reading.power} after switching ${on ? 'on' : 'off'}`, { retryable: true });
    }
    return reading;
  }

  async close(): Promise<void> {
    this.unlisten?.();
    this.unlisten = undefined;
    const lease = this.lease;
    this.lease = undefined;
    await lease?.release();
  }

  onDisconnect(listener: (reason: Error) => void): void {
    this.listeners.push(listener);
  }
}

export const modbusRelayDriver: DriverDefinition<ModbusRelayConfig> = {
  name: 'modbus_relay',
  kinds: ['amplifier', 'led_display', 'settopbox', 'projector'],
  create: (ctx) => withSetTopBoxPlaying(new ModbusRelayDriver(ctx), ctx),
};
