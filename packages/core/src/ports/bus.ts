import type { ChatEvent } from '../events.js';

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
  publish(event: ChatEvent): Promise<void>;
  /** @returns a function that removes this subscriber. */
  subscribe(listener: (event: ChatEvent) => void): () => void;
  close(): Promise<void>;
}
