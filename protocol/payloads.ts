/**
 * The county contract's payloads (docs/design.md §5), one zod schema each: the single source of truth for the
 * types the link publishes, the validation of what the county sends, and docs/schemas/*.json
 * (scripts/gen-mqtt-schemas.ts). Upstream payloads are `.strict()` so a stray field is a bug we see in
 * tests; downstream ones tolerate unknown keys so a newer county does not break an older station.
 */
import { z } from 'zod';
import { DeviceControlsSchema } from './device-controls.js';
import { DEVICE_KINDS, POWER_STATES } from './devices.js';
import { ID_PATTERN, MAX_STEPS, STEP_ACTIONS } from './schedule.js';
import { LedgerIdSchema } from './usage-record.js';
import { OpeningHoursSchema } from './opening-hours.js';

export const IsoTime = z.string().max(40).describe('ISO-8601 UTC with milliseconds, e.g. 2026-03-01T12:00:00.000Z');
export const ClockState = z
  .enum(['synced', 'unsynced', 'corrected'])
  .describe('whether the station clock was NTP-synchronised when `ts` was taken');
const Boot = z.number().int().nonnegative();
/**
 * A per-station seq, or 0 for "none". Explicitly a safe integer: above 2^53 JSON numbers lose
 * precision in JavaScript, so a seq there could never be stored, compared or acknowledged exactly.
 */
export const SeqOrZero = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex HMAC-SHA256');

/**
 * Caps on what one station may send upstream (docs/mqtt.md "Caps"). The agent never sends more (its own
 * config allows 64 devices, names of 200 characters; its drivers raise a handful of faults per device),
 * so a payload beyond them is hostile or broken and the county refuses it where it enters: one station
 * must not be able to bloat every county page.
 */
export const PAYLOAD_CAPS = {
  /** Ids: topic segments are at most 128 characters (protocol/topics.ts). */
  id: 128,
  /** Names, versions, models, fault codes and every other short text. */
  text: 256,
  /** A fault's human text. */
  fault_text: 1000,
  /** Faults in one device state. */
  faults: 32,
  /** Devices of one station: the agent's own MAX_DEVICES (config/schema.ts). */
  devices: 64,
  /** Disks, file systems, network interfaces, serial ports and links of one host. */
  host_list: 256,
  /** An IANA time zone name. */
  timezone: 64,
  /** Schedules listed in one inventory (a station has a few; its config allows 100, the county 200 more). */
  schedules: 64,
} as const;
const Id = z.string().max(PAYLOAD_CAPS.id);
const Text = z.string().max(PAYLOAD_CAPS.text);
const list = <T extends z.ZodType>(t: T, max: number = PAYLOAD_CAPS.host_list) => z.array(t).max(max);

/** `status` (retained, QoS 1), published on every connect. */
export const StatusOnlineSchema = z
  .object({
    v: z.literal(1),
    online: z.literal(true),
    station_id: Id,
    boot: Boot.describe('MQTT session counter: +1 per successful connect; the Will carries the same value'),
    agent_boot: Boot.describe('agent start counter, also carried by every durable record as `boot`'),
    agent_version: Text,
    started_at: IsoTime.describe('when the agent process started'),
    ts: IsoTime,
    clock: ClockState,
  })
  .strict();
export type StatusOnline = z.infer<typeof StatusOnlineSchema>;

/** The Last Will on `status` (retained, QoS 1): the broker publishes it when the connection dies. */
export const StatusWillSchema = z
  .object({
    v: z.literal(1),
    online: z.literal(false),
    station_id: Id,
    boot: Boot.describe('the MQTT session that ended; drop an offline status whose boot is lower than the last online one'),
    reason: z
      .literal('agent_stop')
      .optional()
      .describe('present when the agent stopped cleanly; absent when the broker published the Last Will'),
  })
  .strict();
export type StatusWill = z.infer<typeof StatusWillSchema>;

export const StatusSchema = z.discriminatedUnion('online', [StatusOnlineSchema, StatusWillSchema]);
export type Status = z.infer<typeof StatusSchema>;

export const DeviceFaultSchema = z
  .object({ code: Text, severity: z.enum(['warning', 'error']), text: z.string().max(PAYLOAD_CAPS.fault_text) })
  .strict();

const nullable = <T extends z.ZodType>(t: T) => t.nullable().optional();

/** The device state of docs/design.md §4 as the supervisor holds it. Absent = the driver cannot tell; null = asked, no answer. */
export const DeviceStateSchema = z
  .object({
    id: Id,
    kind: z.enum(DEVICE_KINDS),
    driver: Text,
    online: z.boolean(),
    power: z.enum(POWER_STATES),
    last_seen: IsoTime.nullable(),
    errors: list(DeviceFaultSchema, PAYLOAD_CAPS.faults),
    model: nullable(Text),
    manufacturer: nullable(Text),
    serial_number: nullable(Text),
    firmware: nullable(Text),
    input: nullable(Text),
    signal: nullable(z.boolean()),
    av_mute: nullable(z.boolean()),
    lamp_hours: nullable(z.number()),
    filter_hours: nullable(z.number()),
    playing: nullable(z.boolean()),
    reachable: nullable(z.boolean()),
    brightness: nullable(z.number()),
    blank: nullable(z.boolean()),
    volume: nullable(z.number()),
    muted: nullable(z.boolean()),
  })
  .strict();

/** `devices/<device_id>/state` (retained, QoS 1): the device state plus the envelope fields. */
export const DeviceStatePayloadSchema = DeviceStateSchema.extend({
  v: z.literal(1),
  ts: IsoTime,
  clock: ClockState,
}).strict();
export type DeviceStatePayload = z.infer<typeof DeviceStatePayloadSchema>;

/** Mirrors drivers/transport/serial-list.ts `SerialPortInfo` (a compile-time check in agent/host.ts keeps them equal). */
export const SerialPortInfoSchema = z
  .object({
    path: Text.describe('/dev/ttyUSB0 …'),
    by_id: list(Text).describe('stable /dev/serial/by-id links to this port'),
    by_path: list(Text).describe('/dev/serial/by-path links (stable per physical USB socket)'),
    vendor_id: Text.nullable().describe('USB vendor id, 4 lower-case hex digits'),
    product_id: Text.nullable(),
    serial_number: Text.nullable(),
    manufacturer: Text.nullable(),
    product: Text.nullable(),
    driver: Text.nullable().describe('kernel driver, e.g. ftdi_sio, ch341-uart, cdc_acm'),
  })
  .strict();

export const HostInfoSchema = z
  .object({
    hostname: Text,
    os: z
      .object({ platform: Text, distro: Text, release: Text, kernel: Text, arch: Text })
      .strict(),
    system: z
      .object({ manufacturer: Text.nullable(), model: Text.nullable(), serial: Text.nullable() })
      .strict(),
    cpu: z
      .object({ model: Text, cores: z.number().int(), physical_cores: z.number().int().nullable(), speed_ghz: z.number().nullable() })
      .strict(),
    mem_total_mb: z.number().int(),
    disks: list(
        z
          .object({
            device: Text,
            type: Text.nullable().describe('HD, SSD, NVMe …'),
            model: Text.nullable(),
            serial: Text.nullable(),
            size_gb: z.number(),
          })
          .strict(),
      )
      .describe('physical disks; may be empty in containers and VMs'),
    filesystems: list(z.object({ mount: Text, type: Text, size_gb: z.number() }).strict())
      .describe('mounted local file systems'),
    network: list(z.object({ iface: Text, mac: Text.nullable(), ip4: Text.nullable() }).strict())
      .describe('non-loopback interfaces'),
    serial_ports: list(SerialPortInfoSchema),
  })
  .strict();
export type HostInfo = z.infer<typeof HostInfoSchema>;

export const InventoryDeviceSchema = z
  .object({
    id: Id,
    name: Text.nullable(),
    kind: z.enum(DEVICE_KINDS),
    driver: Text,
    online: z.boolean(),
    manufacturer: Text.nullable(),
    model: Text.nullable(),
    serial_number: Text.nullable(),
    firmware: Text.nullable(),
    controls: DeviceControlsSchema.optional().describe("what the county may schedule on this device (absent from agents before it was added: the county then goes by the driver)"),
  })
  .strict();

/**
 * A step of an installed schedule as the inventory lists it: what the county shows, so bounded but not
 * judged (a value the station's own config check would refuse is still reported, and shown as it is).
 */
export const InventoryStepSchema = z
  .object({
    device: Id,
    action: z.enum(STEP_ACTIONS),
    value: z.union([z.string().max(64), z.number(), z.boolean()]),
    wait_for: z.enum(['on', 'off']).optional(),
  })
  .strict();

/** One schedule installed on the station (its config's and the county's), as `schedule.list` has it. */
export const InventoryScheduleSchema = z
  .object({
    id: z.string().regex(ID_PATTERN),
    name: Text.nullable(),
    source: z.enum(['config', 'county']).describe("`config`: the station's own file; `county`: pushed with schedule.set"),
    cron: z.string().max(100).describe("five-field cron in the station's time zone"),
    duration_min: z.number().positive().max(24 * 60),
    enabled: z.boolean(),
    steps: z.array(InventoryStepSchema).max(MAX_STEPS),
  })
  .strict();
export type InventorySchedule = z.infer<typeof InventoryScheduleSchema>;

/** `inventory` (retained, QoS 1): the county's equipment survey row (设备摸底). On connect and on change. */
export const InventorySchema = z
  .object({
    v: z.literal(1),
    station: z
      .object({
        id: Id,
        name: Text,
        town: Text.nullable(),
        county: Text.nullable(),
        level: z.enum(['village', 'town', 'county']),
        timezone: z.string().max(PAYLOAD_CAPS.timezone).describe("IANA name; one the county's runtime does not know is replaced by the county's own zone"),
        opening_hours: OpeningHoursSchema.optional().describe(
          "the station's declared opening hours (station config `station.opening_hours`), in its time zone; absent = open at all times. A lost connection outside them is no reason for a visit",
        ),
      })
      .strict(),
    agent: z.object({ version: Text, agent_boot: Boot, started_at: IsoTime }).strict(),
    host: HostInfoSchema,
    devices: list(InventoryDeviceSchema, PAYLOAD_CAPS.devices),
    schedules: list(InventoryScheduleSchema, PAYLOAD_CAPS.schedules)
      .optional()
      .describe('the schedules installed on the station, republished when the county changes them (absent from agents before it was added)'),
    schedules_more: z.number().int().positive().optional().describe('schedules installed beyond those listed'),
    ts: IsoTime,
    clock: ClockState,
  })
  .strict();
export type Inventory = z.infer<typeof InventorySchema>;

export const HostHealthSchema = z
  .object({
    cpu_pct: z.number().min(0).max(100).nullable().describe('average over all cores since the previous heartbeat'),
    load_1: z.number().nonnegative(),
    mem_pct: z.number().min(0).max(100),
    mem_available_mb: z.number().int(),
    disk_free_mb: z.number().int().nullable().describe('free space on the file system holding data_dir'),
    disk_free_pct: z.number().min(0).max(100).nullable(),
    temperature_c: z.number().nullable().describe('hottest thermal zone; null when the host exposes none'),
    host_uptime_s: z.number().int().nonnegative(),
  })
  .strict();
export type HostHealth = z.infer<typeof HostHealthSchema>;

/** `heartbeat` (not retained, QoS 0): every `county.heartbeat_s`. */
export const HeartbeatSchema = z
  .object({
    v: z.literal(1),
    ts: IsoTime,
    clock: ClockState,
    clock_offset_ms: z.number().nullable().describe('offset from true time when known; null when the agent cannot tell'),
    boot: Boot,
    uptime_s: z.number().int().nonnegative().describe('agent uptime'),
    agent: z
      .object({
        rss_mb: z.number().nonnegative().describe('resident memory of the agent process'),
        heap_used_mb: z.number().nonnegative().describe('V8 heap in use'),
      })
      .strict()
      .optional()
      .describe("the agent's own memory, so a fleet-wide leak shows up at the county (absent from agents before 0.1.0)"),
    host: HostHealthSchema,
    devices: z
      .object({
        total: z.number().int(),
        online: z.number().int(),
        on: z.number().int().describe('power on or warming'),
        faults: z.number().int().describe('devices reporting at least one error'),
        list: list(z.object({ id: Id, online: z.boolean(), power: z.enum(POWER_STATES) }).strict(), PAYLOAD_CAPS.devices),
      })
      .strict(),
    outbox: z
      .object({
        depth: z.number().int().describe('durable records not yet covered by the county ack'),
        first_seq: SeqOrZero.nullable(),
        oldest_ts: IsoTime.nullable(),
        last_seq: SeqOrZero.describe('highest seq allocated so far (0 = none)'),
      })
      .strict(),
    open_session: Text.nullable().describe('id of the usage session open right now'),
  })
  .strict();
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/**
 * `ack` (down, retained, QoS 1): every durable record of ledger `ledger` with `seq <= N` is stored by the
 * county. Believed only for the station's own ledger, only up to the highest seq the station has
 * published, and, when the station has a command key, only when signed (docs/mqtt.md "Ack signing").
 * `ledger` is optional here only because agents older than ledgers get acks without one; an agent with
 * a ledger ignores an ack that does not name it.
 */
export const AckSchema = z
  .object({
    seq: SeqOrZero.describe('the watermark: every durable record of `ledger` with seq <= this is stored by the county'),
    ledger: LedgerIdSchema.optional().describe('the ledger acknowledged; required by agents that send `ledger` in their records (docs/mqtt.md "Ledgers")'),
    ts: IsoTime.optional().describe('when the county published this watermark; required with a command key (signed with seq)'),
    sig: Hex64.optional().describe('required when the station has a command key; see docs/mqtt.md "Ack signing"'),
  })
  .loose();
export type Ack = z.infer<typeof AckSchema>;

export const TransactionSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** `request/<action>` (down, not retained, QoS 1). */
export const RequestSchema = z
  .object({
    transaction: TransactionSchema,
    args: z.record(z.string(), z.unknown()).optional().describe('the action\'s arguments; {} when omitted'),
    ts: IsoTime.optional().describe('when the county issued it; required when the station has a command key'),
    sig: Hex64
      .optional()
      .describe('required when the station has a command key; see docs/mqtt.md "Command signing"'),
  })
  .loose();
export type CountyRequest = z.infer<typeof RequestSchema>;

export const ErrorBodySchema = z.object({ code: z.string(), message: z.string() }).strict();

/** `response/<action>` (up, not retained, QoS 1). */
export const ResponseSchema = z
  .object({
    v: z.literal(1),
    transaction: z.string().nullable().describe('echoed from the request; null when it could not be read'),
    status: z.enum(['ok', 'error']),
    data: z.unknown().optional(),
    error: ErrorBodySchema.optional(),
    ts: IsoTime,
    clock: ClockState,
  })
  .strict();
export type CountyResponse = z.infer<typeof ResponseSchema>;

/** Error codes a county request can get back, on top of the command's own (ErrorCodes). */
export const RequestErrorCodes = {
  malformed: 'malformed',
  too_large: 'too_large',
  not_allowed: 'not_allowed',
  bad_signature: 'bad_signature',
  stale: 'stale',
  replayed: 'replayed',
  busy: 'busy',
} as const;
