import type { ChatEvent } from '../events.js';
import type { BusDelivery, BusListener } from '../ports/bus.js';

/**
 * The subscribers of one bus instance. Shared by every bus (in-process, Redis, NATS) so each delivers the
 * same way: in subscription order, and a subscriber that throws does not stop delivery to the others.
 */
export class BusListeners {
  readonly #listeners = new Set<BusListener>();
  readonly #onListenerError: (error: unknown, event: ChatEvent) => void;

  constructor(onListenerError?: (error: unknown, event: ChatEvent) => void) {
    this.#onListenerError =
      onListenerError ??
      ((error, event) => console.error(`kaiwa: bus listener failed on ${event.type}`, error));
  }

  get size(): number {
    return this.#listeners.size;
  }

  /** @returns a function that removes this listener. */
  add(listener: BusListener): () => void {
    // A wrapper makes the same function subscribed twice two subscriptions, each removed on its own.
    const entry: BusListener = (event, delivery) => listener(event, delivery);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** `delivery`: how the event came from another instance; leave it out for this instance's own events. */
  dispatch(event: ChatEvent, delivery?: BusDelivery): void {
    for (const listener of this.#listeners) {
      try {
        listener(event, delivery);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
