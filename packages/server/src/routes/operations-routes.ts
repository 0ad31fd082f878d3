import { timingSafeEqual } from 'node:crypto';
import { type ChatStore, KaiwaError } from '@kaiwa/core';
import { z } from 'zod';
import { errorResponses, NoContentSchema } from '../http/api-schemas.js';
import { credentialOf } from '../http/authentication.js';
import { HttpError, unauthorized } from '../http/http-error.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['operations'];
/** A database slower than this to answer a trivial read counts as down: load balancers move on. */
const READY_TIMEOUT_MS = 2000;

/** Liveness, readiness and Prometheus metrics, outside /api/v1. */
export function registerOperationsRoutes(
  app: ApiInstance,
  { store, metrics, config, busStatus }: RouteContext,
): void {
  app.get(
    '/health',
    {
      config: { access: { everyone: 'allowed' } },
      schema: {
        tags,
        summary: 'The process is up',
        response: { 200: z.object({ status: z.literal('ok'), uptimeSeconds: z.number() }) },
      },
    },
    async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }),
  );

  app.get(
    '/ready',
    {
      config: { access: { everyone: 'allowed' } },
      schema: {
        tags,
        summary:
          'The store answers and the bus is connected; 503 while not (database_unavailable with Retry-After while the database does not answer)',
        response: {
          200: z.object({ status: z.literal('ready'), bus: z.enum(['memory', 'redis', 'nats']) }),
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      try {
        await storeAnswers(store);
      } catch (error) {
        if (error instanceof HttpError && error.code === 'database_unavailable')
          reply.header('retry-after', '1');
        throw error;
      }
      const bus = busStatus?.() ?? { kind: 'memory' as const, connected: true };
      if (!bus.connected) throw new HttpError(503, 'unavailable', `the ${bus.kind} bus is not connected`);
      return { status: 'ready' as const, bus: bus.kind };
    },
  );

  // Without a token the public port serves metrics only in development and tests: with a local metrics port,
  // or in production (where the configuration insists on a token or a port), it does not serve them at all.
  if (!config.metricsToken && (config.metricsPort !== undefined || config.nodeEnvironment === 'production')) {
    return;
  }
  app.get(
    '/metrics',
    {
      config: { access: { everyone: 'allowed' } },
      schema: { tags, summary: 'Prometheus metrics', produces: ['text/plain'] },
    },
    async (request, reply) => {
      if (config.metricsToken && !sameSecret(credentialOf(request), config.metricsToken)) {
        reply.header('www-authenticate', 'Bearer');
        throw unauthorized('metrics need the metrics token');
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
}

/** Browsers report Content-Security-Policy violations here (report-uri); logged and rate-limited. */
export function registerCspReportRoute(app: ApiInstance): void {
  app.addContentTypeParser(
    ['application/csp-report', 'application/reports+json'],
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new HttpError(400, 'bad_request', 'the report is not JSON'));
      }
    },
  );
  app.post(
    '/csp-report',
    {
      config: {
        auth: 'public',
        rateLimit: { max: 30, timeWindow: '1 minute' },
        access: { everyone: 'allowed' },
      },
      bodyLimit: 16 * 1024,
      schema: {
        tags,
        summary: 'Receives Content-Security-Policy violation reports from browsers',
        body: z.unknown(),
        response: { 204: NoContentSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      request.log.warn({ cspReport: request.body }, 'content security policy violation reported');
      return reply.status(204).send(null);
    },
  );
}

async function storeAnswers(store: ChatStore): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = Symbol('timed out');
  const timeout = new Promise<typeof timedOut>((resolve) => {
    timer = setTimeout(() => resolve(timedOut), READY_TIMEOUT_MS);
  });
  try {
    const answer = await Promise.race([store.users.count(), timeout]);
    if (answer === timedOut) {
      throw new HttpError(
        503,
        'database_unavailable',
        `the database did not answer within ${READY_TIMEOUT_MS} ms`,
      );
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // Down, restarting or locked: the same answer as any request gets meanwhile, so probes retry.
    if (KaiwaError.isInstance(error) && (error.code === 'database_unavailable' || error.code === 'busy')) {
      throw new HttpError(503, 'database_unavailable', 'the database is not reachable right now');
    }
    throw new HttpError(503, 'unavailable', 'the store is not reachable');
  } finally {
    clearTimeout(timer);
  }
}

function sameSecret(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
