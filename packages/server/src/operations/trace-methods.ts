import { type Attributes, context, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { recordSpanError } from './trace-span-error.js';

/** The span one method's calls get: its name and attributes, or undefined for calls without a span. */
export type MethodSpan = { name: string; attributes: Attributes } | undefined;

/**
 * `target` behind a proxy that runs each call of an asynchronous method, inside a recording trace, in an
 * internal span that ends when the call settles; a failure is recorded on the span and thrown on. Calls
 * outside any trace, or inside one that is not sampled, get no span (and cost one check). Methods are looked
 * up and called on `target` itself, so its private fields work; a method `spanOf` gives no span is bound
 * to `target`. Arguments and results are never recorded. `spanOf` is asked once per method name.
 *
 * @example
 * const traced = traceMethods(repository, tracer, (method) => ({
 *   name: `store messages.${method}`,
 *   attributes: { 'kaiwa.store.method': method },
 * }));
 */
export function traceMethods<T extends object>(
  target: T,
  tracer: Tracer,
  spanOf: (method: string, value: (...args: unknown[]) => unknown) => MethodSpan,
): T {
  const wrappers = new Map<string, (...args: unknown[]) => unknown>();
  return new Proxy(target, {
    get(object, property) {
      // The target itself as receiver: its private fields are not on the proxy.
      const value = Reflect.get(object, property);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let wrapper = wrappers.get(property);
      if (!wrapper) {
        const method = property;
        const span = spanOf(method, value as (...args: unknown[]) => unknown);
        wrapper = span
          ? (...args: unknown[]) => {
              const current = Reflect.get(object, method) as (...callArgs: unknown[]) => Promise<unknown>;
              if (!trace.getSpan(context.active())?.isRecording()) return current.apply(object, args);
              return tracer.startActiveSpan(
                span.name,
                { kind: SpanKind.INTERNAL, attributes: span.attributes },
                async (active) => {
                  try {
                    return await current.apply(object, args);
                  } catch (error) {
                    recordSpanError(active, error);
                    throw error;
                  } finally {
                    active.end();
                  }
                },
              );
            }
          : (value.bind(object) as (...args: unknown[]) => unknown);
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
}
