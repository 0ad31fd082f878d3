import { HTTP_RESPONSE_BODY_LIMIT, type PluginHttpResponse } from '@kaiwa/plugin-sdk';
import { z } from 'zod';
import type { PluginCapabilities } from './manifest.js';

/** A route a manifest declares (`capabilities.httpRoutes`). */
export type PluginHttpRoute = PluginCapabilities['httpRoutes'][number];

/** A declared route that matched a request, with its decoded `:name` parameters. */
export interface PluginRouteMatch {
  route: PluginHttpRoute;
  /** The route's key, `"GET /items/:id"`, as the plugin registers it. */
  key: string;
  params: Record<string, string>;
}

/** `"GET /items/:id"`: how a plugin names a route it has a handler for. */
function routeKeyOf(route: { method: string; path: string }): string {
  return `${route.method} ${route.path}`;
}

/**
 * The declared route a request's method and path (under `/plugins/<id>`, still percent-encoded) lands on, or
 * `undefined`. Segments match one for one, literal segments against the decoded segment and `:name` taking any
 * non-empty one; where several routes match, the one with a literal segment earlier wins (`/items/new` before
 * `/items/:id`). A path that does not decode matches nothing.
 *
 * @example
 * matchPluginRoute(manifest.capabilities.httpRoutes, 'GET', '/items/42'); // { key: 'GET /items/:id', params: { id: '42' }, … }
 */
export function matchPluginRoute(
  routes: readonly PluginHttpRoute[],
  method: string,
  path: string,
): PluginRouteMatch | undefined {
  let segments: string[];
  try {
    segments = segmentsOf(path).map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
  let best: { match: PluginRouteMatch; rank: string } | undefined;
  for (const route of routes) {
    if (route.method !== method) continue;
    const pattern = segmentsOf(route.path);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let rank = '';
    const matches = pattern.every((part, index) => {
      const segment = segments[index] ?? '';
      if (part.startsWith(':')) {
        params[part.slice(1)] = segment;
        rank += '1';
        return segment.length > 0;
      }
      rank += '0';
      return part === segment;
    });
    if (matches && (best === undefined || rank < best.rank)) {
      best = { match: { route, key: routeKeyOf(route), params }, rank };
    }
  }
  return best?.match;
}

function segmentsOf(path: string): string[] {
  return path === '/' ? [] : path.slice(1).split('/');
}

/**
 * The headers a plugin may set on its answer. Everything else — cookies, CSP, CORS, HSTS, redirects — is the
 * server's alone, and an answer that names another is refused rather than trimmed, so the plugin's author
 * learns of it.
 */
export const PLUGIN_RESPONSE_HEADERS = [
  'content-type',
  'cache-control',
  'content-language',
  'etag',
  'last-modified',
] as const;

/**
 * Media types a plugin may answer with: data, never a document or script a browser would run with the
 * signed-in user's session on Kaiwa's origin (`text/html`, `image/svg+xml`, JavaScript).
 */
const SAFE_MEDIA_TYPE =
  /^(application\/json|application\/[a-z0-9.+-]+\+json|text\/plain|text\/csv|text\/markdown)$/;

const headerValue = z
  .string()
  .max(1000)
  .refine((value) => !/[\r\n\0]/.test(value), { message: 'holds a line break or NUL' });

const ResponseSchema = z
  .strictObject({
    status: z.int().min(200, 'a status from 200 to 599').max(599, 'a status from 200 to 599'),
    headers: z
      .record(z.string(), headerValue)
      .default({})
      .superRefine((headers, context) => {
        for (const [name, value] of Object.entries(headers)) {
          const lower = name.toLowerCase();
          if (!(PLUGIN_RESPONSE_HEADERS as readonly string[]).includes(lower)) {
            context.addIssue({
              code: 'custom',
              path: [name],
              message: `not a header a plugin may set (only ${PLUGIN_RESPONSE_HEADERS.join(', ')})`,
            });
          } else if (lower === 'content-type') {
            const media = value.split(';')[0]?.trim().toLowerCase() ?? '';
            if (!SAFE_MEDIA_TYPE.test(media)) {
              context.addIssue({
                code: 'custom',
                path: [name],
                message: `"${media}" is not JSON or plain text`,
              });
            }
          }
        }
      }),
    body: z.json().optional(),
  })
  .superRefine((response, context) => {
    if (response.body === undefined) return;
    const bytes = Buffer.byteLength(serialisedBody(response.body));
    if (bytes > HTTP_RESPONSE_BODY_LIMIT) {
      context.addIssue({
        code: 'custom',
        path: ['body'],
        message: `${bytes} bytes, over the limit of ${HTTP_RESPONSE_BODY_LIMIT}`,
      });
    }
  });

/** A plugin's HTTP answer as Kaiwa sends it on: status, allowed headers (lower-case), the body serialised. */
export interface CheckedHttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Undefined when the plugin sent none. */
  body: string | undefined;
}

/**
 * Checks a plugin's answer to `http.request` (the plugin is never trusted): the status, the headers against
 * {@link PLUGIN_RESPONSE_HEADERS} and safe media types, the body's size. Returns the problems, each with its
 * path, or the answer ready to send.
 *
 * @example
 * const checked = checkHttpResponse({ status: 200, headers: { 'set-cookie': 'a=b' } });
 * // { ok: false, issues: [{ path: ['headers', 'set-cookie'], message: 'not a header a plugin may set …' }] }
 */
export function checkHttpResponse(
  answer: unknown,
):
  | { ok: true; response: CheckedHttpResponse }
  | { ok: false; issues: { path: string[]; message: string }[] } {
  const parsed = ResponseSchema.safeParse(answer);
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((issue) => ({ path: issue.path.map(String), message: issue.message })),
    };
  }
  const { status, headers, body } = parsed.data as PluginHttpResponse & { headers: Record<string, string> };
  const lowered = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
  if (body !== undefined && lowered['content-type'] === undefined) {
    lowered['content-type'] =
      typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8';
  }
  return {
    ok: true,
    response: { status, headers: lowered, body: body === undefined ? undefined : serialisedBody(body) },
  };
}

function serialisedBody(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body);
}
