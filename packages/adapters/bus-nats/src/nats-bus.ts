import { randomUUID } from 'node:crypto';
import {
  type BusConnectionState,
  type BusListener,
  BusListeners,
  type BusPublishOptions,
  type ChatEvent,
  decodeBusEnvelope,
  encodeBusEnvelope,
  type MonitoredBus,
} from '@kaiwa/core';
import {
  connect,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from '@nats-io/transport-node';

export interface NatsBusConfig {
  /** `nats://host:port`, or several for a cluster. Ignored when `connection` is given. */
  servers?: string | string[];
  /** Further connection options (credentials, TLS, name…). */
  options?: Omit<NodeConnectionOptions, 'servers'>;
  /** Subject; instances that share it form one bus. Default `kaiwa.events`. */
  subject?: string;
  onListenerError?: (error: unknown, event: ChatEvent) => void;
  /** Asynchronous errors the client reports while it reconnects by itself; default: ignored. */
  onConnectionError?: (error: Error) => void;
}

/**
 * A bus over NATS core pub/sub (no JetStream needed). One connection per instance, reconnecting forever;
 * events travel as JSON on one subject. The publisher's own subscribers get its events at once. While the
 * server is away, nats.js keeps what is published in its reconnect buffer and sends it after; subscribers
 * learn of the reconnect through `onReconnect` and resynchronise from the store for anything missed.
 *
 * @example
 * const bus = await createNatsBus({ servers: 'nats://127.0.0.1:4222' });
 * const engine = new ChatEngine({ store, bus });
 */
export class NatsBus implements MonitoredBus {
  /** The connection; presence in NATS KV may share it. */
  readonly connection: NatsConnection;
  readonly subject: string;
  readonly #subscription: Subscription;
  readonly #instanceId = randomUUID();
  readonly #listeners: BusListeners;
  readonly #reconnectListeners = new Set<() => void>();
  readonly #onConnectionError: (error: Error) => void;
  #state: BusConnectionState = 'connected';
  #closing: Promise<void> | undefined;

  constructor(connection: NatsConnection, config: NatsBusConfig = {}) {
    this.connection = connection;
    this.subject = config.subject ?? 'kaiwa.events';
    this.#listeners = new BusListeners(config.onListenerError);
    this.#onConnectionError = config.onConnectionError ?? (() => undefined);
    const decoder = new TextDecoder();
    this.#subscription = connection.subscribe(this.subject, {
      callback: (error, message) => {
        if (error || this.#closing) return;
        const envelope = decodeBusEnvelope(decoder.decode(message.data), this.#instanceId);
        if (!envelope || envelope.origin === this.#instanceId) return;
        this.#listeners.dispatch(envelope.event, envelope.delivery);
      },
    });
    void this.#watchStatus();
  }

  async publish(event: ChatEvent, options?: BusPublishOptions): Promise<void> {
    if (this.#closing) return;
    this.#listeners.dispatch(event);
    this.connection.publish(this.subject, encodeBusEnvelope(this.#instanceId, event, options?.traceContext));
  }

  subscribe(listener: BusListener): () => void {
    return this.#listeners.add(listener);
  }

  connectionState(): BusConnectionState {
    return this.#closing ? 'closed' : this.#state;
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => {
      this.#reconnectListeners.delete(listener);
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#listeners.clear();
      this.#reconnectListeners.clear();
      this.#subscription.unsubscribe();
      if (!this.connection.isClosed()) await this.connection.drain().catch(() => this.connection.close());
    })();
    return this.#closing;
  }

  async #watchStatus(): Promise<void> {
    for await (const status of this.connection.status()) {
      switch (status.type) {
        case 'disconnect':
        case 'reconnecting':
          this.#state = 'reconnecting';
          break;
        case 'reconnect':
          this.#state = 'connected';
          // A round trip after the reconnect means the server has our subscription again.
          this.connection
            .flush()
            .catch(() => undefined)
            .then(() => {
              if (this.#closing) return;
              for (const listener of this.#reconnectListeners) listener();
            });
          break;
        case 'error':
          this.#onConnectionError(status.error);
          break;
        case 'close':
          this.#state = 'closed';
          return;
        default:
          break;
      }
    }
  }
}

/**
 * Connects to NATS (reconnecting forever) and opens a {@link NatsBus} on it; closing the bus closes the
 * connection.
 *
 * @example
 * const bus = await createNatsBus({ servers: ['nats://10.0.0.5:4222', 'nats://10.0.0.6:4222'] });
 */
export async function createNatsBus(config: NatsBusConfig): Promise<NatsBus> {
  const connection = await connect({
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: false,
    ...config.options,
    servers: config.servers ?? 'nats://127.0.0.1:4222',
  });
  const bus = new NatsBus(connection, config);
  // A round trip: the server has the subscription before anyone is told the bus is ready.
  await connection.flush();
  return bus;
}
