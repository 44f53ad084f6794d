/**
 * A typed in-process event bus. Listeners are kept per owner so a component removes all of its
 * listeners in one call; a throwing listener is logged, never fatal to the emitter.
 */
import type { Logger } from 'pino';
import type { DeviceState } from '../drivers/types.js';
import type { DurableRecord } from './store/outbox.js';

export interface AgentEvents {
  /** A device's published state changed (any field but last_seen). */
  'device.state': [state: DeviceState, previous: DeviceState | undefined];
  /** A durable record (usage or event) was committed to the outbox. */
  'record.appended': [record: DurableRecord];
}

type Listener<K extends keyof AgentEvents> = (...args: AgentEvents[K]) => void;

export class EventBus {
  private readonly listeners = new Map<keyof AgentEvents, Array<{ owner: object; fn: (...args: never[]) => void }>>();

  constructor(private readonly log: Logger) {}

  on<K extends keyof AgentEvents>(event: K, owner: object, fn: Listener<K>): void {
    const list = this.listeners.get(event) ?? [];
    list.push({ owner, fn: fn as unknown as (...args: never[]) => void });
    this.listeners.set(event, list);
  }

  emit<K extends keyof AgentEvents>(event: K, ...args: AgentEvents[K]): void {
    for (const { fn } of this.listeners.get(event) ?? []) {
      try {
        (fn as unknown as Listener<K>)(...args);
      } catch (err) {
        this.log.error({ err, event }, 'event listener failed');
      }
    }
  }

  removeAll(owner: object): void {
    for (const [event, list] of this.listeners) {
      this.listeners.set(
        event,
        list.filter((l) => l.owner !== owner),
      );
    }
  }
}
