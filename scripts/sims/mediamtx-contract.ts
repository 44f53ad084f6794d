/**
 * The MediaMTX OpenAPI document as an executable contract: is this request a valid operation (method,
 * path, query parameters, body), and does this response match the schema declared for its status?
 * Used by the fake server (every response it sends is checked) and by the client's contract tests.
 *
 * Plain Ajv rejects valid MediaMTX responses (docs/reference/mediamtx-notes.md §8.3): `nullable: true` next to
 * `allOf`, and `oneOf` over structurally identical codec-props objects. Both are normalised here
 * (nullable → anyOf with null, oneOf → anyOf). Object schemas are then closed
 * (additionalProperties: false) because the real server emits only declared fields and rejects unknown
 * keys in requests (jsonwrapper), so a typo on either side is caught.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';

type Schema = Record<string, unknown>;

interface Operation {
  method: string;
  template: string;
  regex: RegExp;
  params: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  requestBody?: Schema;
  responses: Record<string, Schema | undefined>;
  operationId: string;
}

const loaded = new Map<string, OpenApiContract>();

/** Finds docs/reference/mediamtx-openapi.yaml from source or from dist/. */
export function findOpenApiFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'docs', 'reference', 'mediamtx-openapi.yaml');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error('mediamtx-openapi.yaml not found above scripts/sims');
}

function normalise(node: unknown, close: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => normalise(n, close));
  if (!node || typeof node !== 'object') return node;
  const src = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k === 'nullable' || k === 'example' || k === 'deprecated') continue;
    out[k === 'oneOf' ? 'anyOf' : k] = normalise(v, close);
  }
  if (close && out.type === 'object' && out.properties && !out.allOf && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  if (out.$ref && typeof out.$ref === 'string') out.$ref = `oas${out.$ref}`;
  if (src.nullable === true) {
    return { anyOf: [{ type: 'null' }, out] };
  }
  return out;
}

export class OpenApiContract {
  private readonly ops: Operation[] = [];
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly components: Record<string, Schema>;

  constructor(doc: Schema) {
    for (const f of ['uint64', 'int64', 'int32']) this.ajv.addFormat(f, { type: 'number', validate: (n: number) => Number.isInteger(n) });
    this.ajv.addFormat('double', { type: 'number', validate: () => true });
    this.ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    const components = (doc.components as Schema | undefined)?.schemas as Record<string, Schema>;
    this.components = components;
    this.ajv.addSchema({ $id: 'oas', components: { schemas: normalise(components, true) } });
    const paths = doc.paths as Record<string, Record<string, Schema>>;
    for (const [template, item] of Object.entries(paths)) {
      const regex = new RegExp(
        `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_m, n: string) => (n === 'name' ? '(?<name>.+)' : `(?<${n}>[^/]+)`))}$`,
      );
      for (const [method, op] of Object.entries(item)) {
        const responses: Record<string, Schema | undefined> = {};
        for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Schema>)) {
          responses[status] = ((r.content as Schema | undefined)?.['application/json'] as Schema | undefined)?.schema as Schema | undefined;
        }
        const body = (((op.requestBody as Schema | undefined)?.content as Schema | undefined)?.['application/json'] as Schema | undefined)?.schema as
          | Schema
          | undefined;
        this.ops.push({
          method: method.toUpperCase(),
          template,
          regex,
          params: (op.parameters ?? []) as Operation['params'],
          ...(body ? { requestBody: body } : {}),
          responses,
          operationId: String(op.operationId),
        });
      }
    }
  }

  /** Loaded once per file and process: compiling the document takes a few hundred ms. */
  static load(file = findOpenApiFile()): OpenApiContract {
    let c = loaded.get(file);
    if (!c) {
      c = new OpenApiContract(parse(readFileSync(file, 'utf8')) as Schema);
      loaded.set(file, c);
    }
    return c;
  }

  /** The operation a request addresses, or undefined when the document has no such route. */
  operation(method: string, pathname: string): Operation | undefined {
    return this.ops.find((o) => o.method === method.toUpperCase() && o.regex.test(pathname));
  }

  /** Problems with a request; empty when it is a valid operation of the document. */
  validateRequest(method: string, url: URL, body: unknown): string[] {
    const op = this.operation(method, url.pathname);
    if (!op) return [`${method} ${url.pathname}: no such operation in the OpenAPI document`];
    const errors: string[] = [];
    const where = `${op.operationId} (${method} ${op.template})`;
    const query = op.params.filter((p) => p.in === 'query');
    for (const key of new Set(url.searchParams.keys())) {
      const p = query.find((q) => q.name === key);
      if (!p) {
        errors.push(`${where}: unknown query parameter ${key}`);
        continue;
      }
      const v = url.searchParams.get(key)!;
      const type = p.schema?.type;
      if (type === 'integer' && !/^-?\d+$/.test(v)) errors.push(`${where}: query ${key}=${v} is not an integer`);
    }
    for (const p of query) if (p.required && !url.searchParams.has(p.name)) errors.push(`${where}: missing query parameter ${p.name}`);
    const m = op.regex.exec(url.pathname);
    for (const p of op.params.filter((q) => q.in === 'path')) {
      if (!m?.groups?.[p.name]) errors.push(`${where}: missing path parameter ${p.name}`);
    }
    if (op.requestBody) {
      if (body === undefined) errors.push(`${where}: request body required`);
      else errors.push(...this.check(op.requestBody, body, `${where} request body`));
    } else if (body !== undefined) {
      errors.push(`${where}: takes no request body`);
    }
    return errors;
  }

  /** Problems with a JSON response; empty when it matches the schema declared for that status. */
  validateResponse(method: string, pathname: string, status: number, body: unknown): string[] {
    const op = this.operation(method, pathname);
    if (!op) return [`${method} ${pathname}: no such operation in the OpenAPI document`];
    if (!(String(status) in op.responses)) return [`${op.operationId}: status ${status} is not declared`];
    const schema = op.responses[String(status)];
    if (!schema) return [];
    return this.check(schema, body, `${op.operationId} ${status} response`);
  }

  /** Validates against a named component schema, e.g. `Error`. */
  validateSchema(name: string, value: unknown, what = name): string[] {
    return this.check({ $ref: `#/components/schemas/${name}` }, value, what);
  }

  /** The declared property names of a component schema. */
  schemaProperties(name: string): string[] {
    return Object.keys((this.components[name]?.properties as Schema | undefined) ?? {});
  }

  private check(schema: Schema, value: unknown, what: string): string[] {
    const key = JSON.stringify(schema);
    let fn = this.cache.get(key);
    if (!fn) {
      fn = this.ajv.compile(normalise(schema, true) as Schema);
      this.cache.set(key, fn);
    }
    if (fn(value)) return [];
    return (fn.errors ?? []).map((e) => `${what}: ${e.instancePath || '(root)'} ${e.message ?? 'invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
  }
}
