import type { ChatEvent } from '../events.js';

/**
 * The subscribers of one bus instance. Shared by every bus (in-process, Redis, NATS) so each delivers the
 * same way: in subscription order, and a subscriber that throws does not stop delivery to the others.
 */
export class BusListeners {
  readonly #listeners = new Set<(event: ChatEvent) => void>();
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
  add(listener: (event: ChatEvent) => void): () => void {
    // A wrapper makes the same function subscribed twice two subscriptions, each removed on its own.
    const entry = (event: ChatEvent) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  dispatch(event: ChatEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
