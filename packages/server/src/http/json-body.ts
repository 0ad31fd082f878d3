import { jsonDepth, ValidationError } from '@kaiwa/core';
import type { FastifyInstance } from 'fastify';

/**
 * Deepest nesting a JSON request body may have. No API input needs more than a few levels (metadata stops
 * at 32); the bound keeps bodies that would overflow the stack of whatever recurses into them later
 * (validation, `JSON.stringify`, logging) out of the server. Parsing itself is safe: V8's `JSON.parse` and
 * secure-json-parse's prototype check both walk iteratively (measured: 300,000 levels, 1.8 MB, parse).
 */
export const MAX_JSON_BODY_DEPTH = 64;

/**
 * Replaces Fastify's `application/json` parser with the same parser (secure-json-parse, refusing
 * `__proto__` and `constructor.prototype`) plus a depth bound: a deeper body is a 400 `validation_failed`
 * naming the top-level field that holds the deep value. Call it before registering routes.
 *
 * @example
 * installJsonBodyParser(app); // POST {"metadata":{"a":{"a":…}}} 100 levels deep → 400, details.issues[0].path ['metadata']
 */
export function installJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_BODY_DEPTH): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parse(request, body as string, (error, value) => {
      if (error) return done(error);
      if (jsonDepth(value, maxDepth) > maxDepth) return done(tooDeep(value, maxDepth));
      done(null, value);
    });
  });
}

function tooDeep(body: unknown, maxDepth: number): ValidationError {
  const message = `is nested deeper than ${maxDepth} levels`;
  if (typeof body === 'object' && body !== null) {
    for (const [key, child] of Object.entries(body)) {
      if (jsonDepth(child, maxDepth - 1) > maxDepth - 1) {
        return ValidationError.field([Array.isArray(body) ? Number(key) : key], message);
      }
    }
  }
  return new ValidationError([{ path: [], message: `the body ${message}` }]);
}
