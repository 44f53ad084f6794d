import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { MQTT_SCHEMAS, generateMqttSchemas } from '../../../scripts/gen-mqtt-schemas.js';
import { signAck, signRequest } from '../../../protocol/signing.js';

const DOCS = resolve(import.meta.dirname, '..', '..', '..', 'docs');
const DIR = join(DOCS, 'schemas');

describe('docs/schemas', () => {
  it('equal the schemas generated from the zod source (run scripts/gen-mqtt-schemas.ts when this fails)', () => {
    const fresh = generateMqttSchemas();
    const committed = Object.fromEntries(readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => [f, readFileSync(join(DIR, f), 'utf8')]));
    expect(Object.keys(committed).sort()).toEqual(Object.keys(fresh).sort());
    for (const [name, text] of Object.entries(fresh)) expect(committed[name], name).toBe(text);
  });

  it('are valid JSON Schema 2020-12 and accept the documented examples', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const fresh = generateMqttSchemas();
    for (const text of Object.values(fresh)) ajv.compile(JSON.parse(text) as object);
    const validate = (name: string, value: unknown): boolean => {
      const v = ajv.getSchema(`https://station-agent.invalid/schemas/mqtt/${name}.json`)!;
      return v(value) as boolean;
    };
    expect(validate('ack', { seq: 12 })).toBe(true);
    expect(validate('ack', { seq: -1 })).toBe(false);
    expect(validate('ack', { seq: 9007199254740991 })).toBe(true);
    expect(validate('ack', { seq: 9007199254740992 })).toBe(false);
    expect(validate('ack', { seq: 12, ts: '2026-03-01T12:00:00.000Z', sig: 'ABC' })).toBe(false);
    expect(validate('status', { v: 1, online: false, station_id: 'a', boot: 3 })).toBe(true);
    expect(validate('status', { v: 1, online: false, station_id: 'a' })).toBe(false);
    expect(validate('request', { transaction: 't-1', args: { device: 'proj1' } })).toBe(true);
    expect(validate('request', { args: {} })).toBe(false);
  });

  it('bound every seq to a safe integer (JSON numbers above 2^53 lose precision)', () => {
    const found: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
      if (typeof node !== 'object' || node === null) return;
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (/seq$/.test(k) && typeof v === 'object' && v !== null) {
          const variants = 'anyOf' in v ? (v as { anyOf: Array<Record<string, unknown>> }).anyOf : [v as Record<string, unknown>];
          for (const t of variants.filter((x) => x['type'] === 'integer')) {
            found.push(`${path}.${k}`);
            expect(t['maximum'], `${path}.${k}`).toBe(Number.MAX_SAFE_INTEGER);
            expect((t['minimum'] as number | undefined) ?? (t['exclusiveMinimum'] as number | undefined), `${path}.${k}`).toBeGreaterThanOrEqual(0);
          }
        }
        walk(v, `${path}.${k}`);
      }
    };
    for (const [name, text] of Object.entries(generateMqttSchemas())) walk(JSON.parse(text), name);
    expect(found).toEqual(
      expect.arrayContaining([
        'ack.json.properties.seq',
        // The usage topic's three kinds (note, genesis, usage record), each with its seq and the seq it names.
        'usage.json.anyOf[0].properties.seq',
        'usage.json.anyOf[0].properties.session_seq',
        'usage.json.anyOf[1].properties.seq',
        'usage.json.anyOf[1].properties.after_seq',
        'usage.json.anyOf[2].properties.seq',
        'events.json.properties.seq',
        'heartbeat.json.properties.outbox.properties.last_seq',
      ]),
    );
  });
});

describe('docs/mqtt.md', () => {
  const md = readFileSync(join(DOCS, 'mqtt.md'), 'utf8');

  it('has examples that validate against the payload schemas', () => {
    const examples = [...md.matchAll(/<!-- example: ([a-z-]+) -->\s*```json\n([\s\S]*?)```/g)];
    expect(examples.length).toBeGreaterThanOrEqual(10);
    const covered = new Set<string>();
    for (const [, name, body] of examples) {
      const entry = MQTT_SCHEMAS[name!];
      expect(entry, `unknown schema ${name}`).toBeDefined();
      const result = entry!.schema.safeParse(JSON.parse(body!));
      expect(result.success, `${name}: ${JSON.stringify(result.error?.issues)}`).toBe(true);
      covered.add(name!);
    }
    expect([...covered].sort()).toEqual(Object.keys(MQTT_SCHEMAS).sort());
  });

  it('documents a signing example that matches the implementation', () => {
    const sig = signRequest('example-key-change-me', 'village-01', 'device.power', {
      transaction: 'c-20260301-0001',
      ts: '2026-03-01T12:00:00.000Z',
      args: { device: 'proj1', value: 'on' },
    });
    expect(md).toContain(`sig = \`${sig}\``);
  });

  it('documents an ack signing example that matches the implementation', () => {
    const ledger = '6f1c2a9e04b7d35c8e21f0a4b6c9d713';
    const sig = signAck('example-key-change-me', 'village-01', { seq: 1312, ts: '2026-03-01T12:00:00.000Z', ledger });
    expect(md).toContain(`sig = \`${sig}\``);
    expect(md).toContain(`{ "seq": 1312, "ledger": "${ledger}", "ts": "2026-03-01T12:00:00.000Z", "sig": "${sig}" }`);
  });
});
