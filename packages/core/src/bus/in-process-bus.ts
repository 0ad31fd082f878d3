import type { ChatEvent } from '../events.js';
import type { Bus, BusListener } from '../ports/bus.js';
import { BusListeners } from './bus-listeners.js';

/**
 * The default bus: delivers synchronously to the subscribers of this process. A subscriber that throws
 * does not stop delivery to the others; its error goes to `onListenerError`.
 */
export class InProcessBus implements Bus {
  readonly #listeners: BusListeners;

  constructor(options: { onListenerError?: (error: unknown, event: ChatEvent) => void } = {}) {
    this.#listeners = new BusListeners(options.onListenerError);
  }

  async publish(event: ChatEvent): Promise<void> {
    this.#listeners.dispatch(event);
  }

  subscribe(listener: BusListener): () => void {
    return this.#listeners.add(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}
