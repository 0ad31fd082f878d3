import { STATUS_CODES as STATUS_CODES_TEXT } from 'node:http';
import type { Socket } from 'node:net';
import { type FieldIssue, KaiwaError, ValidationError } from '@kaiwa/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ServerMetrics } from '../operations/server-metrics.js';
import { HttpError } from './http-error.js';

/** The one shape of every failure the server answers. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    code: z.string().describe('machine-readable: validation_failed, not_found, forbidden, unauthorized, …'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponseSchema>;

export interface ErrorAnswer {
  statusCode: number;
  body: ErrorResponse;
  /** Seconds for the `Retry-After` header, on answers that a retry can fix (the database is back). */
  retryAfterSeconds?: number;
}

const KAIWA_STATUS: Record<string, number> = {
  validation_failed: 400,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  // The database is down, restarting or locked: a retry in a moment can succeed.
  database_unavailable: 503,
  busy: 503,
  internal: 500,
};

/** Kaiwa error codes that mean "retry later": answered 503 with their code and `Retry-After`. */
const RETRYABLE_KAIWA_CODES = new Set(['database_unavailable', 'busy']);

/** Fastify's own error codes that reach the handler, with the answer they deserve. */
const FASTIFY_CODES: Record<string, { statusCode: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { statusCode: 413, code: 'payload_too_large' },
  FST_REQ_FILE_TOO_LARGE: { statusCode: 413, code: 'payload_too_large' },
  FST_PARTS_LIMIT: { statusCode: 413, code: 'payload_too_large' },
  FST_FILES_LIMIT: { statusCode: 413, code: 'payload_too_large' },
  FST_FIELDS_LIMIT: { statusCode: 413, code: 'payload_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { statusCode: 415, code: 'unsupported_media_type' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { statusCode: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { statusCode: 400, code: 'bad_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { statusCode: 400, code: 'bad_request' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { statusCode: 400, code: 'bad_request' },
  FST_PROTO_VIOLATION: { statusCode: 400, code: 'bad_request' },
  FST_MP_PREMATURE_CLOSE: { statusCode: 400, code: 'bad_request' },
  // Raised by the router before any route runs; they reach `frameworkErrorHandler`.
  FST_ERR_BAD_URL: { statusCode: 400, code: 'bad_request' },
  FST_ERR_MAX_PARAM_LENGTH: { statusCode: 414, code: 'uri_too_long' },
  FST_ERR_ASYNC_CONSTRAINT: { statusCode: 400, code: 'bad_request' },
};

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
  503: 'unavailable',
};

/**
 * Turns any thrown value into the answer: KaiwaErrors by their code, the server's HttpErrors as they are,
 * request validation into `validation_failed` naming each field, Fastify's client errors by status, and
 * everything else into a 500 that says nothing about the inside.
 */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const location = (error as { validationContext?: string }).validationContext;
    const issues: FieldIssue[] = error.validation.map((issue) => ({
      path: issue.instancePath
        .split('/')
        .filter((segment: string) => segment.length > 0)
        .map((segment: string) => (/^\d+$/.test(segment) ? Number(segment) : segment)),
      message: issue.message ?? 'is invalid',
    }));
    return validationAnswer(issues, location);
  }
  if (
    error instanceof ValidationError ||
    (KaiwaError.isInstance(error) && error.code === 'validation_failed')
  ) {
    return validationAnswer((error as ValidationError).issues ?? []);
  }
  if (KaiwaError.isInstance(error) && RETRYABLE_KAIWA_CODES.has(error.code)) {
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      statusCode: KAIWA_STATUS[error.code] ?? 503,
      body: { error: { code: error.code, message: error.message, details: { retryable: true } } },
      retryAfterSeconds: typeof retryAfterMs === 'number' ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 1,
    };
  }
  if (KaiwaError.isInstance(error)) {
    const statusCode = KAIWA_STATUS[error.code] ?? 500;
    if (statusCode >= 500) return internalAnswer();
    const field = (error as { field?: unknown }).field;
    return {
      statusCode,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(typeof field === 'string' ? { details: { field } } : {}),
        },
      },
    };
  }
  if (error instanceof HttpError) {
    return {
      statusCode: error.statusCode,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(error.details ? { details: error.details } : {}),
        },
      },
    };
  }
  const fastifyError = error as Partial<FastifyError> | undefined;
  const known = fastifyError?.code ? FASTIFY_CODES[fastifyError.code] : undefined;
  if (known) {
    return {
      statusCode: known.statusCode,
      body: { error: { code: known.code, message: clientMessage(known.statusCode, fastifyError?.message) } },
    };
  }
  const statusCode = fastifyError?.statusCode;
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return {
      statusCode,
      body: {
        error: {
          code: STATUS_CODES[statusCode] ?? 'bad_request',
          message: clientMessage(statusCode, fastifyError?.message),
        },
      },
    };
  }
  return internalAnswer();
}

function validationAnswer(issues: FieldIssue[], location?: string): ErrorAnswer {
  const first = issues[0];
  const where = first && first.path.length > 0 ? `${first.path.join('.')}: ` : '';
  return {
    statusCode: 400,
    body: {
      error: {
        code: 'validation_failed',
        message: `${where}${first?.message ?? 'invalid input'}`,
        details: { ...(location ? { location } : {}), issues },
      },
    },
  };
}

function internalAnswer(): ErrorAnswer {
  return { statusCode: 500, body: { error: { code: 'internal', message: 'internal server error' } } };
}

/** Fastify's messages for client errors are safe to show; fall back to a generic one. */
function clientMessage(statusCode: number, message: string | undefined): string {
  if (statusCode === 413) return 'the request body is too large';
  if (statusCode === 414) return 'a path segment of the URL is too long';
  return message && message.length < 300
    ? message
    : (STATUS_CODES[statusCode] ?? 'bad request').replace(/_/g, ' ');
}

/**
 * Installs the error and not-found handlers that give every failure the one error format. A method no route
 * takes on a path that routes exist for answers 405 `method_not_allowed` with `Allow`; an unknown path 404.
 */
export function installErrorHandling(app: FastifyInstance, metrics: ServerMetrics): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = errorAnswer(error);
    if (answer.retryAfterSeconds !== undefined) {
      // An outage, not a bug: one line without a stack (the store logs the outage itself once).
      request.log.warn(
        { code: answer.body.error.code, statusCode: answer.statusCode, url: request.url.split('?')[0] },
        answer.body.error.message,
      );
      reply.header('retry-after', String(answer.retryAfterSeconds));
    } else if (answer.statusCode >= 500) request.log.error({ err: error }, 'request failed');
    else
      request.log.info(
        { code: answer.body.error.code, statusCode: answer.statusCode },
        answer.body.error.message,
      );
    metrics.errors.inc({ code: answer.body.error.code });
    // The rate limiter sets Retry-After itself; other headers set before the failure stay too.
    return reply.status(answer.statusCode).type('application/json; charset=utf-8').send(answer.body);
  });
  // Fastify's own 503 while closing (`return503OnClosing`) has its own format: answer it here instead.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    metrics.errors.inc({ code: 'unavailable' });
    return reply
      .status(503)
      .header('connection', 'close')
      .type('application/json; charset=utf-8')
      .send({ error: { code: 'unavailable', message: 'the server is shutting down' } });
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(app, path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      metrics.errors.inc({ code: 'method_not_allowed' });
      return reply
        .status(405)
        .header('allow', allowed.join(', '))
        .type('application/json; charset=utf-8')
        .send({
          error: {
            code: 'method_not_allowed',
            message: `${request.method.slice(0, 20)} is not allowed here; allowed: ${allowed.join(', ')}`,
          },
        });
    }
    metrics.errors.inc({ code: 'not_found' });
    return reply
      .status(404)
      .type('application/json; charset=utf-8')
      .send({
        error: {
          code: 'not_found',
          message: `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`,
        },
      });
  });
}

/** The methods a route may have; OPTIONS is left out (CORS preflight answers it for every path). */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The methods some route takes at `path`, for the `Allow` header of a 405. Catch-all routes (the web UI's
 * page fallback, static file folders) do not count: a path only they match is unknown, a 404.
 *
 * @example allowedMethods(app, '/api/v1/rooms') // ['GET', 'HEAD', 'POST']
 */
export function allowedMethods(app: FastifyInstance, path: string): string[] {
  return ROUTE_METHODS.filter((method) => {
    const route = app.findRoute({ method, url: path });
    return route !== null && !Object.hasOwn(route.params ?? {}, '*');
  });
}

/**
 * Fastify's `frameworkErrors` option: the router's own failures (a malformed URL, a path parameter over
 * `maxParamLength`) get the one error format too, instead of Fastify's `{"error","message","statusCode"}`.
 *
 * @example Fastify({ frameworkErrors: frameworkErrorHandler }) // GET /api/v1/rooms/<300 characters> → 414 uri_too_long
 */
export function frameworkErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const answer = errorAnswer(error);
  request.log.info(
    { code: answer.body.error.code, statusCode: answer.statusCode },
    answer.body.error.message,
  );
  void reply.status(answer.statusCode).type('application/json; charset=utf-8').send(answer.body);
}

/** Node's HTTP parser failures, each with the answer a client gets before the connection closes. */
const CLIENT_ERRORS: Record<string, { statusCode: number; code: string; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    statusCode: 408,
    code: 'request_timeout',
    message: 'the request took too long',
  },
  HPE_HEADER_OVERFLOW: {
    statusCode: 431,
    code: 'headers_too_large',
    message: 'the request line and headers are too large',
  },
  HPE_URI_TOO_LONG: { statusCode: 414, code: 'uri_too_long', message: 'the URL is too long' },
};

/**
 * Fastify's `clientErrorHandler` option: a request Node's HTTP parser cannot read (malformed request line,
 * headers over the size limit, a bad Content-Length or chunk, a timeout) is answered in the one error format
 * and the connection is closed, as Node does by default. Nothing of the request reaches a route.
 *
 * @example Fastify({ clientErrorHandler }) // 20 KB of headers → 431 {"error":{"code":"headers_too_large",…}}
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // A reset connection cannot be answered.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = error.code ? CLIENT_ERRORS[error.code] : undefined;
  const { statusCode, code, message } = known ?? {
    statusCode: 400,
    code: 'bad_request',
    message: 'the request is not valid HTTP',
  };
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${statusCode} ${STATUS_CODES_TEXT[statusCode]}\r\nConnection: close\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
