/**
 * Writes docs/schemas/*.json, the JSON Schemas of every county payload, from the zod schemas the agent
 * itself uses (protocol/payloads.ts, event-record.ts, chain-record.ts with usage-record.ts), so the contract a
 * county developer reads cannot drift from the code. A unit test fails when the committed files are stale.
 *
 *   npm run -s build && node dist/scripts/gen-mqtt-schemas.js   (from the repository root)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import {
  AckSchema,
  DeviceStatePayloadSchema,
  HeartbeatSchema,
  InventorySchema,
  RequestSchema,
  ResponseSchema,
  StatusSchema,
} from '../protocol/payloads.js';
import { EventRecordSchema } from '../protocol/event-record.js';
import { ChainRecordSchema } from '../protocol/chain-record.js';

/** file stem → [schema, title, which side validates it]. */
export const MQTT_SCHEMAS: Record<string, { schema: z.ZodType; title: string; io: 'input' | 'output' }> = {
  status: { schema: StatusSchema, title: 'status (up, retained): online status or Last Will', io: 'output' },
  inventory: { schema: InventorySchema, title: 'inventory (up, retained): the equipment survey row', io: 'output' },
  heartbeat: { schema: HeartbeatSchema, title: 'heartbeat (up, QoS 0)', io: 'output' },
  'device-state': { schema: DeviceStatePayloadSchema, title: 'devices/<device_id>/state (up, retained)', io: 'output' },
  events: { schema: EventRecordSchema, title: 'events (up, durable)', io: 'output' },
  usage: { schema: ChainRecordSchema, title: 'usage (up, durable): a usage session, a note about one, or the genesis of a sealed chain', io: 'output' },
  ack: { schema: AckSchema, title: 'ack (down, retained): the county watermark', io: 'input' },
  request: { schema: RequestSchema, title: 'request/<action> (down)', io: 'input' },
  response: { schema: ResponseSchema, title: 'response/<action> (up)', io: 'output' },
};

/** file name → file text, deterministic. */
export function generateMqttSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [stem, { schema, title, io }] of Object.entries(MQTT_SCHEMAS)) {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
    const doc = { $id: `https://station-agent.invalid/schemas/mqtt/${stem}.json`, title, ...json };
    out[`${stem}.json`] = JSON.stringify(doc, null, 2) + '\n';
  }
  return out;
}

export function writeMqttSchemas(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = generateMqttSchemas();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return Object.keys(files);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const dir = join(process.cwd(), 'docs', 'schemas');
  for (const f of writeMqttSchemas(dir)) process.stdout.write(`wrote ${join(dir, f)}\n`);
}
