import { timingSafeEqual } from 'node:crypto';
import type { ChatStore } from '@kaiwa/core';
import { z } from 'zod';
import { errorResponses, NoContentSchema } from '../http/api-schemas.js';
import { credentialOf } from '../http/authentication.js';
import { HttpError, unauthorized } from '../http/http-error.js';
import type { ApiInstance, RouteContext } from './route-context.js';

const tags = ['operations'];
const READY_TIMEOUT_MS = 2000;

/** Liveness, readiness and Prometheus metrics, outside /api/v1. */
export function registerOperationsRoutes(
  app: ApiInstance,
  { engine, metrics, config, busStatus }: RouteContext,
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
        summary: 'The store answers and the bus is connected; 503 while not',
        response: {
          200: z.object({ status: z.literal('ready'), bus: z.enum(['memory', 'redis', 'nats']) }),
          ...errorResponses,
        },
      },
    },
    async () => {
      await storeAnswers(engine.store);
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
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('store did not answer in time')), READY_TIMEOUT_MS);
  });
  try {
    await Promise.race([store.users.count(), timeout]);
  } catch {
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
