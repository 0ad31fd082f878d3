import { type Bus, isMonitoredBus, type MonitoredBus } from '@kaiwa/core';
import type { ServerMetrics } from './server-metrics.js';
import type { BusSystem } from './trace-bus.js';

/**
 * The same bus, counted: events this instance publishes (by outcome) and events delivered to it, and for
 * events from other instances the delivery lag (by `kind`, the bus kind). The delivery count comes from one
 * subscription of its own, so it counts each event once however many listeners this instance has. A
 * publish time ahead of this clock (clock skew between hosts) counts as no lag, and in
 * `kaiwa_bus_delivery_clock_skew_total`.
 *
 * @example
 * const bus = instrumentBus(await createRedisBus({ url }), metrics, 'redis');
 */
export function instrumentBus(bus: Bus, metrics: ServerMetrics, kind: BusSystem): Bus {
  const labels = { kind };
  // From the start, so that rate() and histogram_quantile() see the series before the first delivery.
  metrics.busDeliveryLag.zero(labels);
  metrics.busDeliveryClockSkew.inc(labels, 0);
  const unsubscribe = bus.subscribe((_event, delivery) => {
    metrics.busDelivered.inc();
    if (delivery?.publishedAt === undefined) return;
    const lagMs = Date.now() - delivery.publishedAt;
    if (lagMs < 0) metrics.busDeliveryClockSkew.inc(labels);
    metrics.busDeliveryLag.observe(labels, Math.max(0, lagMs) / 1000);
  });
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
