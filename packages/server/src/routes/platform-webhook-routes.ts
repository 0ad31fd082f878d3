import { NotFoundError } from '@kaiwa/core';
import { z } from 'zod';
import type { PlatformComposition } from '../platform-composition.js';
import type { ApiInstance } from './route-context.js';

/*
 * Inbound webhooks of the platforms whose bridge-file receiver is `mounted`: Slack's Events API, Telegram's
 * webhook and the Teams messaging endpoint, served on the Kaiwa server's own port (behind its TLS proxy)
 * instead of a port per adapter. No bearer token: each platform's own signature or secret is the
 * authentication, checked by the adapter over the exact bytes received.
 */

const tags = ['platforms'];
/** Largest webhook body; platform events are a few KiB, Slack's largest payloads well under this. */
export const PLATFORM_WEBHOOK_BODY_LIMIT = 1024 * 1024;
/** Per client address; platforms deliver from many addresses, bursts from one are capped. */
const RATE_LIMIT = { max: 600, timeWindow: '1 minute' };

/**
 * Registers `POST /platforms/:platform/events` (under `/api/v1`) in its own scope, so the raw-body parser
 * applies to it alone. A platform not configured with the mounted receiver answers 404.
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
          'Served for platforms whose bridge-file receiver is `{ type: mounted }`. Point the platform at ' +
          '`https://<server>/api/v1/platforms/<slack|telegram|teams>/events`. Authenticated by the ' +
          "platform's own means: Slack's signing secret, Telegram's secret token header, the Bot " +
          'Framework token. The answer is what the platform expects; 404 when the platform is not mounted.',
        security: [],
        params: z.object({ platform: z.string().max(32) }),
      },
    },
    async (request, reply) => {
      const { platform } = request.params;
      const webhook = platforms?.webhooks.get(platform);
      if (webhook === undefined) throw new NotFoundError('platform webhook', platform);
      const body = request.body;
      const answer = await webhook.handleWebhook({
        method: request.method,
        headers: request.headers,
        rawBody: Buffer.isBuffer(body) ? body : Buffer.alloc(0),
        url: request.url,
      });
      reply.status(answer.status);
      if (answer.headers) reply.headers(answer.headers);
      return reply.send(answer.body ?? '');
    },
  );
}
