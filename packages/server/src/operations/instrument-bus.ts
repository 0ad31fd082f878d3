import type { Bus } from '@kaiwa/core';
import type { ServerMetrics } from './server-metrics.js';

/**
 * The same bus, counted: events this instance publishes (by outcome) and events delivered to it. The
 * delivery count comes from one subscription of its own, so it counts each event once however many
 * listeners this instance has.
 */
export function instrumentBus(bus: Bus, metrics: ServerMetrics): Bus {
  const unsubscribe = bus.subscribe(() => metrics.busDelivered.inc());
  return {
    async publish(event) {
      try {
        await bus.publish(event);
      } catch (error) {
        metrics.busPublished.inc({ outcome: 'error' });
        throw error;
      }
      metrics.busPublished.inc({ outcome: 'ok' });
    },
    subscribe: (listener) => bus.subscribe(listener),
    async close() {
      unsubscribe();
      await bus.close();
    },
  };
}
