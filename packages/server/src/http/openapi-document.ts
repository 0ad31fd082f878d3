import { STATUS_CODES } from 'node:http';
import type { SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger';
import type { FastifySchema } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { apiSchemaRegistry } from './api-schemas.js';
import type { RouteAccess } from './authentication.js';

/*
 * How the OpenAPI document at /api/docs/json is made from the routes, beyond what the route schemas say:
 *
 * - operationId: the HTTP method, then each path segment after /api/v1 in PascalCase, parameters by their
 *   name: `GET /api/v1/rooms/{roomId}/messages` → `getRoomsRoomIdMessages`, `GET /health` → `getHealth`.
 *   Stable as long as the route is, unique because method and path are. A route may set its own
 *   `schema.operationId`.
 * - Responses: each success response is described by its status text ("OK", "Created"); the error answers
 *   each operation can give are listed by status, from what the route declares (authentication, rate
 *   limits, path parameters, a body), each a shared component in the one error format, with `4XX` for the
 *   rest (`error.code` says which).
 * - Only the schema components some operation uses are kept.
 *
 * `npx redocly lint` on the document is clean (openapi-document.test.ts runs it in `npm test`).
 */

/** The REST API's prefix (app.ts `API_PREFIX`; importing it from there would be a cycle). */
const API_PREFIX = '/api/v1';

/**
 * Error statuses a route's config cannot say: what its handler answers itself. openapi-document.test.ts
 * checks that each operation named here is still one of the server's.
 */
export const HANDLER_STATUSES: Readonly<Record<string, readonly number[]>> = {
  // A name, id or delivery that must be unique is taken.
  'POST /api/v1/auth/signup': [409],
  'POST /api/v1/auth/anonymous': [409],
  'POST /api/v1/users': [409],
  'POST /api/v1/rooms': [409],
  'PATCH /api/v1/rooms/{roomId}': [409],
  'POST /api/v1/rooms/{roomId}/messages': [409],
  'POST /api/v1/workflows': [409],
  // Public, but checks the webhook's own signature; a delivery received before answers 409.
  'POST /api/v1/hooks/workflows/{workflowId}': [401, 409],
  // With KAIWA_METRICS_TOKEN set, the token is required.
  'GET /metrics': [401],
  // A plugin's route: its answer refused (502) or late (504).
  ...Object.fromEntries(
    ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((method) => [
      `${method} /plugins/{pluginId}/{path}`,
      [502, 504],
    ]),
  ),
};

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };
const retryAfter = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
};

/** The error answers, by status, each `{"error":{"code","message","details"}}`. */
const ERROR_RESPONSES: Record<string, { name: string; response: Record<string, unknown> }> = {
  '400': {
    name: 'BadRequest',
    response: {
      description:
        'The request could not be read (`bad_request`: malformed JSON, URL or HTTP) or failed validation ' +
        '(`validation_failed`, each problem in `details.issues`).',
    },
  },
  '401': {
    name: 'Unauthorized',
    response: {
      description:
        'No credentials, or ones that are not valid (anymore): `unauthorized`, `invalid_token`, ' +
        '`bad_signature`, `stale_signature`, `replayed_request`.',
      headers: {
        'WWW-Authenticate': { description: 'The scheme to authenticate with', schema: { type: 'string' } },
      },
    },
  },
  '403': {
    name: 'Forbidden',
    response: {
      description:
        'The caller may not do this (`forbidden`), or must choose a new password first ' +
        '(`password_change_required`).',
    },
  },
  '404': {
    name: 'NotFound',
    response: { description: 'No such resource, or none the caller may see (`not_found`).' },
  },
  '409': {
    name: 'Conflict',
    response: { description: 'A name or id that must be unique is taken (`conflict`, `details.field`).' },
  },
  '413': {
    name: 'PayloadTooLarge',
    response: { description: 'The body is larger than this operation takes (`payload_too_large`).' },
  },
  '415': {
    name: 'UnsupportedMediaType',
    response: {
      description: 'The body has a Content-Type this operation does not take (`unsupported_media_type`).',
    },
  },
  '429': {
    name: 'TooManyRequests',
    response: {
      description: 'Too many requests (`rate_limited`); `Retry-After` says when to try again.',
      headers: retryAfter,
    },
  },
  '4XX': {
    name: 'ClientError',
    response: { description: 'Another client error; `error.code` says which.' },
  },
  '500': {
    name: 'InternalError',
    response: { description: 'An unexpected failure (`internal`); the details are in the server log.' },
  },
  '503': {
    name: 'ServiceUnavailable',
    response: {
      description:
        'The database does not answer or the server is shutting down (`database_unavailable`, `busy`, ' +
        '`unavailable`); retry after `Retry-After` seconds.',
      headers: retryAfter,
    },
  },
};

/** The internal hint from {@link documentRoute} to {@link documentObject}; not in the served document. */
const STATUS_HINT = 'x-kaiwa-error-statuses';

/** A route's config: who may call it (http/authentication.ts) and @fastify/rate-limit's per-route limit. */
type RouteConfig = RouteAccess & { rateLimit?: unknown };

const zodTransform = createJsonSchemaTransform({ schemaRegistry: apiSchemaRegistry });
const zodTransformObject = createJsonSchemaTransformObject({ schemaRegistry: apiSchemaRegistry });

/**
 * @fastify/swagger's `transform`: documents public routes without security requirements, publishes who may
 * call a route (`x-kaiwa-access`, read by the security suite) and notes the error statuses its config
 * implies.
 */
export const documentRoute: SwaggerTransform<FastifySchema & { hide?: boolean }> = (input) => {
  const transformed = zodTransform(input);
  const config = (input.route.config ?? {}) as RouteConfig;
  // Outside /api/v1 a route is public unless it says otherwise (plugins' routes take credentials).
  const publicRoute =
    config.auth === 'public' || (!input.url.startsWith(API_PREFIX) && config.auth === undefined);
  const statuses: number[] = [];
  if (!publicRoute) {
    statuses.push(401);
    if (!config.duringPasswordChange || config.roles) statuses.push(403);
  }
  if (config.rateLimit || config.userRateLimit) statuses.push(429);
  // Who may call the route, as declared beside it (security/route-access.ts); the security suite reads it.
  const declared = config.access === undefined ? {} : { 'x-kaiwa-access': config.access };
  const schema = {
    ...transformed.schema,
    ...declared,
    [STATUS_HINT]: statuses,
    ...(publicRoute ? { security: [] } : {}),
  };
  return { ...transformed, schema };
};

type OpenApiOperation = Record<string, unknown> & {
  operationId?: string;
  requestBody?: unknown;
  responses?: Record<string, Record<string, unknown>>;
  [STATUS_HINT]?: number[];
};

interface OpenApiObject {
  info?: Record<string, unknown>;
  servers?: unknown[];
  paths?: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * @fastify/swagger's `transformObject`: the multipart body of uploads, servers and license, operationIds,
 * described and complete responses, and only the components in use.
 */
export const documentObject: SwaggerTransformObject = (input) => {
  const document = zodTransformObject(input) as OpenApiObject;
  documentUpload(document);
  documentPluginUploads(document);
  nameWildcards(document);
  document.info = { ...document.info, license: { name: 'MIT', identifier: 'MIT' } };
  // Relative: the document describes the server that serves it, wherever that is.
  document.servers = [{ url: '/', description: 'The server that serves this document' }];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      operation.operationId ??= operationIdOf(method, path);
      operation.responses = responsesOf(method, path, operation);
      delete operation[STATUS_HINT];
    }
  }
  // The shared error responses, those in use.
  const referenced = JSON.stringify(document.paths ?? {});
  document.components = {
    ...document.components,
    responses: Object.fromEntries(
      Object.values(ERROR_RESPONSES)
        .filter(({ name }) => referenced.includes(`"#/components/responses/${name}"`))
        .map(({ name, response }) => [name, { ...response, content: errorContent }]),
    ),
  };
  pruneUnusedSchemas(document);
  return document as ReturnType<SwaggerTransformObject>;
};

/**
 * `get` + `/api/v1/rooms/{roomId}/messages` → `getRoomsRoomIdMessages`: the method, then every segment
 * (after /api/v1) in PascalCase, a parameter by its name.
 */
export function operationIdOf(method: string, path: string): string {
  const relative = path.startsWith(`${API_PREFIX}/`) ? path.slice(API_PREFIX.length) : path;
  const words = relative
    .split('/')
    .map((segment) => segment.replace(/^\{(.*)\}$/, '$1'))
    .flatMap((segment) => segment.split(/[^A-Za-z0-9]+/))
    .filter((word) => word.length > 0)
    .map((word) => word[0]!.toUpperCase() + word.slice(1));
  return `${method.toLowerCase()}${words.join('')}`;
}

function responsesOf(
  method: string,
  path: string,
  operation: OpenApiOperation,
): Record<string, Record<string, unknown>> {
  const statuses = new Set<number>([400, 500, 503, ...(operation[STATUS_HINT] ?? [])]);
  if (path.includes('{')) statuses.add(404);
  if (operation.requestBody !== undefined) {
    statuses.add(413);
    statuses.add(415);
  }
  for (const status of HANDLER_STATUSES[`${method.toUpperCase()} ${path}`] ?? []) statuses.add(status);

  const responses: Record<string, Record<string, unknown>> = {};
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    // The route's own error ranges give way to the statuses listed here.
    if (status === '4XX' || status === '5XX') continue;
    const described = typeof response.description === 'string' && response.description !== 'Default Response';
    responses[status] = described ? response : { ...response, description: statusText(status) };
    if (Number(status) >= 400) statuses.delete(Number(status));
  }
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const shared = ERROR_RESPONSES[String(status)];
    responses[String(status)] = shared
      ? { $ref: `#/components/responses/${shared.name}` }
      : { description: statusText(String(status)), content: errorContent };
  }
  responses['4XX'] = { $ref: '#/components/responses/ClientError' };
  return sortedByStatus(responses);
}

function statusText(status: string): string {
  return STATUS_CODES[Number(status)] ?? 'Response';
}

function sortedByStatus<T>(responses: Record<string, T>): Record<string, T> {
  const order = (status: string) => (status.endsWith('XX') ? Number(status[0]) * 100 + 99 : Number(status));
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => order(a) - order(b)));
}

/**
 * zod-type-provider makes an input and an output schema of every registered one; drops those no
 * operation reaches, directly or through other schemas.
 */
function pruneUnusedSchemas(document: OpenApiObject): void {
  const schemas = document.components?.schemas;
  if (!schemas) return;
  const prefix = '#/components/schemas/';
  const used = new Set<string>();
  const pending: unknown[] = [document.paths, document.components?.responses];
  while (pending.length > 0) {
    const text = JSON.stringify(pending.pop() ?? null);
    for (const [, encoded] of text.matchAll(/"\$ref":"([^"]+)"/g)) {
      if (!encoded?.startsWith(prefix)) continue;
      const name = decodeURIComponent(encoded.slice(prefix.length).split('/')[0] ?? '')
        .replace(/~1/g, '/')
        .replace(/~0/g, '~');
      if (used.has(name) || !(name in schemas)) continue;
      used.add(name);
      pending.push(schemas[name]);
    }
  }
  document.components!.schemas = Object.fromEntries(
    Object.entries(schemas).filter(([name]) => used.has(name)),
  );
}

/**
 * Fastify's wildcard (`/plugins/:pluginId/*`, documented by @fastify/swagger as `{*}`) as a named path
 * parameter, `{path}`: OpenAPI tools want names.
 */
function nameWildcards(document: OpenApiObject): void {
  const paths = document.paths ?? {};
  for (const [path, item] of Object.entries(paths)) {
    if (!path.includes('{*}')) continue;
    for (const [method, operation] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      for (const parameter of (operation.parameters ?? []) as { in?: string; name?: string }[]) {
        if (parameter.in === 'path' && parameter.name === '*') parameter.name = 'path';
      }
    }
    delete paths[path];
    paths[path.replace('{*}', '{path}')] = item;
  }
}

/** The multipart body of plugin installs and upgrades: the tarball and its SHA-256. */
function documentPluginUploads(document: OpenApiObject): void {
  for (const path of [`${API_PREFIX}/plugins`, `${API_PREFIX}/plugins/{pluginId}/upgrade`]) {
    const operation = document.paths?.[path]?.post;
    if (!operation) continue;
    operation.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['sha256', 'file'],
            properties: {
              sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$', description: 'SHA-256 of the tarball' },
              file: { type: 'string', format: 'binary', description: 'the plugin as a .tgz or .tar' },
            },
          },
        },
      },
    };
  }
}

/** The upload's multipart body, which the route cannot declare as a schema. */
function documentUpload(document: OpenApiObject): void {
  const upload = document.paths?.[`${API_PREFIX}/files`]?.post;
  if (!upload) return;
  upload.requestBody = {
    required: true,
    content: {
      'multipart/form-data': {
        schema: {
          type: 'object',
          required: ['file'],
          properties: {
            roomId: { type: 'string', description: 'room to upload into' },
            projectId: { type: 'string', description: 'project to attach the file to' },
            ticketId: { type: 'string', description: 'ticket to attach the file to' },
            file: { type: 'string', format: 'binary' },
          },
        },
      },
    },
  };
}
