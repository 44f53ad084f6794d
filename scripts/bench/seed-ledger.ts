/**
 * Large ledgers for the control-flood bench and the bounds tests (tests/integration/control-bounds.test.ts,
 * cli/output.test.ts): events and closed usage sessions written through the real Store and its outbox, as
 * the agent writes them, in one transaction.
 */
import { Store } from '../../agent/store/store.js';
import type { UsageRecord } from '../../protocol/usage-record.js';

/** `count` events, one a minute from 2024-01-01, alternating types. */
export function seedEvents(dataDir: string, count: number): void {
  const store = Store.open(dataDir);
  try {
    store.transaction(() => {
      for (let i = 0; i < count; i++) {
        const ts = new Date(Date.parse('2024-01-01T00:00:00.000Z') + i * 60_000).toISOString();
        const type = i % 2 === 0 ? 'device_offline' : 'device_online';
        store.outbox.append('events', type, ts, (seq, id) => ({
          v: 1, seq, id, station_id: 'test-station', ts, clock: 'synced', type, severity: i % 2 === 0 ? 'warning' : 'info',
          device: 'projector', message: `projector event ${i}`, boot: 1,
        }));
      }
    });
  } finally {
    store.close();
  }
}

/** `count` closed sessions, one an hour from 2024-01-01, every third with a Chinese note. */
export function seedSessions(dataDir: string, count: number): void {
  const store = Store.open(dataDir);
  try {
    store.transaction(() => {
      for (let i = 0; i < count; i++) {
        const start = new Date(Date.parse('2024-01-01T00:00:00.000Z') + i * 3_600_000).toISOString();
        const durationS = 600 + (i % 50) * 60;
        const end = new Date(Date.parse(start) + durationS * 1000).toISOString();
        const rec = store.outbox.append('usage', 'usage', end, (seq, id) => ({
          v: 1, id, seq, station_id: 'test-station', start, end, duration_s: durationS,
          devices: [{ id: 'projector', kind: 'projector', on_s: durationS }], inputs: [{ device: 'projector', input: '31', s: durationS }],
          signal_s: durationS - 10, trigger: i % 2 === 0 ? 'manual' : 'schedule:tuesday-study', end_reason: 'devices_off', annotation: null,
          short: false, rule_version: 1, boot: 1, clock: 'synced',
        }));
        const payload = rec.payload as UsageRecord;
        store.sessions.insertClosed(payload.id, payload.seq, start, end, JSON.stringify(payload));
        if (i % 3 === 0) store.sessions.setAnnotation(payload.id, JSON.stringify({ topic: `果树修剪技术 第${i}讲`, attendees: 20 + (i % 9), organiser: '李支书' }));
      }
    });
  } finally {
    store.close();
  }
}
