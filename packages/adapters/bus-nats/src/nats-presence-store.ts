import {
  InMemoryPresenceStore,
  type PresenceEntry,
  type PresenceStatus,
  type PresenceStore,
} from '@kaiwa/core';
import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';

export interface NatsPresenceStoreConfig {
  /** The connection (for example `NatsBus.connection`); it is left open on close. JetStream must be on. */
  connection: NatsConnection;
  /** KV bucket; default `kaiwa_presence`. */
  bucket?: string;
  /** How long the bucket keeps an entry nobody rewrites; longer than any announce's ttl. Default 120 s. */
  bucketTtlMs?: number;
}

interface Entry {
  status: PresenceEntry['status'];
  expiresAt: number;
}

/**
 * Presence in a NATS KV bucket: one key `<user>.<instance>` per user and instance, whose value says until
 * when it holds. Every instance watches the bucket and answers from its own copy, so a query costs no
 * round trip; expired entries (of an instance that died) are ignored.
 *
 * @example
 * const presence = await createNatsPresenceStore({ connection: bus.connection });
 */
export class NatsPresenceStore implements PresenceStore {
  readonly #kv: KV;
  /** This instance's copy of the bucket, kept by the watch. */
  readonly #local = new InMemoryPresenceStore();
  #stopWatching: (() => void) | undefined;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  static async open(config: NatsPresenceStoreConfig): Promise<NatsPresenceStore> {
    const kv = await new Kvm(config.connection).create(config.bucket ?? 'kaiwa_presence', {
      history: 1,
      ttl: config.bucketTtlMs ?? 120_000,
    });
    const store = new NatsPresenceStore(kv);
    await store.#watch();
    return store;
  }

  async announce(instanceId: string, entries: readonly PresenceEntry[], ttlMs: number): Promise<void> {
    const expiresAt = Date.now() + ttlMs;
    await Promise.all(
      entries.map(({ userId, status }) => {
        this.#remember(userId, instanceId, { status, expiresAt });
        return this.#kv.put(keyOf(userId, instanceId), JSON.stringify({ status, expiresAt }));
      }),
    );
  }

  async withdraw(instanceId: string, userId: string): Promise<void> {
    void this.#local.withdraw(instanceId, userId);
    await this.#kv.delete(keyOf(userId, instanceId));
  }

  statuses(userIds: readonly string[]): Promise<Record<string, PresenceStatus>> {
    return this.#local.statuses(userIds);
  }

  async close(): Promise<void> {
    this.#stopWatching?.();
    await this.#local.close();
  }

  async #watch(): Promise<void> {
    const watcher = await this.#kv.watch({ key: '>' });
    this.#stopWatching = () => watcher.stop();
    void (async () => {
      for await (const change of watcher) {
        const [userId, instanceId] = splitKey(change.key);
        if (!userId || !instanceId) continue;
        if (change.operation !== 'PUT') {
          void this.#local.withdraw(instanceId, userId);
          continue;
        }
        try {
          this.#remember(userId, instanceId, JSON.parse(change.string()) as Entry);
        } catch {
          // Not ours: ignore.
        }
      }
    })();
  }

  /** The in-memory store settles at once (its methods only look async), so the copy is current on return. */
  #remember(userId: string, instanceId: string, { status, expiresAt }: Entry): void {
    void this.#local.announce(instanceId, [{ userId, status }], expiresAt - Date.now());
  }
}

/**
 * @example
 * const presence = await createNatsPresenceStore({ connection: bus.connection });
 */
export function createNatsPresenceStore(config: NatsPresenceStoreConfig): Promise<NatsPresenceStore> {
  return NatsPresenceStore.open(config);
}

function keyOf(userId: string, instanceId: string): string {
  return `${userId}.${instanceId}`;
}

function splitKey(key: string): [string | undefined, string | undefined] {
  const dot = key.indexOf('.');
  return dot < 0 ? [undefined, undefined] : [key.slice(0, dot), key.slice(dot + 1)];
}
