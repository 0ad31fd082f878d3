import type { ChatEngine } from '@kaiwa/core';
import { context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { recordSpanError } from './trace-span-error.js';

const AsyncFunction = (async () => undefined).constructor;

/**
 * The same engine with a span per asynchronous operation (`engine sendMessage`) called inside a trace:
 * the step between a request or frame and the store and bus calls it causes. Arguments and results are
 * not recorded. The engine keeps its own identity for everything else (events, subscriptions, private state).
 */
export function tracedEngine(engine: ChatEngine, tracer: Tracer): ChatEngine {
  const wrappers = new Map<string, (...args: unknown[]) => unknown>();
  return new Proxy(engine, {
    get(target, property) {
      // The engine itself as receiver: its private fields are not on the proxy.
      const value = Reflect.get(target, property);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let wrapper = wrappers.get(property);
      if (!wrapper && !(value instanceof AsyncFunction)) {
        wrapper = value.bind(target) as (...args: unknown[]) => unknown;
        wrappers.set(property, wrapper);
      }
      if (!wrapper) {
        const operation = property;
        wrapper = (...args: unknown[]) => {
          const method = Reflect.get(target, operation) as (...callArgs: unknown[]) => Promise<unknown>;
          if (!trace.getSpan(context.active())?.isRecording()) return method.apply(target, args);
          return tracer.startActiveSpan(
            `engine ${operation}`,
            { kind: SpanKind.INTERNAL, attributes: { 'kaiwa.engine.operation': operation } },
            async (span) => {
              try {
                return await method.apply(target, args);
              } catch (error) {
                recordSpanError(span, error);
                throw error;
              } finally {
                span.end();
              }
            },
          );
        };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}
