/**
 * Device commands for stationctl and the county, on the one registry. Names follow the county
 * contract: device.power, device.input, device.mute, device.volume, device.brightness, device.blank.
 */
import { z } from 'zod';
import type { CommandRegistry, CommandSource } from './commands.js';
import type { DeviceSupervisor } from './supervisor.js';
import type { DeviceCommand } from '../drivers/types.js';

const DeviceId = z.string().min(1).max(64);
const OnOff = z.union([z.boolean(), z.enum(['on', 'off'])]).transform((v) => v === true || v === 'on');
const Percent = z.coerce.number().int().min(0).max(100);

export interface CommandObserver {
  /** Told before a device command runs, so a session it starts carries the right trigger. */
  beforeCommand?(deviceId: string, command: DeviceCommand, source: CommandSource): void;
}

export function registerDeviceCommands(registry: CommandRegistry, supervisor: DeviceSupervisor, observer: CommandObserver = {}): void {
  const run = (id: string, command: DeviceCommand, source: CommandSource) => {
    observer.beforeCommand?.(id, command, source);
    return supervisor.execute(id, command, source);
  };
  registry.register({
    name: 'devices',
    description: 'the state of every device',
    readOnly: true,
    args: z.object({}).strict(),
    handler: () => supervisor.states(),
  });
  registry.register({
    name: 'device.power',
    description: 'power a device on or off',
    readOnly: false,
    args: z.object({ device: DeviceId, value: z.enum(['on', 'off', 'toggle']) }).strict(),
    handler: (a, ctx) => run(a.device, { action: 'power', value: a.value }, ctx.source),
  });
  registry.register({
    name: 'device.input',
    description: 'select a projector input',
    readOnly: false,
    args: z.object({ device: DeviceId, value: z.string().min(1).max(16) }).strict(),
    handler: (a, ctx) => run(a.device, { action: 'input', value: a.value }, ctx.source),
  });
  registry.register({
    name: 'device.mute',
    description: 'AV mute (projector) or mute (amplifier)',
    readOnly: false,
    args: z.object({ device: DeviceId, value: OnOff }).strict(),
    handler: (a, ctx) => run(a.device, { action: 'mute', value: a.value }, ctx.source),
  });
  registry.register({
    name: 'device.volume',
    description: 'amplifier volume 0-100',
    readOnly: false,
    args: z.object({ device: DeviceId, value: Percent }).strict(),
    handler: (a, ctx) => run(a.device, { action: 'volume', value: a.value }, ctx.source),
  });
  registry.register({
    name: 'device.brightness',
    description: 'LED brightness 0-100',
    readOnly: false,
    args: z.object({ device: DeviceId, value: Percent }).strict(),
    handler: (a, ctx) => run(a.device, { action: 'brightness', value: a.value }, ctx.source),
  });
  registry.register({
    name: 'device.blank',
    description: 'LED blackout on/off',
    readOnly: false,
    args: z.object({ device: DeviceId, value: OnOff }).strict(),
    handler: (a, ctx) => run(a.device, { action: 'blank', value: a.value }, ctx.source),
  });
}
