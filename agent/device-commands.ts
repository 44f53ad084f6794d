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
  const commands: Array<{ action: DeviceCommand['action']; description: string; value: z.ZodType }> = [
    { action: 'power', description: 'power a device on or off', value: z.enum(['on', 'off', 'toggle']) },
    { action: 'input', description: 'select a projector input', value: z.string().min(1).max(16) },
    { action: 'mute', description: 'AV mute (projector) or mute (amplifier)', value: OnOff },
    { action: 'volume', description: 'amplifier volume 0-100', value: Percent },
    { action: 'brightness', description: 'LED brightness 0-100', value: Percent },
    { action: 'blank', description: 'LED blackout on/off', value: OnOff },
  ];
  for (const { action, description, value } of commands) {
    registry.register({
      name: `device.${action}`,
      description,
      readOnly: false,
      args: z.object({ device: DeviceId, value }).strict(),
      // The zod schema above is what makes this cast true: each action gets its own value type.
      handler: (a, ctx) => run(a.device, { action, value: a.value } as DeviceCommand, ctx.source),
    });
  }
}
