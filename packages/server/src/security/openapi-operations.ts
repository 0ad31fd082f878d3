import type { AccessDeclaration } from './route-access.js';

/*
 * The operations of the server's OpenAPI document, and valid-shaped inputs for them: path, query and header
 * parameters and a JSON body built from each schema, with target ids (roomId, messageId, …) filled in by the
 * caller of `sampleInput`. Only what the document says is used, so a new route is covered without a line here.
 */

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}

export interface OpenApiOperation {
  summary?: string;
  parameters?: {
    in: 'path' | 'query' | 'header' | 'cookie';
    name: string;
    required?: boolean;
    schema?: JsonSchema;
  }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  'x-kaiwa-access'?: AccessDeclaration;
}

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The OpenAPI path, `/api/v1/rooms/{roomId}`. */
  path: string;
  /** `GET /api/v1/rooms/{roomId}`. */
  name: string;
  operation: OpenApiOperation;
  access: AccessDeclaration | undefined;
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      const upper = method.toUpperCase() as Operation['method'];
      operations.push({
        method: upper,
        path,
        name: `${upper} ${path}`,
        operation,
        access: operation['x-kaiwa-access'],
      });
    }
  }
  return operations.sort((a, b) => a.name.localeCompare(b.name));
}

/** Fills a named value (a target id) or returns undefined to let the schema decide. */
export type Filler = (name: string) => string | undefined;

/** Parameter and body names that name a target; optional ones are filled too. */
export const TARGET_NAMES = new Set(['roomId', 'projectId', 'ticketId']);

export interface SampleInput {
  url: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: unknown;
  /** The JSON body's media type, when the operation takes a body. */
  contentType: string | undefined;
}

/** A valid-shaped request for `operation`, target ids taken from `fill`. */
export function sampleInput(document: OpenApiDocument, operation: Operation, fill: Filler): SampleInput {
  const query: Record<string, string> = {};
  const headers: Record<string, string> = {};
  let url = operation.path;
  let optionalTargetFilled = false;
  for (const parameter of operation.operation.parameters ?? []) {
    const schema = resolve(document, parameter.schema ?? {});
    if (parameter.in === 'path') {
      const value = fill(parameter.name) ?? String(sample(document, schema, parameter.name, fill));
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(value));
    } else if (parameter.in === 'query') {
      const target = TARGET_NAMES.has(parameter.name) && !optionalTargetFilled;
      if (!parameter.required && !target) continue;
      if (target && !parameter.required) optionalTargetFilled = true;
      query[parameter.name] = String(fill(parameter.name) ?? sample(document, schema, parameter.name, fill));
    } else if (parameter.in === 'header' && parameter.required) {
      headers[parameter.name] = String(sample(document, schema, parameter.name, fill));
    }
  }
  const content = operation.operation.requestBody?.content ?? {};
  const contentType = Object.keys(content).find((type) => type.includes('json')) ?? Object.keys(content)[0];
  const bodySchema = contentType ? content[contentType]?.schema : undefined;
  const body = bodySchema === undefined ? undefined : sample(document, bodySchema, 'body', fill);
  return { url, query, headers, body, contentType };
}

export function resolve(document: OpenApiDocument, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let depth = 0; depth < 10 && typeof current.$ref === 'string'; depth += 1) {
    const name = current.$ref.split('/').pop() ?? '';
    current = document.components?.schemas?.[name] ?? {};
  }
  return current;
}

/** A value the schema accepts, small and harmless: required fields only, minimum lengths, first choices. */
export function sample(document: OpenApiDocument, given: JsonSchema, name: string, fill: Filler): unknown {
  const filled = fill(name);
  if (filled !== undefined) return filled;
  const schema = resolve(document, given);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('default' in schema && schema.default !== undefined) return schema.default;
  const choices = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (choices) {
    const real = choices.filter((choice) => resolve(document, choice).type !== 'null');
    return sample(document, real[0] ?? choices[0] ?? {}, name, fill);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((part) => sample(document, part as JsonSchema, name, fill)));
  }
  const type = Array.isArray(schema.type) ? schema.type.find((each) => each !== 'null') : schema.type;
  switch (type) {
    case 'string':
      return sampleString(schema);
    case 'integer':
    case 'number': {
      const minimum = typeof schema.minimum === 'number' ? schema.minimum : 1;
      return typeof schema.maximum === 'number' ? Math.min(minimum, schema.maximum) : minimum;
    }
    case 'boolean':
      return false;
    case 'array': {
      const count = typeof schema.minItems === 'number' ? schema.minItems : 0;
      return Array.from({ length: count }, () =>
        sample(document, (schema.items as JsonSchema) ?? {}, name, fill),
      );
    }
    case 'object':
    case undefined: {
      if (type === undefined && !schema.properties) return undefined;
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const value: Record<string, unknown> = {};
      for (const [key, property] of Object.entries(properties)) {
        if (!required.has(key) && !(TARGET_NAMES.has(key) && fill(key) !== undefined)) continue;
        value[key] = sample(document, property, key, fill);
      }
      return value;
    }
    default:
      return undefined;
  }
}

const STRING_CANDIDATES = [
  'sample',
  'sample-name',
  'a',
  'x1',
  '01J00000000000000000000000',
  'sample@example.com',
];

function sampleString(schema: JsonSchema): string {
  if (schema.format === 'date-time') return new Date().toISOString();
  if (schema.format === 'date') return '2030-01-01';
  if (schema.format === 'email') return 'sample@example.com';
  if (schema.format === 'uri') return 'https://example.com/';
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 1;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Number.POSITIVE_INFINITY;
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern, 'u') : undefined;
  const candidates = [...STRING_CANDIDATES, 'x'.repeat(minLength), `sample-${'x'.repeat(minLength)}`];
  const fits = (value: string) =>
    value.length >= minLength && value.length <= maxLength && (!pattern || pattern.test(value));
  return candidates.find(fits) ?? 'x'.repeat(Math.max(1, minLength));
}
