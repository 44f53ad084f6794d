/**
 * The composition root: builds every part once, starts them in a fixed order (store → devices →
 * sessions → scheduler → county link → control socket) and stops them in reverse. A part that fails
 * to stop is logged and skipped, so one wedged part cannot block the shutdown.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { CommandRegistry } from './commands.js';
import { EventBus } from './bus.js';
import type { Clock } from './clock.js';
import { EventLog, listEventsPage } from './events.js';
import { Store } from './store/store.js';
import { DeviceSupervisor, type BackoffPolicy } from './supervisor.js';
import { registerDeviceCommands } from './device-commands.js';
import { ControlServer } from './control/server.js';
import type { StatusReport } from './control/protocol.js';
import { countyWithoutLink, statusReport } from './status.js';
import { AGENT_VERSION } from './version.js';
import { SessionTracker } from './sessions/tracker.js';
import { registerSessionCommands } from './sessions/commands.js';
import { Scheduler } from './scheduler/scheduler.js';
import { registerScheduleCommands } from './scheduler/commands.js';
import { MaintenanceAlerts } from './alerts.js';
import { createMediaMtxClient } from '../drivers/mediamtx/client.js';
import { readFile } from 'node:fs/promises';
import { HostHealthSampler, hostInfo } from './host.js';
import { registerCountyCommands } from './county/commands.js';
import { CountyLink } from './county/link.js';
import type { CountyLinkTuning } from './county/timing.js';
import { seedFileOf } from '../config/files.js';
import { EpochKeys, EpochTicker } from './evidence/keys.js';
import { UsageChain } from './evidence/chain.js';

/** Acknowledged events are kept this long locally (`stationctl events`); usage records are kept for good. */
export const EVENT_RETENTION_DAYS = 400;

export interface Part {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface AppOptions {
  config: Config;
  log: Logger;
  clock: Clock;
  backoff?: BackoffPolicy;
  /** Test hook: faster heartbeats and reconnects for the county link. */
  countyTuning?: CountyLinkTuning;
}

export class App {
  readonly config: Config;
  readonly log: Logger;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly registry = new CommandRegistry();
  store!: Store;
  events!: EventLog;
  supervisor!: DeviceSupervisor;
  county: CountyLink | undefined;
  tracker: SessionTracker | undefined;
  scheduler: Scheduler | undefined;
  alerts: MaintenanceAlerts | undefined;
  /** Moves the sealing key on when each epoch ends, when `evidence` is configured. */
  private epochTicker: EpochTicker | undefined;
  /** The sealed usage stream, when `evidence` is configured. */
  chain: UsageChain | undefined;
  agentBoot = 0;
  private readonly startedAt: number;
  private readonly startedAtWall: number;
  private readonly started: Part[] = [];
  /** Hooks filled in by later parts (sessions, county link) so status can report them. */
  openSessionId: () => string | null = () => null;
  countyStatus: () => StatusReport['county'] = () => countyWithoutLink(this.store);

  constructor(private readonly options: AppOptions) {
    this.config = options.config;
    this.log = options.log;
    this.clock = options.clock;
    this.bus = new EventBus(this.log.child({ component: 'bus' }));
    this.startedAt = options.clock.monotonicMs();
    this.startedAtWall = options.clock.now().getTime();
  }

  async start(signal?: AbortSignal): Promise<void> {
    const parts = this.parts();
    for (const part of parts) {
      if (signal?.aborted) throw new Error('start aborted');
      this.log.debug({ part: part.name }, 'starting');
      await part.start();
      this.started.push(part);
    }
    this.log.info(
      { station: this.config.station.id, devices: this.config.devices.length, version: AGENT_VERSION, boot: this.agentBoot },
      'station-agent started',
    );
  }

  async stop(): Promise<void> {
    while (this.started.length > 0) {
      const part = this.started.pop()!;
      try {
        await part.stop();
      } catch (err) {
        this.log.error({ err, part: part.name }, 'part failed to stop');
      }
    }
  }

  status(): StatusReport {
    return statusReport(this.config.station, {
      agent: {
        version: AGENT_VERSION,
        uptime_s: Math.round((this.clock.monotonicMs() - this.startedAt) / 1000),
        boot: this.agentBoot,
        pid: process.pid,
      },
      county: this.countyStatus(),
      devices: this.supervisor.states(),
      openSession: this.openSessionId(),
    });
  }

  private parts(): Part[] {
    const { config, log } = this;
    return [
      {
        name: 'store',
        start: () => {
          // The seed before the database: an agent that cannot seal must not start (exit 78), and must
          // not have counted a boot or written a record before saying so.
          const seedFile = seedFileOf(config);
          const keys = seedFile ? EpochKeys.load(seedFile, { stationId: config.station.id, epochS: config.evidence!.epoch_s }, log.child({ component: 'evidence' })) : undefined;
          this.store = Store.open(config.data_dir);
          this.agentBoot = this.store.increment('agent_boot');
          if (keys) {
            const chain = new UsageChain({ store: this.store, keys, clock: this.clock, stationId: config.station.id, log: log.child({ component: 'evidence' }) });
            this.chain = chain;
            const genesis = chain.begin();
            if (genesis) this.bus.emit('record.appended', genesis);
            this.epochTicker = new EpochTicker(keys, () => this.clock.now().getTime());
            this.epochTicker.start();
          }
          this.events = new EventLog({
            outbox: this.store.outbox,
            bus: this.bus,
            clock: this.clock,
            stationId: config.station.id,
            boot: () => this.agentBoot,
          });
          this.registerAgentCommands();
          this.events.append({
            type: 'agent_start',
            severity: 'info',
            message: `agent ${AGENT_VERSION} started (start ${this.agentBoot})`,
            data: { version: AGENT_VERSION },
          });
        },
        stop: () => {
          this.epochTicker?.stop();
          // Delivered with the next start's backlog: the county link is already down by now.
          this.events.append({ type: 'agent_stop', severity: 'info', message: `agent ${AGENT_VERSION} stopped`, data: { version: AGENT_VERSION } });
          this.store.close();
        },
      },
      ((): Part => {
        // Daily, and once shortly after start: old acknowledged events go, evidence stays.
        let timer: NodeJS.Timeout | undefined;
        const prune = () => {
          try {
            const before = new Date(this.clock.now().getTime() - EVENT_RETENTION_DAYS * 86_400_000).toISOString();
            const removed = this.store.retention.pruneAckedEvents(before);
            if (removed > 0) log.info({ removed, before }, 'pruned acknowledged events past retention');
          } catch (err) {
            log.warn({ err }, 'retention prune failed');
          }
        };
        return {
          name: 'retention',
          start: () => {
            timer = setTimeout(function run() {
              prune();
              timer = setTimeout(run, 86_400_000).unref();
            }, 60_000).unref();
          },
          stop: () => clearTimeout(timer),
        };
      })(),
      {
        name: 'devices',
        start: async () => {
          const mtx = config.media?.mediamtx;
          const media = mtx ? await createMediaMtxClient(mtx, async (f) => (await readFile(f, 'utf8')).trim()) : undefined;
          this.supervisor = new DeviceSupervisor({
            ...(media ? { extraContext: { media } } : {}),
            devices: config.devices,
            log: log.child({ component: 'devices' }),
            bus: this.bus,
            store: this.store,
            clock: this.clock,
            ...(this.options.backoff ? { backoff: this.options.backoff } : {}),
          });
          registerDeviceCommands(this.registry, this.supervisor, {
            beforeCommand: (id, command, source) => this.tracker?.beforeCommand(id, command, source),
          });
          this.supervisor.start();
        },
        stop: () => this.supervisor.stop(),
      },
      {
        name: 'sessions',
        start: () => {
          const tracker = new SessionTracker({
            store: this.store,
            bus: this.bus,
            events: this.events,
            clock: this.clock,
            log: log.child({ component: 'sessions' }),
            stationId: config.station.id,
            timezone: config.station.timezone,
            rules: config.sessions,
            devices: config.devices,
            boot: () => this.agentBoot,
            states: () => this.supervisor.states(),
            ...(this.chain ? { chain: this.chain } : {}),
          });
          this.tracker = tracker;
          tracker.start();
          this.openSessionId = () => tracker.openSessionId();
          registerSessionCommands(this.registry, tracker, config.station.timezone);
        },
        stop: () => this.tracker?.stop(),
      },
      {
        name: 'alerts',
        start: () => {
          this.alerts = new MaintenanceAlerts({
            store: this.store,
            events: this.events,
            bus: this.bus,
            clock: this.clock,
            log: log.child({ component: 'alerts' }),
            devices: config.devices,
            states: () => this.supervisor.states(),
          });
          this.alerts.start();
        },
        stop: () => this.alerts?.stop(),
      },
      {
        name: 'scheduler',
        start: () => {
          const scheduler = new Scheduler({
            store: this.store,
            events: this.events,
            control: this.supervisor,
            clock: this.clock,
            log: log.child({ component: 'scheduler' }),
            timezone: config.station.timezone,
            schedules: config.schedules,
            deviceIds: config.devices.map((d) => d.id),
            deviceActions: (id) => this.supervisor.controls(id)?.actions,
            changed: () => this.county?.inventoryChanged(),
            noteTrigger: (t) => this.tracker?.noteTrigger(t),
          });
          this.scheduler = scheduler;
          scheduler.start();
          registerScheduleCommands(this.registry, scheduler);
        },
        stop: () => this.scheduler?.stop(),
      },
      {
        name: 'county',
        start: async () => {
          if (!config.county) return;
          const link = new CountyLink({
            config,
            meta: this.store,
            outbox: this.store.outbox,
            seen: this.store.seenTransactions,
            events: this.events,
            bus: this.bus,
            registry: this.registry,
            log: log.child({ component: 'county' }),
            clock: this.clock,
            agentVersion: AGENT_VERSION,
            startedAtMs: this.startedAtWall,
            devices: () => this.supervisor.states(),
            controls: (id) => this.supervisor.controls(id),
            schedules: () => this.scheduler?.installed() ?? { list: [], more: 0 },
            openSessionId: () => this.openSessionId(),
            hostInfo: () => hostInfo(),
            hostHealth: ((sampler) => () => sampler.sample())(new HostHealthSampler(config.data_dir)),
            ...(this.options.countyTuning ? { tuning: this.options.countyTuning } : {}),
          });
          this.county = link;
          registerCountyCommands(this.registry, link);
          this.countyStatus = () => ({ configured: true, ...link.status() });
          await link.start();
        },
        stop: () => this.county?.stop(),
      },
      ((): Part => {
        const server = new ControlServer(config.control.socket, this.registry, log.child({ component: 'control' }), {
          maxClients: config.control.max_clients,
          idleTimeoutMs: config.control.idle_timeout_s * 1000,
        });
        return { name: 'control', start: () => server.start(), stop: () => server.stop() };
      })(),
    ];
  }

  private registerAgentCommands(): void {
    this.registry.register({
      name: 'status',
      description: 'station, agent, county link and device summary',
      readOnly: true,
      args: z.object({}).strict(),
      handler: () => this.status(),
    });
    this.registry.register({
      name: 'events.list',
      description:
        'durable events (faults, warnings, schedule runs, agent starts): the newest `limit` since `since`, oldest first, in pages of at most 500; `more` holds the args for the next page, null at the end',
      readOnly: true,
      args: z
        .object({
          since: z.string().min(10).max(40).optional(),
          limit: z.number().int().min(1).max(100_000).default(50),
          after: z.number().int().min(-1).optional(),
        })
        .strict(),
      handler: (a) => listEventsPage(this.store, a),
    });
    this.registry.register({
      name: 'db.integrity',
      description: 'PRAGMA integrity_check of the local database',
      readOnly: true,
      args: z.object({}).strict(),
      handler: () => ({ result: this.store.integrityCheck() }),
    });
  }
}
