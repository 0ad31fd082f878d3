import { type PresenceEntry, type PresenceStatus, type PresenceStore, strongestPresence } from '@kaiwa/core';
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
  readonly #entries = new Map<string, Map<string, Entry>>();
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
    this.#forget(userId, instanceId);
    await this.#kv.delete(keyOf(userId, instanceId));
  }

  async statuses(userIds: readonly string[]): Promise<Record<string, PresenceStatus>> {
    const now = Date.now();
    const result: Record<string, PresenceStatus> = {};
    for (const userId of userIds) {
      const live: PresenceStatus[] = [];
      for (const entry of this.#entries.get(userId)?.values() ?? []) {
        if (entry.expiresAt > now) live.push(entry.status);
      }
      result[userId] = strongestPresence(live);
    }
    return result;
  }

  async close(): Promise<void> {
    this.#stopWatching?.();
    this.#entries.clear();
  }

  async #watch(): Promise<void> {
    const watcher = await this.#kv.watch({ key: '>' });
    this.#stopWatching = () => watcher.stop();
    void (async () => {
      for await (const change of watcher) {
        const [userId, instanceId] = splitKey(change.key);
        if (!userId || !instanceId) continue;
        if (change.operation !== 'PUT') {
          this.#forget(userId, instanceId);
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

  #remember(userId: string, instanceId: string, entry: Entry): void {
    let byInstance = this.#entries.get(userId);
    if (!byInstance) {
      byInstance = new Map();
      this.#entries.set(userId, byInstance);
    }
    byInstance.set(instanceId, entry);
  }

  #forget(userId: string, instanceId: string): void {
    const byInstance = this.#entries.get(userId);
    byInstance?.delete(instanceId);
    if (byInstance?.size === 0) this.#entries.delete(userId);
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
