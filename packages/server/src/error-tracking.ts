import { readFileSync } from 'node:fs';
import type { ErrorEvent } from '@sentry/node';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ErrorTrackingSettings } from './config.js';

/**
 * Reports failures to Sentry (or anything that speaks its envelope protocol): errors behind 5xx answers and
 * errors nothing handled. An event carries the error (type, message, stack), the request id, the route
 * pattern, the method, the status and the user id, plus release and environment, and nothing else: no
 * request bodies (so no message text), no headers (so no tokens), no query strings, no breadcrumbs, no local
 * variables. Strings that look like credentials are masked in what is left as a second line of defence.
 *
 * `@sentry/node` is loaded by {@link createErrorTracker} only, which the server calls only when SENTRY_DSN
 * is set. Sentry's OpenTelemetry setup and its automatic instrumentation stay off: tracing is Kaiwa's own.
 */
export interface ErrorTracker {
  /** Reports the error behind a 5xx answer. */
  captureRequestError(error: unknown, request: RequestFacts): void;
  /** Sends what is queued, waiting at most `timeoutMs`; then stops reporting. */
  close(timeoutMs?: number): Promise<void>;
}

/** What an event may tell about the request that failed. */
export interface RequestFacts {
  requestId: string;
  method: string;
  /** The route pattern (`/api/v1/rooms/:roomId`), never the URL: ids and query strings stay out. */
  route: string;
  statusCode: number;
  /** The signed-in user's id, if any. */
  userId: string | undefined;
}

/**
 * Starts the Sentry client for this process.
 *
 * @example
 * const tracker = await createErrorTracker({ dsn, environment: 'production', release: undefined });
 * installErrorTracking(app, tracker);
 */
export async function createErrorTracker(settings: ErrorTrackingSettings): Promise<ErrorTracker> {
  const sentry = await import('@sentry/node');
  const client = sentry.initWithoutDefaultIntegrations({
    dsn: settings.dsn,
    environment: settings.environment,
    release: settings.release ?? `kaiwa-server@${serverVersion()}`,
    enableOpenTelemetrySetup: false,
    enableRuntimeChannelInjection: false,
    includeLocalVariables: false,
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      urlQueryParams: false,
      genAI: { inputs: false, outputs: false },
      databaseQueryData: false,
      stackFrameVariables: false,
      frameContextLines: 0,
    },
    integrations: [
      sentry.linkedErrorsIntegration(),
      sentry.dedupeIntegration(),
      sentry.onUncaughtExceptionIntegration(),
      // `strict` keeps Node's own behaviour: an unhandled rejection still ends the process, after the report.
      sentry.onUnhandledRejectionIntegration({ mode: 'strict' }),
    ],
    beforeBreadcrumb: () => null,
    beforeSend: (event) => scrubEvent(event),
  });
  if (!client) throw new Error('SENTRY_DSN: the Sentry client did not start');
  return {
    captureRequestError(error, request) {
      sentry.withScope((scope) => {
        scope.setTags({
          request_id: request.requestId,
          method: request.method,
          route: request.route,
          status_code: String(request.statusCode),
        });
        if (request.userId) scope.setUser({ id: request.userId });
        scope.setLevel('error');
        sentry.captureException(error);
      });
    },
    async close(timeoutMs = 2_000) {
      await sentry.close(timeoutMs);
    },
  };
}

/**
 * Reports the error behind every 5xx answer but 503 (an outage or a shutdown: the database and bus
 * alerts cover those, and one report per failed request would bury real bugs).
 */
export function installErrorTracking(app: FastifyInstance, tracker: ErrorTracker): void {
  const errors = new WeakMap<FastifyRequest, unknown>();
  app.addHook('onError', async (request, _reply, error) => {
    errors.set(request, error);
  });
  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode < 500 || reply.statusCode === 503) return;
    const user = (request as { user?: { id?: unknown } | null }).user;
    tracker.captureRequestError(
      errors.get(request) ?? new Error(`answered ${reply.statusCode} without an error`),
      {
        requestId: request.id,
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        statusCode: reply.statusCode,
        userId: typeof user?.id === 'string' ? user.id : undefined,
      },
    );
  });
}

/** Bearer tokens, JWTs, Kaiwa API keys and refresh tokens, passwords in URLs, wherever they turn up. */
const CREDENTIALS: [RegExp, string][] = [
  [/\b(bearer|basic)\s+[\w.~+/=-]{8,}/gi, '$1 [masked]'],
  [/\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*/g, '[masked]'],
  [/\b(kaiwa_(?:bot|rt)_)[\w-]{16,}/g, '$1[masked]'],
  [/(\/\/[^/\s:@]+:)[^@\s/]+@/g, '$1[masked]@'],
];

function maskCredentials(text: string): string {
  return CREDENTIALS.reduce((masked, [pattern, replacement]) => masked.replace(pattern, replacement), text);
}

/** Leaves only the error and the facts set on the scope; masks credentials in messages. */
export function scrubEvent(event: ErrorEvent): ErrorEvent {
  delete event.request;
  delete event.breadcrumbs;
  delete event.extra;
  delete event.server_name;
  if (event.user) event.user = event.user.id === undefined ? {} : { id: event.user.id };
  if (event.message) event.message = maskCredentials(event.message);
  for (const exception of event.exception?.values ?? []) {
    if (exception.value) exception.value = maskCredentials(exception.value);
    for (const frame of exception.stacktrace?.frames ?? []) {
      delete frame.vars;
      delete frame.pre_context;
      delete frame.context_line;
      delete frame.post_context;
    }
  }
  return event;
}

function serverVersion(): string {
  try {
    // src/ and dist/ are both one folder below the package.
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
