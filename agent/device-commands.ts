/**
 * Device commands for stationctl and the county, on the one registry. Names follow the county
 * contract: device.power, device.input, device.mute, device.volume, device.brightness, device.blank.
 */
import { z } from 'zod';
import type { CommandRegistry, CommandSource } from './commands.js';
import type { DeviceSupervisor } from './supervisor.js';
import type { DeviceCommand, DeviceState } from '../drivers/types.js';
import type { DeviceCommandResult } from './control/protocol.js';

const DeviceId = z.string().min(1).max(64);
const OnOff = z.union([z.boolean(), z.enum(['on', 'off'])]).transform((v) => v === true || v === 'on');
const Percent = z.coerce.number().int().min(0).max(100);

export interface CommandObserver {
  /** Told before a device command runs, so a session it starts carries the right trigger. */
  beforeCommand?(deviceId: string, command: DeviceCommand, source: CommandSource): void;
}

/**
 * The answer to a device command: accepted, and done unless the device is still on its way (a projector
 * warming up or cooling down). A toggle's target is where the device went.
 */
export function commandResult(command: DeviceCommand, state: DeviceState): DeviceCommandResult {
  if (command.action !== 'power') return { ...state, accepted: true, done: true };
  const target =
    command.value !== 'toggle'
      ? command.value
      : state.power === 'on' || state.power === 'warming'
        ? 'on'
        : state.power === 'off' || state.power === 'cooling'
          ? 'off'
          : undefined;
  if (target === undefined) return { ...state, accepted: true, done: true };
  return { ...state, accepted: true, done: state.power === target, target };
}

export function registerDeviceCommands(registry: CommandRegistry, supervisor: DeviceSupervisor, observer: CommandObserver = {}): void {
  const run = async (id: string, command: DeviceCommand, source: CommandSource): Promise<DeviceCommandResult> => {
    observer.beforeCommand?.(id, command, source);
    return commandResult(command, await supervisor.execute(id, command, source));
  };
  registry.register({
    name: 'devices',
    description: 'the state of every device',
    readOnly: true,
    args: z.object({}).strict(),
    handler: () => supervisor.states(),
  });
  registry.register({
    name: 'devices.diagnose',
    description: "why each offline device is offline, as precisely as its driver can tell (stationctl doctor)",
    readOnly: true,
    args: z.object({}).strict(),
    handler: () => supervisor.diagnose(),
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
