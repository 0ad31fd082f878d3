import type { ChatEvent } from '../events.js';
import type { Bus } from '../ports/bus.js';

/**
 * The default bus: delivers synchronously to the subscribers of this process. A subscriber that throws
 * does not stop delivery to the others; its error goes to `onListenerError`.
 */
export class InProcessBus implements Bus {
  readonly #listeners = new Set<(event: ChatEvent) => void>();
  readonly #onListenerError: (error: unknown, event: ChatEvent) => void;

  constructor(options: { onListenerError?: (error: unknown, event: ChatEvent) => void } = {}) {
    this.#onListenerError =
      options.onListenerError ??
      ((error, event) => console.error(`kaiwa: bus listener failed on ${event.type}`, error));
  }

  async publish(event: ChatEvent): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#onListenerError(error, event);
      }
    }
  }

  subscribe(listener: (event: ChatEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
