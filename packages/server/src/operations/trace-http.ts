import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

/** Probes and scrapes: frequent, uninteresting, and they would drown real traces at 100 % sampling. */
const UNTRACED_ROUTES = new Set(['/health', '/ready', '/metrics']);

/**
 * A server span per HTTP request, named after the route pattern (`POST /api/v1/rooms/:roomId/messages`),
 * never the URL (ids and query strings stay out), continuing the caller's `traceparent`. The span is the
 * active one in every hook and in the handler: Fastify runs the stages after body parsing from stream
 * callbacks, so each stage enters the request's context again.
 */
export function installHttpTracing(app: FastifyInstance, tracer: Tracer): void {
  const contexts = new WeakMap<FastifyRequest, { span: Span; context: Context }>();
  const enter = (request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
    const entry = contexts.get(request);
    if (!entry) return done();
    context.with(entry.context, done);
  };
  app.addHook('onRequest', (request, _reply, done) => {
    const route = request.routeOptions.url;
    if (route !== undefined && UNTRACED_ROUTES.has(route)) return done();
    const parent = propagation.extract(ROOT_CONTEXT, request.headers);
    const span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
          'kaiwa.request_id': request.id,
        },
      },
      parent,
    );
    const active = trace.setSpan(parent, span);
    contexts.set(request, { span, context: active });
    context.with(active, done);
  });
  app.addHook('preParsing', (request, reply, payload, done) =>
    enter(request, reply, () => done(null, payload)),
  );
  app.addHook('preValidation', enter);
  app.addHook('preHandler', enter);
  app.addHook('onError', (request, _reply, error, done) => {
    const entry = contexts.get(request);
    entry?.span.setAttribute('error.type', (error as { code?: string }).code ?? error.name);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    const entry = contexts.get(request);
    if (entry) {
      contexts.delete(request);
      entry.span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      if (reply.statusCode >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
      entry.span.end();
    }
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    const entry = contexts.get(request);
    if (entry) {
      contexts.delete(request);
      entry.span.setAttribute('error.type', 'aborted');
      entry.span.end();
    }
    done();
  });
}
