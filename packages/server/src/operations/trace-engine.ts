import type { ChatEngine } from '@kaiwa/core';
import type { Tracer } from '@opentelemetry/api';
import { traceMethods } from './trace-methods.js';

const AsyncFunction = (async () => undefined).constructor;

/**
 * The same engine with a span per asynchronous operation (`engine sendMessage`) called inside a trace:
 * the step between a request or frame and the store and bus calls it causes. Arguments and results are
 * not recorded. The engine keeps its own identity for everything else (events, subscriptions, private state).
 */
export function tracedEngine(engine: ChatEngine, tracer: Tracer): ChatEngine {
  return traceMethods(engine, tracer, (operation, value) =>
    value instanceof AsyncFunction
      ? { name: `engine ${operation}`, attributes: { 'kaiwa.engine.operation': operation } }
      : undefined,
  );
}
