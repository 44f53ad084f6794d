/**
 * config `driver:` → driver definition. Each driver folder exports one DriverDefinition; add it here.
 */
import type { DriverDefinition } from './types.js';
import { pjlinkDriver } from './pjlink/driver.js';
import { escvp21Driver } from './escvp21/driver.js';
import { necDriver } from './nec/driver.js';
import { netPresenceDriver } from './net-presence/driver.js';
import { cecDriver } from './cec/driver.js';
import { modbusRelayDriver } from './modbus/driver.js';
import { novastarDriver } from './novastar/driver.js';
import { frameProfileDriver } from './frame-profile/driver.js';

const definitions: DriverDefinition[] = [pjlinkDriver, escvp21Driver, necDriver, netPresenceDriver, cecDriver, modbusRelayDriver, novastarDriver, frameProfileDriver];

export const DRIVERS: ReadonlyMap<string, DriverDefinition> = new Map(definitions.map((d) => [d.name, d]));
