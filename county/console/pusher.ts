/**
 * Sends console commands to stations and records their answers. A command goes out as a signed request
 * (protocol/signing.ts, with the station's own command key: county/command-keys.ts) on
 * `request/<action>`, one per station, each with its own transaction; the rows are stored before
 * anything is published, so an answer always finds its row. Answers arrive on `response/<action>`
 * (subscribed without a share group: every console instance sees them, and storing one twice is
 * harmless). The console holds the county's keys only, never a station's broker secret, and sends only
 * CONSOLE_ACTIONS.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { ulid } from 'ulid';
import { ResponseSchema } from '../../protocol/payloads.js';
import { signRequest } from '../../protocol/signing.js';
import { FleetTopics } from '../../protocol/topics.js';
import { silentLogger, type Logger } from '../log.js';
import type { ConsoleStore, PushRow } from '../store.js';
import { countyClientOptions, keysOf, type BrokerAccess } from '../broker-access.js';
import type { CommandKeys } from '../command-keys.js';
import { PUSH_ANSWER_TIMEOUT_MS } from './push-status.js';

/** The only requests the console sends. */
export const CONSOLE_ACTIONS = ['schedule.set'] as const;
export type ConsoleAction = (typeof CONSOLE_ACTIONS)[number];
/** Transactions the console issued (the collector's own start with `resend:`). */
export const TRANSACTION_PREFIX = 'console-';
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Broker access as the collector's; without command keys nothing can be sent. */
export interface PusherOptions extends BrokerAccess {
  url: string;
  store: ConsoleStore;
  log?: Logger;
  now?: () => number;
  /** After this long a station that has not answered reads "no answer" (push-status.ts); shortened by tests. */
  answerTimeoutMs?: number;
}

export class Pusher {
  private readonly keys: CommandKeys;

  private constructor(
    private readonly client: MqttClient,
    private readonly fleet: FleetTopics,
    private readonly o: PusherOptions,
    private readonly log: Logger,
  ) {
    this.keys = keysOf(o);
  }

  static async start(o: PusherOptions): Promise<Pusher> {
    const log = o.log ?? silentLogger;
    const fleet = new FleetTopics(o.prefix ?? 'stations');
    const client = mqtt.connect(o.url, countyClientOptions('console', o));
    const pusher = new Pusher(client, fleet, o, log);
    client.on('message', (topic, payload) => void pusher.onResponse(topic, payload));
    client.on('error', (err) => log.warn({ err: err.message }, 'console mqtt error'));
    const filter = fleet.filter('response');
    client.on('connect', () => client.subscribe({ [filter]: { qos: 1 } }, (err) => err && log.error({ err: err.message }, 'subscribe failed')));
    await new Promise<void>((resolve, reject) => {
      // The first connect must work (a wrong URL fails loudly); later ones are retried by mqtt.js.
      const onError = (err: Error): void => {
        client.off('connect', onConnect);
        void client.endAsync(true).finally(() => reject(err));
      };
      const onConnect = (): void => {
        client.off('error', onError);
        resolve();
      };
      client.once('connect', onConnect);
      client.once('error', onError);
    });
    // Subscribed before the first push can be sent, so no early answer is missed.
    await client.subscribeAsync({ [filter]: { qos: 1 } });
    return pusher;
  }

  get canSign(): boolean {
    return this.keys.mode !== 'none';
  }

  get answerTimeoutMs(): number {
    return this.o.answerTimeoutMs ?? PUSH_ANSWER_TIMEOUT_MS;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /**
   * Signs and publishes `action` to every station; returns the push id the page follows. `target` says how
   * the stations were chosen (targets.ts storedTarget), kept with the rows for the history.
   */
  async send(action: ConsoleAction, args: Record<string, unknown>, stations: readonly string[], user: string, target: string | null = null): Promise<string> {
    if (!CONSOLE_ACTIONS.includes(action)) throw new Error(`the console does not send ${action}`);
    const keys = this.keys;
    if (keys.mode === 'none') throw new Error('no command key configured');
    const now = new Date((this.o.now ?? Date.now)()).toISOString();
    const pushId = ulid();
    const requests = stations.flatMap((station) => {
      const request: Record<string, unknown> = { transaction: `${TRANSACTION_PREFIX}${ulid()}`, ts: now, args };
      let key: string | Buffer | undefined;
      try {
        key = keys.keyFor(station);
      } catch (err) {
        // A name no station can have (the collector stored what the broker let through): nothing to sign for.
        this.log.warn({ station, err: (err as Error).message }, 'no command key for this station id: not sent');
        return [];
      }
      if (key === undefined) throw new Error(`no command key for ${station}`);
      request['sig'] = signRequest(key, station, action, request);
      return [{ station, request }];
    });
    const rows: PushRow[] = requests.map(({ station, request }) => ({
      push_id: pushId,
      transaction: request['transaction'] as string,
      station_id: station,
      action,
      args: JSON.stringify(args),
      sent_at: now,
      sent_by: user,
      status: 'sent',
      response: null,
      responded_at: null,
      target,
    }));
    await this.o.store.addPushes(rows);
    for (const { station, request } of requests) {
      this.client.publish(this.fleet.station(station).request(action), JSON.stringify(request), { qos: 1 });
    }
    this.log.info({ push: pushId, action, stations: stations.length, user }, 'console push sent');
    return pushId;
  }

  private async onResponse(topic: string, payload: Buffer): Promise<void> {
    const t = this.fleet.parse(topic);
    if (!t || t.kind !== 'response' || !(CONSOLE_ACTIONS as readonly string[]).includes(t.action)) return;
    if (payload.length > MAX_RESPONSE_BYTES) return;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    const r = ResponseSchema.safeParse(body);
    if (!r.success || !r.data.transaction?.startsWith(TRANSACTION_PREFIX)) return;
    try {
      const known = await this.o.store.recordPushResponse(t.station, r.data.transaction, r.data.status, payload.toString('utf8'), new Date().toISOString());
      if (!known) this.log.debug({ station: t.station, transaction: r.data.transaction }, 'answer to an unknown console push');
    } catch (err) {
      this.log.error({ err: (err as Error).message, station: t.station }, 'could not store a push answer');
    }
  }

  async stop(): Promise<void> {
    await this.client.endAsync(true);
  }
}
