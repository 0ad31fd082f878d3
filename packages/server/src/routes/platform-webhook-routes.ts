import type { IncomingHttpHeaders } from 'node:http';
import { NotFoundError } from '@kaiwa/core';
import { z } from 'zod';
import type { PlatformComposition } from '../platform-composition.js';
import type { ApiInstance } from './route-context.js';

/*
 * Inbound webhooks of the bridged platforms that receive through one: Slack's Events API (receiver `http`),
 * Telegram's webhook (receiver `webhook`) and the Teams messaging endpoint, served on the Kaiwa server's own
 * port (behind its TLS proxy); adapters run no HTTP server of their own. Each request is handed to the
 * adapter once, as a web `Request` with the body's exact bytes, and its `Response` is sent back as it is. No
 * bearer token: each platform's own signature or secret is the authentication, checked by the adapter over
 * those bytes.
 */

const tags = ['platforms'];
/** Largest webhook body; platform events are a few KiB, Slack's largest payloads well under this. */
export const PLATFORM_WEBHOOK_BODY_LIMIT = 1024 * 1024;
/** Per client address; platforms deliver from many addresses, bursts from one are capped. */
const RATE_LIMIT = { max: 600, timeWindow: '1 minute' };

/**
 * Registers `POST /platforms/:platform/events` (under `/api/v1`) in its own scope, so the raw-body parser
 * applies to it alone. A platform not configured, or not receiving through a webhook, answers 404.
 *
 * @example
 * await api.register((routes) => registerPlatformWebhookRoutes(routes, platforms), { prefix: '/api/v1' });
 */
export async function registerPlatformWebhookRoutes(
  app: ApiInstance,
  platforms: PlatformComposition | undefined,
): Promise<void> {
  await app.register(async (scope) => registerEventsRoute(scope, platforms));
}

function registerEventsRoute(scope: ApiInstance, platforms: PlatformComposition | undefined): void {
  // Slack signs the exact bytes sent: every body stays a Buffer, whatever its content type.
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    '*',
    { parseAs: 'buffer', bodyLimit: PLATFORM_WEBHOOK_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );
  scope.post(
    '/platforms/:platform/events',
    {
      config: { auth: 'public', rateLimit: RATE_LIMIT, access: { everyone: 'allowed' } },
      bodyLimit: PLATFORM_WEBHOOK_BODY_LIMIT,
      schema: {
        tags,
        summary: 'Inbound webhook of a bridged platform (Slack Events API, Telegram webhook, Teams)',
        description:
          'Served for bridged platforms that receive through a webhook: Slack with `receiver: { type: http }`, ' +
          'Telegram with `receiver: { type: webhook }`, and Teams. Point the platform at ' +
          '`https://<server>/api/v1/platforms/<slack|telegram|teams>/events`. Authenticated by the ' +
          "platform's own means: Slack's signing secret, Telegram's secret token header, the Bot " +
          'Framework token. The answer is what the platform expects; 404 when the platform does not receive here.',
        security: [],
        params: z.object({ platform: z.string().max(32) }),
      },
    },
    async (request, reply) => {
      const { platform } = request.params;
      const webhook = platforms?.webhooks.get(platform);
      if (webhook === undefined) throw new NotFoundError('platform webhook', platform);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const answer = await webhook.handleWebhook(toWebRequest(request, body));
      reply.status(answer.status);
      answer.headers.forEach((value, name) => {
        reply.header(name, value);
      });
      const bytes = Buffer.from(await answer.arrayBuffer());
      return reply.send(bytes.byteLength > 0 ? bytes : '');
    },
  );
}

/* Hop-by-hop and framing headers describe the connection the body came on, not the body handed over. */
const NOT_FORWARDED = new Set(['connection', 'content-length', 'keep-alive', 'transfer-encoding', 'upgrade']);

/**
 * The web `Request` for one webhook POST as Fastify received it: the same method, URL and headers, and the
 * body's bytes exactly as they came (platform signatures are computed over them).
 */
export function toWebRequest(
  request: { method: string; url: string; protocol: string; host: string; headers: IncomingHttpHeaders },
  body: Uint8Array,
): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || NOT_FORWARDED.has(name)) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  return new Request(new URL(request.url, `${request.protocol}://${request.host || 'localhost'}`), {
    method: request.method,
    headers,
    ...(hasBody ? { body } : {}),
  });
}
