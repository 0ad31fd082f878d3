import { type Bus, isMonitoredBus, type MonitoredBus } from '@kaiwa/core';
import type { ServerMetrics } from './server-metrics.js';

/**
 * The same bus, counted: events this instance publishes (by outcome) and events delivered to it. The
 * delivery count comes from one subscription of its own, so it counts each event once however many
 * listeners this instance has.
 */
export function instrumentBus(bus: Bus, metrics: ServerMetrics): Bus {
  const unsubscribe = bus.subscribe(() => metrics.busDelivered.inc());
  const counted: Bus = {
    async publish(event, options) {
      try {
        await bus.publish(event, options);
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
  if (!isMonitoredBus(bus)) return counted;
  // A networked bus stays one: the engine and the realtime server resynchronise from the store on its
  // reconnects, and /ready reads its state. Dropping these would lose what was sent while it was away.
  const monitored: MonitoredBus = {
    ...counted,
    connectionState: () => bus.connectionState(),
    onReconnect: (listener) => bus.onReconnect(listener),
  };
  return monitored;
}
