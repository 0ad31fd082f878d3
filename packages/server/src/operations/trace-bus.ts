import {
  type Bus,
  type BusDelivery,
  type BusListener,
  type BusPublishOptions,
  type BusTraceContext,
  type ChatEvent,
  isMonitoredBus,
  type MonitoredBus,
} from '@kaiwa/core';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { recordSpanError } from './trace-span-error.js';

/** The publish options with the W3C headers of `active`, as the bus envelope carries them. */
function withTraceContext(
  options: BusPublishOptions | undefined,
  active: Context,
): BusPublishOptions | undefined {
  const carrier: Partial<BusTraceContext> = {};
  propagation.inject(active, carrier);
  if (!carrier.traceparent) return options;
  const traceContext: BusTraceContext = carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
  return { ...options, traceContext };
}

/** `messaging.system` of the spans: the bus kind (KAIWA_BUS). */
export type BusSystem = 'memory' | 'redis' | 'nats';

/**
 * The same bus, traced across instances. Publishing inside a trace makes a producer span
 * (`bus publish message.created`) whose W3C context travels in the bus envelope; another instance
 * delivers the event to all its subscribers inside one consumer span (`bus deliver message.created`), a
 * child of that producer span, so what the delivery causes there (store reads, WebSocket fan-out) joins
 * the sender's trace. Events published outside a trace, and this instance's own events, pass as before.
 */
export function tracedBus(bus: Bus, tracer: Tracer, system: BusSystem): Bus {
  const listeners = new Set<BusListener>();
  let unsubscribe: (() => void) | undefined;
  const dispatch = (event: ChatEvent, delivery: BusDelivery | undefined) => {
    const failures: unknown[] = [];
    for (const listener of listeners) {
      try {
        listener(event, delivery);
      } catch (error) {
        failures.push(error);
      }
    }
    // The inner bus reports what a listener throws (onListenerError).
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} bus listeners failed`);
  };
  const deliver: BusListener = (event, delivery) => {
    if (!delivery?.traceContext) return dispatch(event, delivery);
    const parent = propagation.extract(ROOT_CONTEXT, delivery.traceContext);
    const span = tracer.startSpan(
      `bus deliver ${event.type}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': system,
          'messaging.operation.type': 'process',
          'kaiwa.event.type': event.type,
        },
      },
      parent,
    );
    try {
      context.with(trace.setSpan(parent, span), () => dispatch(event, delivery));
    } catch (error) {
      recordSpanError(span, error);
      throw error;
    } finally {
      span.end();
    }
  };
  const traced: Bus = {
    async publish(event, options) {
      const active = context.active();
      const parent = trace.getSpan(active);
      if (!parent) return bus.publish(event, options);
      if (!parent.isRecording()) {
        // A trace that is not sampled: no span here, but the other instances hear that it is not.
        return bus.publish(event, withTraceContext(options, active));
      }
      const span = tracer.startSpan(
        `bus publish ${event.type}`,
        {
          kind: SpanKind.PRODUCER,
          attributes: {
            'messaging.system': system,
            'messaging.operation.type': 'send',
            'kaiwa.event.type': event.type,
          },
        },
        active,
      );
      const spanContext = trace.setSpan(active, span);
      try {
        await context.with(spanContext, () => bus.publish(event, withTraceContext(options, spanContext)));
      } catch (error) {
        recordSpanError(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
    subscribe(listener) {
      // A wrapper makes the same function subscribed twice two subscriptions, as on every bus.
      const entry: BusListener = (event, delivery) => listener(event, delivery);
      listeners.add(entry);
      unsubscribe ??= bus.subscribe(deliver);
      return () => {
        listeners.delete(entry);
      };
    },
    async close() {
      unsubscribe?.();
      listeners.clear();
      await bus.close();
    },
  };
  if (!isMonitoredBus(bus)) return traced;
  const monitored: MonitoredBus = {
    ...traced,
    connectionState: () => bus.connectionState(),
    onReconnect: (listener) => bus.onReconnect(listener),
  };
  return monitored;
}
