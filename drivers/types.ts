/**
 * The device model of docs/design.md §4 and the contract between drivers and the device supervisor.
 * Everything on the wire is snake_case, so the state shapes are too.
 */
import type { Logger } from 'pino';
import type { MediaPathSource } from './mediamtx/client.js';
import type { InputChoice } from '../protocol/device-controls.js';

export type { DeviceFault, DeviceKind, PowerState } from '../protocol/devices.js';
import type { DeviceFault, DeviceKind, PowerState } from '../protocol/devices.js';

/**
 * What one poll (or a command's reply) taught us. An absent field means "this driver does not know";
 * `null` means "the device was asked and could not say" (e.g. PJLink ERR1 for lamp hours on a laser).
 */
export interface DeviceReading {
  power?: PowerState;
  errors?: DeviceFault[];
  model?: string | null;
  manufacturer?: string | null;
  serial_number?: string | null;
  firmware?: string | null;
  // projector
  input?: string | null;
  signal?: boolean | null;
  av_mute?: boolean | null;
  lamp_hours?: number | null;
  filter_hours?: number | null;
  // settopbox
  playing?: boolean | null;
  reachable?: boolean | null;
  // led_display
  brightness?: number | null;
  blank?: boolean | null;
  // amplifier
  volume?: number | null;
  muted?: boolean | null;
}

/** The full state the supervisor publishes (stationctl devices --json, MQTT devices/<id>/state). */
export interface DeviceState extends DeviceReading {
  id: string;
  kind: DeviceKind;
  driver: string;
  online: boolean;
  power: PowerState;
  last_seen: string | null;
  errors: DeviceFault[];
}

export type DeviceCommand =
  | { action: 'power'; value: 'on' | 'off' | 'toggle' }
  | { action: 'input'; value: string }
  | { action: 'mute'; value: boolean }
  | { action: 'volume'; value: number }
  | { action: 'brightness'; value: number }
  | { action: 'blank'; value: boolean };

export type CommandAction = DeviceCommand['action'];

/** A ref-counted resource shared by several devices, e.g. one RS-485 bus carrying several relay units. */
export interface SharedResources {
  acquire<T extends { close(): Promise<void> }>(key: string, create: () => T): Lease<T>;
}

export interface Lease<T> {
  readonly value: T;
  release(): Promise<void>;
}

export interface DriverContext<C = unknown> {
  /** This device's validated slice of the config (the `devices[]` entry). */
  readonly config: C;
  /** child({device, driver}); raw frames only at trace level, as hex. */
  readonly log: Logger;
  /** Reads a `*_file` secret (trimmed). */
  readSecret(path: string): Promise<string>;
  /** Another device's latest state, e.g. the projector a set-top box's picture goes through. */
  peerState(id: string): DeviceState | undefined;
  readonly shared: SharedResources;
  /**
   * The MediaMTX control API (top-level `media.mediamtx`), when configured: set-top boxes with a
   * `media_path` read their stream state through it. Build it with createMediaMtxClient.
   */
  readonly media?: MediaPathSource;
  /**
   * Aborted when the agent stops. Hand it to the FramedLink (or ModbusBus): requests under way and
   * waiting then end at once with `aborted`, so the slowest device cannot hold up the shutdown.
   */
  readonly signal?: AbortSignal;
  /** Asks the supervisor for a poll now, e.g. once a long operation (a lamp's ignition) has ended. */
  requestPoll?(): void;
}

/**
 * One configured device. The supervisor owns the lifecycle and the reconnect policy; the driver only
 * talks. Methods throw AgentError with a code from ErrorCodes (`auth` is not retried in a tight loop,
 * `timeout`/`disconnected` mark the device offline).
 */
export interface DeviceDriver {
  /** Commands this device accepts, e.g. ['power', 'input', 'mute']. */
  readonly capabilities: readonly CommandAction[];
  /**
   * The input codes this driver knows for the device (what the county's schedule form offers), when it
   * takes `input`; absent when any code the device accepts is fine (a frame profile's `input_set`).
   */
  readonly inputs?: readonly InputChoice[];
  /** Connect and identify. Resolves with what was learnt (model, serial …), or throws. */
  open(): Promise<DeviceReading>;
  /** Ask the device for its state. */
  poll(): Promise<DeviceReading>;
  /** Carry out a command; resolves with what the device reported afterwards (may be partial). */
  execute(command: DeviceCommand): Promise<DeviceReading>;
  /** Release the transport. Never throws; in-flight requests reject with code `closed`. */
  close(): Promise<void>;
  /**
   * Registers a listener for a lost link (adapter unplugged, peer closed). The supervisor then closes
   * the driver and reopens it with backoff.
   */
  onDisconnect(listener: (reason: Error) => void): void;
}

export interface DriverDefinition<C = any> {
  /** The config's `driver:` value. */
  readonly name: string;
  readonly kinds: readonly DeviceKind[];
  create(ctx: DriverContext<C>): DeviceDriver;
}
