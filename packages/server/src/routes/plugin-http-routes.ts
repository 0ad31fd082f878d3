import type { PluginHttpInput } from '@kaiwa/plugins';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorResponses } from '../http/api-schemas.js';
import { HttpError, unauthorized } from '../http/http-error.js';
import { pluginCall } from './plugin-routes.js';
import type { ApiInstance, RouteContext } from './route-context.js';

/** Where plugins' declared HTTP routes are served: `/plugins/<id><path>`, outside /api/v1. */
export const PLUGIN_HTTP_PREFIX = '/plugins';
/** Largest request body a plugin route takes; a larger one answers 413 before the plugin hears of it. */
export const PLUGIN_BODY_LIMIT = 1024 * 1024;
/** Per caller (the signed-in user, else the address), across every plugin route. */
const RATE_LIMIT = { max: 600, timeWindow: '1 minute' };
/** The request headers a plugin sees; never `authorization`, cookies or anything else. */
const FORWARDED_HEADERS = ['content-type', 'accept', 'user-agent'] as const;
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

const ParamsSchema = z.object({
  pluginId: z.string().min(1).max(64).describe("the plugin's id"),
  '*': z.string().describe('the path of a route the plugin declares (`capabilities.httpRoutes`)'),
});

/** What the check before the body found, for the handler. */
const resolved = new WeakMap<FastifyRequest, { pluginId: string; method: Method; path: string }>();

/**
 * Serves plugins' declared HTTP routes at `/plugins/:pluginId/*`, each through the plugin host within the
 * plugin's call deadline (`limits.callTimeoutMs`). Register it in a scope of its own with the request-signing and
 * authentication hooks (app.ts): the route takes credentials optionally and decides itself, before the body is
 * read:
 *
 * - no signed-in caller and the route is not declared `public: true` (or not declared at all, or the plugin is
 *   unknown) → 401, so anonymous callers cannot probe which plugins and routes exist;
 * - an undeclared method and path, or an unknown plugin → 404; the plugin not running → 503
 *   `plugin_unavailable`;
 * - a body over {@link PLUGIN_BODY_LIMIT} → 413; JSON, text and form bodies only (others 415);
 * - the plugin's answer past its deadline → 504 `plugin_timeout`; a handler that throws → 502 `plugin_failed`;
 *   an answer that breaks the rules (a status outside 200–599, a header off the allow-list such as
 *   `set-cookie`, HTML or script, a body over 512 KiB) → 502 `plugin_invalid_response`, reported to admins.
 *
 * The plugin sees the route, the decoded path parameters, the query, `content-type`, `accept`, `user-agent`,
 * the body, and the caller's id, username and role as Kaiwa resolved them; never the `Authorization` header or
 * cookies. Every answer carries the server's security headers (CSP, nosniff, …), which a plugin cannot set.
 */
export function registerPluginHttpRoutes(scope: ApiInstance, { plugins }: RouteContext): void {
  // Webhooks send forms and text as well as JSON; each arrives as its text, within the body limit.
  for (const type of [/^text\//, 'application/x-www-form-urlencoded']) {
    scope.addContentTypeParser(
      type,
      { parseAs: 'string', bodyLimit: PLUGIN_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
  }

  const check = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!plugins) {
      throw new HttpError(404, 'plugins_off', 'plugins are off on this server (KAIWA_PLUGIN_DIR is unset)');
    }
    const { pluginId } = request.params as { pluginId: string };
    // HEAD runs the GET route.
    const method = (request.method === 'HEAD' ? 'GET' : request.method) as Method;
    const path = pluginPathOf(request.url);
    const route = plugins.findHttpRoute(pluginId, method, path);
    if (!request.user && !route?.public) {
      reply.header('www-authenticate', 'Bearer');
      throw unauthorized();
    }
    if (!route) throw new HttpError(404, 'not_found', `plugin "${pluginId}" serves no ${method} ${path}`);
    if (!route.running) {
      reply.header('retry-after', '5');
      throw new HttpError(503, 'plugin_unavailable', `plugin "${pluginId}" is not running`);
    }
    resolved.set(request, { pluginId, method, path });
  };

  for (const method of METHODS) {
    const takesBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    scope.route({
      method,
      url: `${PLUGIN_HTTP_PREFIX}/:pluginId/*`,
      bodyLimit: PLUGIN_BODY_LIMIT,
      config: {
        auth: 'optional',
        rateLimit: {
          ...RATE_LIMIT,
          keyGenerator: (request: FastifyRequest) =>
            request.user ? `user:${request.user.id}` : `address:${request.ip}`,
        },
        // Routes a manifest declares `public: true` also take anonymous callers; the suite's server has none.
        access: { signedIn: 'allowed' },
      },
      schema: {
        tags: ['plugins'],
        operationId: `${method.toLowerCase()}PluginRoute`,
        summary: `A ${method} route a running plugin declares, served by the plugin`,
        description:
          'Served only when the plugin declares this method and path in `capabilities.httpRoutes` and runs ' +
          '(404 and 503 otherwise); signed-in callers only unless the route is declared `public: true`. ' +
          'The plugin answers within its call deadline (504 past it); an answer that breaks the rules ' +
          '(cookies, CORS or CSP headers, HTML or script, a body over 512 KiB) is refused with 502.',
        params: ParamsSchema,
        ...(takesBody
          ? { body: z.unknown().describe('JSON, text or a form, at most 1 MiB; passed to the plugin') }
          : {}),
        response: {
          200: z.unknown().describe("The plugin's answer: its status, JSON or text, and a few headers"),
          ...errorResponses,
        },
      },
      // After the rate limit (an onRequest hook), before the body is read.
      preParsing: async (request, reply, payload) => {
        await check(request, reply);
        return payload;
      },
      handler: async (request, reply) => {
        const target = resolved.get(request);
        if (!target || !plugins) throw new HttpError(500, 'internal', 'the plugin route was not resolved');
        const user = request.user;
        const body = request.body as PluginHttpInput['body'] | null;
        const answer = await pluginCall(() =>
          plugins.serveHttp({
            ...target,
            query: queryOf(request.query),
            headers: forwardedHeaders(request),
            caller: user ? { userId: user.id, username: user.username, role: user.role } : null,
            ...(body === undefined || body === null ? {} : { body }),
          }),
        );
        reply.code(answer.status);
        for (const [name, value] of Object.entries(answer.headers)) reply.header(name, value);
        return reply.send(answer.body);
      },
    });
  }
}

/** The path after `/plugins/<id>`, still percent-encoded, without the query: `/items/42`. */
function pluginPathOf(url: string): string {
  const path = url.split('?', 1)[0] ?? '';
  return path.slice(path.indexOf('/', PLUGIN_HTTP_PREFIX.length + 1));
}

function queryOf(query: unknown): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string') result[name] = value;
    else if (Array.isArray(value)) result[name] = value.filter((each) => typeof each === 'string');
  }
  return result;
}

function forwardedHeaders(request: FastifyRequest): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string' && value.length <= 1000) headers[name] = value;
  }
  return headers;
}
