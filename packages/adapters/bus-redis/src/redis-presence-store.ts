import { type PresenceEntry, type PresenceStatus, type PresenceStore, strongestPresence } from '@kaiwa/core';
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisPresenceStoreConfig {
  /** A connection to share (for example `RedisBus.client`); it is left open on close. */
  client?: Redis;
  /** Otherwise a connection of its own: `redis://…`, with `redis` options merged over it. */
  url?: string;
  redis?: RedisOptions;
  /** Key prefix; default `kaiwa:presence:`. */
  prefix?: string;
}

/**
 * Presence in Redis: one sorted set per user, whose members are `instance|status` scored by the time the
 * entry expires. Reading ignores expired members, so users of an instance that died go offline after
 * one time to live; writes also prune them, and the key itself expires when nobody refreshes it.
 *
 * @example
 * const presence = createRedisPresenceStore({ client: bus.client });
 */
export class RedisPresenceStore implements PresenceStore {
  readonly #client: Redis;
  readonly #ownsClient: boolean;
  readonly #prefix: string;

  constructor(config: RedisPresenceStoreConfig) {
    this.#prefix = config.prefix ?? 'kaiwa:presence:';
    if (config.client) {
      this.#client = config.client;
      this.#ownsClient = false;
    } else {
      const options: RedisOptions = { maxRetriesPerRequest: 1, ...config.redis };
      this.#client = config.url ? new Redis(config.url, options) : new Redis(options);
      this.#client.on('error', () => undefined);
      this.#ownsClient = true;
    }
  }

  async announce(instanceId: string, entries: readonly PresenceEntry[], ttlMs: number): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const pipeline = this.#client.pipeline();
    for (const { userId, status } of entries) {
      const key = this.#key(userId);
      pipeline.zremrangebyscore(key, '-inf', now);
      pipeline.zrem(key, `${instanceId}|online`, `${instanceId}|away`);
      pipeline.zadd(key, now + ttlMs, `${instanceId}|${status}`);
      // Equal times to live everywhere: the latest refresh always sets the latest expiry.
      pipeline.pexpire(key, ttlMs);
    }
    await execute(pipeline);
  }

  async withdraw(instanceId: string, userId: string): Promise<void> {
    await this.#client.zrem(this.#key(userId), `${instanceId}|online`, `${instanceId}|away`);
  }

  async statuses(userIds: readonly string[]): Promise<Record<string, PresenceStatus>> {
    const result: Record<string, PresenceStatus> = {};
    if (userIds.length === 0) return result;
    const now = Date.now();
    const pipeline = this.#client.pipeline();
    for (const userId of userIds) pipeline.zrangebyscore(this.#key(userId), `(${now}`, '+inf');
    const answers = await execute(pipeline);
    userIds.forEach((userId, index) => {
      const members = (answers[index] ?? []) as string[];
      result[userId] = strongestPresence(
        members.map((member) => member.slice(member.lastIndexOf('|') + 1) as PresenceStatus),
      );
    });
    return result;
  }

  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    await this.#client.quit().catch(() => this.#client.disconnect());
  }

  #key(userId: string): string {
    return `${this.#prefix}${userId}`;
  }
}

/**
 * @example
 * const presence = createRedisPresenceStore({ url: 'redis://127.0.0.1:6379' });
 */
export function createRedisPresenceStore(config: RedisPresenceStoreConfig): RedisPresenceStore {
  return new RedisPresenceStore(config);
}

async function execute(pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
  const answers = (await pipeline.exec()) ?? [];
  return answers.map(([error, value]) => {
    if (error) throw error;
    return value;
  });
}
