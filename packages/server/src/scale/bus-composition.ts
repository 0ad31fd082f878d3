import {
  type Bus,
  type ChatEvent,
  InMemoryPresenceStore,
  InProcessBus,
  type PresenceStore,
} from '@kaiwa/core';
import type { BusSettings } from '../config.js';

/** What the server shares with its sibling instances. */
export interface SharedState {
  bus: Bus;
  presence: PresenceStore;
  /** The Redis connection for @fastify/rate-limit's shared counters, when the bus is Redis. */
  rateLimitRedis: unknown;
  /** For /ready and logs: `memory`, `redis` or `nats`, and whether it is connected now. */
  status(): { kind: BusSettings['kind']; connected: boolean };
  close(): Promise<void>;
}

export interface SharedStateLogger {
  error(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/**
 * Opens the bus the settings name, with the presence store that goes with it: in-process for one
 * instance, Redis pub/sub with presence in Redis keys, or NATS with presence in a NATS KV bucket (needs
 * JetStream; without it presence stays per instance and a warning is logged). The Redis and NATS adapters
 * (ioredis, the NATS client) are imported only when the settings name them.
 *
 * @example
 * const shared = await openSharedState(config.bus, app.log);
 * const engine = new ChatEngine({ store, bus: shared.bus });
 */
export async function openSharedState(
  settings: BusSettings,
  logger: SharedStateLogger,
): Promise<SharedState> {
  const onListenerError = (error: unknown, event: ChatEvent) =>
    logger.error({ err: error, event: event.type }, 'event listener failed');
  switch (settings.kind) {
    case 'memory': {
      const bus = new InProcessBus({ onListenerError });
      const presence = new InMemoryPresenceStore();
      return {
        bus,
        presence,
        rateLimitRedis: undefined,
        status: () => ({ kind: 'memory', connected: true }),
        close: async () => {
          await bus.close();
          await presence.close();
        },
      };
    }
    case 'redis': {
      const { createRedisBus, createRedisPresenceStore } = await import('@kaiwa/bus-redis');
      // During an outage every attempt and every event fails; one line of each every 5 s is enough.
      const throttled = (what: string) => {
        let last = 0;
        return (error: unknown) => {
          if (Date.now() - last < 5_000) return;
          last = Date.now();
          logger.warn({ err: error }, what);
        };
      };
      const bus = await createRedisBus({
        url: settings.url,
        channel: `${settings.channel}:events`,
        onListenerError,
        onConnectionError: throttled('redis bus connection failed; reconnecting'),
        onPublishError: throttled(
          'redis bus could not publish; other instances read it from the store later',
        ),
      });
      const presence = createRedisPresenceStore({
        client: bus.client,
        prefix: `${settings.channel}:presence:`,
      });
      return {
        bus,
        presence,
        rateLimitRedis: bus.client,
        status: () => ({ kind: 'redis', connected: bus.connectionState() === 'connected' }),
        close: async () => {
          await presence.close();
          await bus.close();
        },
      };
    }
    case 'nats': {
      const { createNatsBus, createNatsPresenceStore } = await import('@kaiwa/bus-nats');
      const bus = await createNatsBus({
        servers: (settings.url ?? '').split(',').map((server) => server.trim()),
        subject: `${settings.channel}.events`,
        onListenerError,
        onConnectionError: (error) => logger.warn({ err: error }, 'nats bus connection error'),
      });
      let presence: PresenceStore;
      try {
        presence = await createNatsPresenceStore({
          connection: bus.connection,
          bucket: `${settings.channel}_presence`,
        });
      } catch (error) {
        logger.warn({ err: error }, 'NATS KV unavailable (is JetStream on?); presence stays per instance');
        presence = new InMemoryPresenceStore();
      }
      return {
        bus,
        presence,
        rateLimitRedis: undefined,
        status: () => ({ kind: 'nats', connected: bus.connectionState() === 'connected' }),
        close: async () => {
          await presence.close();
          await bus.close();
        },
      };
    }
  }
}
