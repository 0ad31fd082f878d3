import type { ChatEvent } from '../events.js';

/**
 * The W3C trace context (https://www.w3.org/TR/trace-context/) of the code that published an event, so
 * the delivery on another instance continues the same trace. Plain strings: core knows no tracing library.
 *
 * @example
 * { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }
 */
export interface BusTraceContext {
  traceparent: string;
  tracestate?: string;
}

export interface BusPublishOptions {
  /** Carried in the envelope to the other instances; ignored by buses that never leave the process. */
  traceContext?: BusTraceContext;
}

/** How an event reached this instance. */
export interface BusDelivery {
  /** Set only for events from another instance whose publisher sent a trace context. */
  traceContext?: BusTraceContext;
  /**
   * When the publishing instance sent the event, epoch milliseconds by its clock (which may differ from
   * this one's). Absent from instances older than this field.
   */
  publishedAt?: number;
}

/** A subscriber; `delivery` is absent for events this instance published itself. */
export type BusListener = (event: ChatEvent, delivery?: BusDelivery) => void;

/**
 * Carries chat events between engine instances. Every event published by any instance reaches every
 * subscriber on every instance, the publisher's own included. The default is {@link InProcessBus};
 * Redis and NATS buses are adapters.
 *
 * @example
 * const stop = bus.subscribe((event) => console.log(event.type));
 * await bus.publish({ type: 'user.created', payload: { user } });
 * stop();
 */
export interface Bus {
  publish(event: ChatEvent, options?: BusPublishOptions): Promise<void>;
  /** @returns a function that removes this subscriber. */
  subscribe(listener: BusListener): () => void;
  close(): Promise<void>;
}
