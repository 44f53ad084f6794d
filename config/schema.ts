/**
 * The configuration schema: the single source of truth for config/example.yaml, the loader's errors
 * and the types the agent uses. Unknown keys are errors everywhere (`.strict()`), so a typo never
 * silently falls back to a default.
 */
import { z } from 'zod';
import { DEVICE_KINDS, type DeviceKind } from '../protocol/devices.js';
import { OpeningHoursSchema } from '../protocol/opening-hours.js';
import { Id, ScheduleSchema } from '../protocol/schedule.js';
import { EPOCH_S_MAX, EPOCH_S_MIN } from '../protocol/enrollment.js';
import { FrameProfileSchema } from './frame-profile.js';

/** Safe in MQTT topics and file names: no `/`, `+`, `#`, spaces or upper case. */

export const BAUD_RATES = [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] as const;

const Host = z.string().min(1).max(253).regex(/^[A-Za-z0-9.:_-]+$/, 'must be a host name or IP address');
const Port = z.number().int().min(1).max(65535);
const PollS = z.number().min(0.2).max(3600);
/** Bounds on counts: a station has a handful of devices; these stop a broken or hostile file early. */
export const MAX_DEVICES = 64;
export const MAX_SCHEDULES = 100;

const FilePath = z.string().min(1).max(4096);

export const SerialSchema = z
  .object({
    path: z.string().min(1),
    baud_rate: z
      .number()
      .int()
      .refine((b) => (BAUD_RATES as readonly number[]).includes(b), {
        message: `expected one of ${BAUD_RATES.join(', ')}`,
      })
      .default(9600),
    data_bits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
    parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
    stop_bits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
  })
  .strict();
export type SerialConfig = z.infer<typeof SerialSchema>;

const DeviceBase = {
  id: Id,
  name: z.string().max(100).optional(),
  kind: z.enum(DEVICE_KINDS),
  poll_s: PollS.default(10),
  /** Default: true for projector, led_display and amplifier (docs/design.md §6). Resolved by the loader. */
  usage: z.boolean().optional(),
  lamp_warn_hours: z.number().int().positive().optional(),
  filter_warn_hours: z.number().int().positive().optional(),
  /** Minutes offline before a `device_offline` maintenance event is raised. */
  offline_warn_min: z.number().positive().default(10),
  // Set-top box picture/stream evidence, valid on any driver of kind settopbox.
  signal_from: Id.optional(),
  input: z.string().min(1).max(16).optional(),
  media_path: z.string().min(1).max(200).optional(),
};

const serialOrTcp = <D extends string, T extends z.ZodRawShape>(driver: D, defaultPort: number, extra: T) =>
  z
    .object({
      ...DeviceBase,
      driver: z.literal(driver),
      serial: SerialSchema.optional(),
      host: Host.optional(),
      port: Port.default(defaultPort),
      ...extra,
    })
    .strict()
    .superRefine((d, ctx) => {
      const s = (d as { serial?: unknown }).serial;
      const h = (d as { host?: unknown }).host;
      if ((s === undefined) === (h === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['serial'], message: `${driver} needs exactly one of serial or host` });
      }
    });

export const PjlinkDevice = z
  .object({ ...DeviceBase, driver: z.literal('pjlink'), host: Host, port: Port.default(4352), password_file: FilePath.optional() })
  .strict();
export const Escvp21Device = serialOrTcp('escvp21', 3629, {
  /** ESC/VP.net projector password (at most 16 ASCII characters); a serial line has none. */
  password_file: FilePath.optional(),
}).superRefine((d, ctx) => {
  if (d.password_file !== undefined && d.serial !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'only for ESC/VP.net (host); the serial line has no password' });
  }
});
export const NecDevice = serialOrTcp('nec', 7142, {});
export const ModbusRelayDevice = z
  .object({
    ...DeviceBase,
    driver: z.literal('modbus_relay'),
    serial: SerialSchema,
    unit_id: z.number().int().min(1).max(247),
    coil: z.number().int().min(0).max(65535),
  })
  .strict();
export const FrameProfileDevice = serialOrTcp('frame_profile', 4001, {
  profile: z.union([z.string().min(1), FrameProfileSchema]),
});
export const NovastarDevice = z
  .object({ ...DeviceBase, driver: z.literal('novastar'), host: Host, port: Port.default(5200) })
  .strict();
export const NetPresenceDevice = z
  .object({ ...DeviceBase, driver: z.literal('net_presence'), host: Host, port: Port.optional() })
  .strict();
export const CecDevice = z
  .object({
    ...DeviceBase,
    driver: z.literal('cec'),
    logical_address: z.number().int().min(0).max(15).default(4),
    adapter: z.string().min(1).optional(),
  })
  .strict();

export const DRIVER_NAMES = [
  'pjlink',
  'escvp21',
  'nec',
  'modbus_relay',
  'frame_profile',
  'novastar',
  'net_presence',
  'cec',
] as const;

/** Which kinds each driver can serve; checked at load so `kind: projector, driver: novastar` is an error. */
export const DRIVER_KINDS: Record<(typeof DRIVER_NAMES)[number], readonly DeviceKind[]> = {
  pjlink: ['projector'],
  escvp21: ['projector'],
  nec: ['projector'],
  modbus_relay: ['amplifier', 'led_display', 'settopbox', 'projector'],
  frame_profile: ['amplifier', 'led_display', 'settopbox', 'projector'],
  novastar: ['led_display'],
  net_presence: ['settopbox'],
  cec: ['settopbox', 'projector'],
};

export const DeviceSchema = z
  .discriminatedUnion(
    'driver',
    [PjlinkDevice, Escvp21Device, NecDevice, ModbusRelayDevice, FrameProfileDevice, NovastarDevice, NetPresenceDevice, CecDevice],
    { error: () => `expected one of ${DRIVER_NAMES.join(', ')}` },
  )
  .superRefine((d, ctx) => {
    const kinds = DRIVER_KINDS[d.driver];
    if (!kinds.includes(d.kind)) {
      ctx.addIssue({ code: 'custom', path: ['kind'], message: `driver ${d.driver} serves ${kinds.join(', ')}, not ${d.kind}` });
    }
    if (d.kind !== 'settopbox') {
      for (const key of ['signal_from', 'media_path'] as const) {
        if (d[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only for kind settopbox' });
      }
    }
  });
export type DeviceConfig = z.infer<typeof DeviceSchema>;

export const CountySchema = z
  .object({
    url: z
      .string()
      .regex(/^mqtts?:\/\/[^\s/]+(:\d+)?\/?$/, 'must be mqtt://host[:port] or mqtts://host[:port]'),
    username: z.string().min(1).optional(),
    password_file: FilePath.optional(),
    ca_file: FilePath.optional(),
    cert_file: FilePath.optional(),
    key_file: FilePath.optional(),
    topic_prefix: z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/, 'topic segments of letters, digits, _ and - (no + or #)')
      .default('stations'),
    heartbeat_s: z.number().int().min(5).max(3600).default(60),
    require_ack: z.boolean().default(true),
    allowed_commands: z.array(z.string().max(64).regex(/^[a-z][a-z_.]*$/)).max(64).default([]),
    command_key_file: FilePath.optional(),
    /** Durable records replayed per second after a reconnect (live traffic goes first). */
    replay_rate: z.number().positive().max(100_000).default(100),
    /** Disk budget of the outbox; usage records are never evicted. */
    outbox_max_mb: z.number().positive().max(10_000).default(64),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.cert_file === undefined) !== (c.key_file === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['cert_file'], message: 'cert_file and key_file go together' });
    }
    if (c.url.startsWith('mqtt://') && (c.ca_file || c.cert_file)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'ca_file/cert_file need an mqtts:// url' });
    }
  });
export type CountyConfig = z.infer<typeof CountySchema>;

/**
 * Sealed usage records (docs/evidence.md). The seed file is made by `stationctl evidence init` and then
 * replaced by the agent every epoch (the key evolves forward), so it must be in a folder the agent can
 * write: by default `evidence.key` in the data dir.
 */
export const EvidenceSchema = z
  .object({
    seed_file: FilePath.optional().describe('default: <data_dir>/evidence.key'),
    /** The epoch length; fixed when the seed is made (a seed file of another length is refused). */
    epoch_s: z.number().int().min(EPOCH_S_MIN).max(EPOCH_S_MAX).default(3600),
  })
  .strict();
export type EvidenceConfig = z.infer<typeof EvidenceSchema>;

/** The seed file when `evidence.seed_file` is not given, in the data dir. */
export const DEFAULT_SEED_FILE = 'evidence.key';

export const ConfigSchema = z
  .object({
    station: z
      .object({
        id: Id,
        name: z.string().min(1).max(200),
        town: z.string().max(200).optional(),
        county: z.string().max(200).optional(),
        level: z.enum(['village', 'town', 'county']).default('village'),
        timezone: z
          .string()
          .default('Asia/Shanghai')
          .refine((tz) => {
            try {
              new Intl.DateTimeFormat('en', { timeZone: tz });
              return true;
            } catch {
              return false;
            }
          }, 'unknown IANA time zone'),
        /**
         * When the station is expected to be up (station time); sent to the county in the inventory. A lost
         * connection outside these hours is no reason for a visit. Absent: open at all times.
         */
        opening_hours: OpeningHoursSchema.optional(),
      })
      .strict(),
    data_dir: z.string().min(1).default('/var/lib/station-agent'),
    control: z
      .object({
        socket: z.string().min(1).max(100).default('/run/station-agent/control.sock'),
        /** Connections served at once; more are refused with `busy` (a stuck script cannot lock a technician out for long). */
        max_clients: z.number().int().min(1).max(256).default(16),
        /** A connection that sends nothing and has no request running is closed after this long. */
        idle_timeout_s: z.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .default({ socket: '/run/station-agent/control.sock', max_clients: 16, idle_timeout_s: 60 }),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
    county: CountySchema.optional(),
    devices: z.array(DeviceSchema).max(MAX_DEVICES, `at most ${MAX_DEVICES} devices per station`).default([]),
    media: z
      .object({
        mediamtx: z
          .object({
            url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL').default('http://127.0.0.1:9997'),
            username: z.string().min(1).optional(),
            password_file: FilePath.optional(),
            /** A bearer token (JWT) for `authMethod: jwt`, instead of username/password_file. */
            token_file: FilePath.optional(),
          })
          .strict()
          .superRefine((m, ctx) => {
            if (m.token_file !== undefined && (m.username !== undefined || m.password_file !== undefined)) {
              ctx.addIssue({ code: 'custom', path: ['token_file'], message: 'a bearer token or username/password_file, not both' });
            }
          })
          .optional(),
      })
      .strict()
      .optional(),
    sessions: z
      .object({
        min_s: z.number().int().min(0).default(300),
        merge_gap_s: z.number().int().min(0).default(120),
        idle_cutoff_s: z.number().int().min(60).default(1800),
        checkpoint_s: z.number().int().min(1).max(60).default(60),
      })
      .strict()
      .default({ min_s: 300, merge_gap_s: 120, idle_cutoff_s: 1800, checkpoint_s: 60 }),
    schedules: z.array(ScheduleSchema).max(MAX_SCHEDULES, `at most ${MAX_SCHEDULES} schedules`).default([]),
    evidence: EvidenceSchema.optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Map<string, number>();
    c.devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `duplicate device id ${d.id}` });
      seen.set(d.id, i);
    });
    c.devices.forEach((d, i) => {
      if (d.signal_from !== undefined) {
        const j = seen.get(d.signal_from);
        if (j === undefined || c.devices[j]?.kind !== 'projector') {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'signal_from'], message: `no projector with id ${d.signal_from}` });
        }
      }
      if (d.media_path !== undefined && !c.media?.mediamtx) {
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'media_path'], message: 'needs media.mediamtx to be configured' });
      }
    });
    const schedIds = new Set<string>();
    c.schedules.forEach((s, i) => {
      if (schedIds.has(s.id)) ctx.addIssue({ code: 'custom', path: ['schedules', i, 'id'], message: `duplicate schedule id ${s.id}` });
      schedIds.add(s.id);
      for (const [key, steps] of [['steps', s.steps], ['end_steps', s.end_steps ?? []]] as const) {
        steps.forEach((st, j) => {
          if (!seen.has(st.device)) {
            ctx.addIssue({ code: 'custom', path: ['schedules', i, key, j, 'device'], message: `no device with id ${st.device}` });
          }
        });
      }
    });
  });

export type Config = z.infer<typeof ConfigSchema>;
