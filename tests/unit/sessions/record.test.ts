import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { UsageRecordSchema, TRIGGER_PATTERN } from '../../../protocol/usage-record.js';

const valid = {
  v: 1,
  id: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
  seq: 7,
  ledger: '6f1c2a9e04b7d35c8e21f0a4b6c9d713',
  station_id: 'xiaozhuang',
  start: '2024-03-05T12:00:00.000Z',
  end: '2024-03-05T13:30:00.000Z',
  duration_s: 5400,
  devices: [{ id: 'proj', kind: 'projector', on_s: 5340 }],
  inputs: [{ device: 'proj', input: '31', s: 5300 }],
  signal_s: 5200,
  trigger: 'schedule:tuesday-class',
  end_reason: 'devices_off',
  annotation: { topic: '果树修剪', attendees: 23, organiser: '王书记' },
  short: false,
  rule_version: 1,
  boot: 3,
  clock: 'synced',
};

describe('UsageRecordSchema', () => {
  test('accepts a complete record', () => {
    expect(UsageRecordSchema.safeParse(valid).success).toBe(true);
    expect(UsageRecordSchema.safeParse({ ...valid, annotation: null, historical: true }).success).toBe(true);
  });

  test('rejects an end before the start, unknown keys and bad triggers', () => {
    expect(UsageRecordSchema.safeParse({ ...valid, end: '2024-03-05T11:00:00.000Z' }).success).toBe(false);
    expect(UsageRecordSchema.safeParse({ ...valid, extra: 1 }).success).toBe(false);
    expect(UsageRecordSchema.safeParse({ ...valid, ledger: undefined }).success).toBe(false);
    expect(UsageRecordSchema.safeParse({ ...valid, ledger: 'no/slash-allowed-here' }).success).toBe(false);
    expect(UsageRecordSchema.safeParse({ ...valid, trigger: 'schedule:' }).success).toBe(false);
    expect(UsageRecordSchema.safeParse({ ...valid, trigger: 'remote' }).success).toBe(false);
    expect(UsageRecordSchema.safeParse({ ...valid, start: '2024-03-05 12:00' }).success).toBe(false);
  });

  test('trigger pattern', () => {
    for (const t of ['manual', 'county', 'unknown', 'schedule:a', 'schedule:tue_20-00']) expect(TRIGGER_PATTERN.test(t)).toBe(true);
  });

  test('converts to JSON Schema for the docs', () => {
    const js = z.toJSONSchema(UsageRecordSchema) as { required: string[] };
    expect(js.required).toContain('end_reason');
    expect(js.required).not.toContain('historical');
    // A new agent always says which database (ledger) allocated the seq (docs/mqtt.md "Ledgers").
    expect(js.required).toContain('ledger');
  });
});
