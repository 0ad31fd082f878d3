import type { Bus } from '../ports/bus.js';

/** Where a networked bus stands with its server. */
export type BusConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/**
 * A bus that crosses the network (Redis, NATS) and can lose events while it is disconnected. Whoever
 * delivers events from it resynchronises from the store on `onReconnect`: the store has every room
 * event, the bus only says that there is one.
 *
 * @example
 * if (isMonitoredBus(bus)) bus.onReconnect(() => subscriptions.forEach((s) => s.resync()));
 */
export interface MonitoredBus extends Bus {
  /**
   * @example
   * if (bus.connectionState() !== 'connected') reply.code(503);
   */
  connectionState(): BusConnectionState;
  /**
   * Called each time the bus is subscribed again after losing its connection; events published
   * meanwhile by other instances may have been missed.
   *
   * @example
   * const stop = bus.onReconnect(() => log.info('bus back'));
   */
  onReconnect(listener: () => void): () => void;
}

export function isMonitoredBus(bus: Bus): bus is MonitoredBus {
  const candidate = bus as Partial<MonitoredBus>;
  return typeof candidate.connectionState === 'function' && typeof candidate.onReconnect === 'function';
}
