import { randomUUID } from 'node:crypto';
import {
  type BusConnectionState,
  type BusListener,
  BusListeners,
  type BusPublishOptions,
  type ChatEvent,
  decodeBusEnvelope,
  encodeBusEnvelope,
  isRoomEvent,
  type MonitoredBus,
  type RoomEvent,
} from '@kaiwa/core';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisBusConfig {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://`); or give `redis`. */
  url?: string;
  /** ioredis options, merged over the URL's. */
  redis?: RedisOptions;
  /** Pub/sub channel; instances that share it form one bus. Default `kaiwa:events`. */
  channel?: string;
  /** How long `createRedisBus` waits for the first connection. Default 10 s. */
  connectTimeoutMs?: number;
  onListenerError?: (error: unknown, event: ChatEvent) => void;
  /** An event Redis did not take (it is in the store; other instances read it after the reconnect). */
  onPublishError?: (error: unknown, event: ChatEvent) => void;
  /** Connection errors while ioredis reconnects by itself; default: ignored. */
  onConnectionError?: (error: Error) => void;
}

/** Rooms whose newest unpublished event is kept for after a reconnect. */
const MAX_UNPUBLISHED_ROOMS = 10_000;
/** Longer than ioredis's longest pause between reconnect attempts (2 s, see `retryStrategy`). */
const REPUBLISH_AGAIN_MS = 3_000;

/**
 * A bus over Redis pub/sub, for several server instances sharing one Redis. Each instance uses two
 * connections (publishing, subscribed); ioredis reconnects them by itself and resubscribes. Events travel
 * as JSON. The publisher's own subscribers get its events at once, without the round trip through Redis.
 *
 * While Redis is unreachable, publishing fails at once (the event is in the store) and the newest room
 * event of each room is kept: after the reconnect it is published again, so the other instances see a gap
 * and read the missing events from the store. Subscribers learn of reconnects through `onReconnect` and
 * resynchronise from the store.
 *
 * @example
 * const bus = await createRedisBus({ url: 'redis://127.0.0.1:6379' });
 * const engine = new ChatEngine({ store, bus });
 */
export class RedisBus implements MonitoredBus {
  /** The publishing connection; other shared state (presence, rate limits) may use it too. */
  readonly client: Redis;
  readonly channel: string;
  readonly #subscriber: Redis;
  readonly #instanceId = randomUUID();
  readonly #listeners: BusListeners;
  readonly #onPublishError: (error: unknown, event: ChatEvent) => void;
  readonly #reconnectListeners = new Set<() => void>();
  readonly #unpublished = new Map<string, RoomEvent>();
  #subscriberReadyOnce = false;
  #closed = false;

  constructor(config: RedisBusConfig) {
    this.channel = config.channel ?? 'kaiwa:events';
    this.#listeners = new BusListeners(config.onListenerError);
    this.#onPublishError = config.onPublishError ?? (() => undefined);
    const options: RedisOptions = {
      // Reconnect forever, a little slower each time, at most every 2 s.
      retryStrategy: (times) => Math.min(50 * times, 2_000),
      maxRetriesPerRequest: 1,
      ...config.redis,
    };
    const open = (extra: RedisOptions) =>
      config.url ? new Redis(config.url, { ...options, ...extra }) : new Redis({ ...options, ...extra });
    // No offline queue for publishing: a message should not hang while Redis is away.
    this.client = open({ enableOfflineQueue: false, connectionName: 'kaiwa-bus-publisher' });
    this.#subscriber = open({ connectionName: 'kaiwa-bus-subscriber' });
    const onError = config.onConnectionError ?? (() => undefined);
    this.client.on('error', onError);
    this.#subscriber.on('error', onError);
    this.client.on('ready', this.#republish);
    this.#subscriber.on('message', this.#onMessage);
    this.#subscriber.on('ready', this.#onSubscriberReady);
  }

  /** Resolves once both connections are up and subscribed; rejects after `timeoutMs`. */
  async connect(timeoutMs = 10_000): Promise<void> {
    const ready = (redis: Redis) =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis bus: no connection to Redis within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([
        Promise.all([ready(this.client), ready(this.#subscriber)]).then(() =>
          this.#subscriber.subscribe(this.channel),
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Delivers to this instance's subscribers, then hands the event to the publishing connection without
   * waiting for Redis's answer: the engine publishes in its commit loop, and one connection keeps the
   * order anyway. A failure is reported to `onPublishError` (and the room event kept for the reconnect).
   */
  async publish(event: ChatEvent, options?: BusPublishOptions): Promise<void> {
    if (this.#closed) return;
    this.#listeners.dispatch(event);
    const envelope = encodeBusEnvelope(this.#instanceId, event, options?.traceContext);
    this.client.publish(this.channel, envelope).catch((error: unknown) => {
      if (isRoomEvent(event)) this.#keepUnpublished(event);
      this.#onPublishError(error, event);
    });
  }

  subscribe(listener: BusListener): () => void {
    return this.#listeners.add(listener);
  }

  connectionState(): BusConnectionState {
    if (this.#closed) return 'closed';
    if (this.client.status === 'ready' && this.#subscriber.status === 'ready') return 'connected';
    return this.#subscriberReadyOnce ? 'reconnecting' : 'connecting';
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => {
      this.#reconnectListeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#reconnectListeners.clear();
    this.#subscriber.removeAllListeners('message');
    await Promise.all([quit(this.client), quit(this.#subscriber)]);
  }

  readonly #onMessage = (channel: string, text: string): void => {
    if (channel !== this.channel || this.#closed) return;
    const envelope = decodeBusEnvelope(text, this.#instanceId);
    if (!envelope || envelope.origin === this.#instanceId) return;
    this.#listeners.dispatch(envelope.event, envelope.delivery);
  };

  readonly #onSubscriberReady = (): void => {
    if (!this.#subscriberReadyOnce) {
      this.#subscriberReadyOnce = true;
      return;
    }
    // ioredis sends the SUBSCRIBE again on ready; a PING answered after it means it is in force.
    this.#subscriber
      .ping()
      .catch(() => undefined)
      .then(() => {
        if (this.#closed) return;
        for (const listener of this.#reconnectListeners) listener();
      });
  };

  #keepUnpublished(event: RoomEvent): void {
    const kept = this.#unpublished.get(event.roomId);
    if (kept && kept.seq >= event.seq) return;
    this.#unpublished.delete(event.roomId);
    if (this.#unpublished.size >= MAX_UNPUBLISHED_ROOMS) {
      const oldest = this.#unpublished.keys().next().value;
      if (oldest !== undefined) this.#unpublished.delete(oldest);
    }
    this.#unpublished.set(event.roomId, event);
  }

  readonly #republish = (): void => {
    if (this.#unpublished.size === 0) return;
    const events = [...this.#unpublished.values()];
    this.#unpublished.clear();
    const send = () => {
      if (this.#closed) return;
      for (const event of events) {
        this.client
          .publish(this.channel, encodeBusEnvelope(this.#instanceId, event))
          .catch(() => this.#keepUnpublished(event));
      }
    };
    send();
    // Again once the others have surely resubscribed too (they retry at least every 2 s); a receiver
    // drops what it already has by its sequence number.
    setTimeout(send, REPUBLISH_AGAIN_MS).unref();
  };
}

/**
 * Opens a {@link RedisBus} and waits until it is connected and subscribed.
 *
 * @example
 * const bus = await createRedisBus({ url: process.env.KAIWA_BUS_URL, channel: 'kaiwa:prod' });
 */
export async function createRedisBus(config: RedisBusConfig): Promise<RedisBus> {
  const bus = new RedisBus(config);
  try {
    await bus.connect(config.connectTimeoutMs);
  } catch (error) {
    await bus.close();
    throw error;
  }
  return bus;
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
