import type { Lease, SharedResources } from './types.js';

/**
 * Ref-counted resources shared between devices, e.g. one RS-485 serial port carrying several Modbus
 * relay units. The last release closes the resource.
 */
export class SharedResourcePool implements SharedResources {
  private readonly entries = new Map<string, { value: { close(): Promise<void> }; refs: number }>();

  acquire<T extends { close(): Promise<void> }>(key: string, create: () => T): Lease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: create(), refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs++;
    const e = entry;
    let released = false;
    return {
      value: e.value as T,
      release: async () => {
        if (released) return;
        released = true;
        e.refs--;
        if (e.refs === 0 && this.entries.get(key) === e) {
          this.entries.delete(key);
          await e.value.close();
        }
      },
    };
  }

  get size(): number {
    return this.entries.size;
  }
}
