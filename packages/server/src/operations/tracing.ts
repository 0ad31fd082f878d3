import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Bus, ChatEngine, ChatModel, ChatStore } from '@kaiwa/core';
import type { StoreQueryListener } from '@kaiwa/store-kysely';
import type { StepType } from '@kaiwa/workflow';
import { context, propagation, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  RandomIdGenerator,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { FastifyInstance } from 'fastify';
import { type BusSystem, tracedBus } from './trace-bus.js';
import { tracedChatModel } from './trace-chat-model.js';
import { tracedEngine } from './trace-engine.js';
import { installHttpTracing } from './trace-http.js';
import { recordSpanError } from './trace-span-error.js';
import { storeStatementSpans, tracedStore } from './trace-store.js';
import { tracedStepTypes, traceWorkflowRuns, workflowAwareIdGenerator } from './trace-workflows.js';
import type { TraceSampling, TracingSettings } from './tracing-settings.js';

/**
 * OpenTelemetry tracing for one server process, created by {@link startTracing} only when the `OTEL_*`
 * variables turn it on: `app.ts` loads this module (and with it the SDK) with a dynamic import, so a server
 * without tracing never loads `@opentelemetry/*` and pays nothing. Each method wraps one composition point;
 * spans carry names, ids, counts and durations, never message text or other values users wrote.
 *
 * Store, statement and engine spans are made only inside a trace (an HTTP request, a WebSocket frame, a bus
 * delivery, a workflow run): background polling does not start traces of its own.
 */
export interface Tracing {
  /** pino's `mixin`: `trace_id` and `span_id` of the active span on every log line written inside one. */
  logFields(): Record<string, string>;
  /** A server span per HTTP request, continuing an incoming `traceparent`. */
  traceHttp(app: FastifyInstance): void;
  /** A span per WebSocket frame handled (`ws send`, `ws fetch`, …). */
  traceFrame(frameType: string, handle: () => Promise<void>): Promise<void>;
  /** A span per statement, for the store factories' `onQuery`. */
  readonly onStoreQuery: StoreQueryListener;
  traceStore(store: ChatStore): ChatStore;
  traceBus(bus: Bus, system: BusSystem): Bus;
  traceEngine(engine: ChatEngine): ChatEngine;
  traceChatModel(model: ChatModel): ChatModel;
  traceStepTypes(steps: StepType[]): StepType[];
  /** The workflow engine's bus: a run is a trace, opened and closed by the run's announcements. */
  traceWorkflowRuns(bus: Bus): Bus;
  /**
   * Puts `target[method]` inside a span `name` from now on: an own property that shadows the method, so the
   * object's own calls go through it too (transcription, knowledge search, plugin commands, platform calls).
   * `attributes` are fixed facts (provider, model), never arguments.
   */
  traceMethod<T extends object>(
    target: T,
    method: keyof T & string,
    name: string,
    attributes?: Record<string, string | number>,
  ): void;
  /** Sends what is queued (waiting at most a few seconds) and stops; safe to call twice. */
  close(): Promise<void>;
}

export interface TracingOptions {
  /** Told once when spans cannot be exported (and once when they can again); never thrown. */
  onExportProblem: (problem: { ok: false; error: unknown } | { ok: true }) => void;
}

/**
 * Starts the SDK for this process: a tracer provider with the configured sampler, a batching OTLP/HTTP
 * exporter, the W3C trace context propagator and an AsyncLocalStorage context manager, all registered
 * globally (one per process: a second server in the same process shares it).
 *
 * @example
 * const { startTracing } = await import('./operations/tracing.js');
 * const tracing = await startTracing(config.tracing, { onExportProblem: (p) => log.warn(p) });
 */
export async function startTracing(settings: TracingSettings, options: TracingOptions): Promise<Tracing> {
  const provider = acquireProvider(settings, options);
  const tracer = trace.getTracer('@kaiwa/server', serverVersion());
  let closed = false;
  return {
    logFields: (): Record<string, string> => {
      const span = trace.getSpan(context.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },
    traceHttp: (app) => installHttpTracing(app, tracer),
    traceFrame: (frameType, handle) => traceFrame(tracer, frameType, handle),
    onStoreQuery: storeStatementSpans(tracer),
    traceStore: (store) => tracedStore(store, tracer),
    traceBus: (bus, system) => tracedBus(bus, tracer, system),
    traceEngine: (engine) => tracedEngine(engine, tracer),
    traceChatModel: (model) => tracedChatModel(model, tracer),
    traceStepTypes: (steps) => tracedStepTypes(steps, tracer),
    traceWorkflowRuns: (bus) => traceWorkflowRuns(bus, tracer),
    traceMethod: (target, method, name, attributes = {}) =>
      traceMethod(tracer, target, method, name, attributes),
    async close() {
      if (closed) return;
      closed = true;
      await releaseProvider(provider);
    },
  };
}

async function traceFrame(tracer: Tracer, frameType: string, handle: () => Promise<void>): Promise<void> {
  // Pings and auth frames are not worth a trace each.
  if (frameType === 'ping' || frameType === 'pong') return handle();
  return tracer.startActiveSpan(
    `ws ${frameType}`,
    { kind: SpanKind.SERVER, attributes: { 'kaiwa.ws.frame_type': frameType } },
    async (span) => {
      try {
        await handle();
      } catch (error) {
        recordSpanError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

function traceMethod<T extends object>(
  tracer: Tracer,
  target: T,
  method: keyof T & string,
  name: string,
  attributes: Record<string, string | number>,
): void {
  const original = target[method];
  if (typeof original !== 'function') return;
  const call = (original as (...args: unknown[]) => unknown).bind(target);
  const traced = (...args: unknown[]) =>
    tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await call(...args);
      } catch (error) {
        recordSpanError(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  Object.defineProperty(target, method, { value: traced, configurable: true, writable: true });
}

// ------------------------------------------------------------------------------- the process-wide SDK

interface SharedProvider {
  provider: NodeTracerProvider;
  users: number;
}

let shared: SharedProvider | undefined;

function acquireProvider(settings: TracingSettings, options: TracingOptions): SharedProvider {
  if (shared) {
    shared.users += 1;
    return shared;
  }
  const exporter = reportingOnce(
    new OTLPTraceExporter({ url: settings.endpoint, headers: settings.headers, timeoutMillis: 10_000 }),
    options.onExportProblem,
  );
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      ...settings.resourceAttributes,
      [ATTR_SERVICE_NAME]: settings.serviceName,
      [ATTR_SERVICE_VERSION]: serverVersion(),
      'service.instance.id': randomUUID(),
    }),
    sampler: samplerOf(settings.sampling),
    idGenerator: workflowAwareIdGenerator(new RandomIdGenerator()),
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: 4096,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 1_000,
      }),
    ],
  });
  // The W3C trace context propagator and an AsyncLocalStorage context manager are the defaults.
  provider.register();
  shared = { provider, users: 1 };
  return shared;
}

async function releaseProvider(entry: SharedProvider): Promise<void> {
  entry.users -= 1;
  if (entry.users > 0) return;
  if (shared === entry) shared = undefined;
  await entry.provider.shutdown().catch(() => undefined);
  trace.disable();
  context.disable();
  propagation.disable();
}

function samplerOf(sampling: TraceSampling): Sampler {
  switch (sampling.kind) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(sampling.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(sampling.ratio) });
  }
}

/** The exporter, telling `report` when exports start failing and when they work again, once each time. */
function reportingOnce(exporter: SpanExporter, report: TracingOptions['onExportProblem']): SpanExporter {
  let failing = false;
  return {
    export(spans, resultCallback) {
      exporter.export(spans, (result) => {
        const ok = result.code === ExportResultCode.SUCCESS;
        if (ok === failing) {
          failing = !ok;
          try {
            report(ok ? { ok: true } : { ok: false, error: result.error });
          } catch {
            // A broken report must not break exporting.
          }
        }
        resultCallback(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

function serverVersion(): string {
  // From source this file is two folders below the package; bundled into dist/, one.
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
      if (manifest.name === '@kaiwa/server' && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // Not this one.
    }
  }
  return 'unknown';
}
