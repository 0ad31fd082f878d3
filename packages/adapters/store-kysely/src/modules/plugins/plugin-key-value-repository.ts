import {
  checkPluginStorageInput,
  type JsonValue,
  type PluginKeyValueStore,
  PluginStorageQuotaError,
  pluginStorageEntryBytes,
} from '@kaiwa/core';
import { type Kysely, sql } from 'kysely';
import type { KaiwaDatabase } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';

/** What `#locked` answers when the plugin has no usage row (it has stored nothing). */
const NO_USAGE_ROW = Symbol('no usage row');

/**
 * Plugins' key-value storage on kysely. Every write runs in one transaction that first locks the plugin's usage
 * row (`UPDATE … SET bytes = bytes`: a row lock until commit on PostgreSQL and MariaDB/MySQL, SQLite's single
 * write lock there), then reads the usage and the entry it replaces, checks the quota, and writes the entry and
 * the new usage: a second writer of the same plugin, on this instance or another, waits and then sees the first
 * one's usage, so together they never pass the quota. The usage row is created (insert-once, outside the
 * transaction) at a plugin's first write; a `clear` deletes it. The same statements run on every dialect.
 */
export class KyselyPluginKeyValueStore implements PluginKeyValueStore {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async get(pluginId: string, key: string): Promise<JsonValue | undefined> {
    checkPluginStorageInput({ pluginId, key });
    const row = await this.#context.db
      .selectFrom('plugin_kv')
      .select('value')
      .where('plugin_id', '=', pluginId)
      .where('key', '=', key)
      .executeTakeFirst();
    return row === undefined ? undefined : (JSON.parse(row.value) as JsonValue);
  }

  async set(pluginId: string, key: string, value: JsonValue, options: { quotaBytes: number }): Promise<void> {
    const { quotaBytes } = options;
    const { json } = checkPluginStorageInput({ pluginId, key, value, quotaBytes });
    const bytes = pluginStorageEntryBytes(key, json);
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await this.#locked(pluginId, async (db, usage) => {
        const previous = await db
          .selectFrom('plugin_kv')
          .select('bytes')
          .where('plugin_id', '=', pluginId)
          .where('key', '=', key)
          .executeTakeFirst();
        const next = usage - (previous === undefined ? 0 : Number(previous.bytes)) + bytes;
        // A write that does not grow the usage is allowed even over a quota lowered since.
        if (next > quotaBytes && next > usage) throw new PluginStorageQuotaError(pluginId, next, quotaBytes);
        if (previous === undefined) {
          await db.insertInto('plugin_kv').values({ plugin_id: pluginId, key, value: json, bytes }).execute();
        } else {
          await db
            .updateTable('plugin_kv')
            .set({ value: json, bytes })
            .where('plugin_id', '=', pluginId)
            .where('key', '=', key)
            .execute();
        }
        await db
          .updateTable('plugin_kv_usage')
          .set({ bytes: next })
          .where('plugin_id', '=', pluginId)
          .execute();
      });
      if (outcome !== NO_USAGE_ROW) return;
      // The plugin's first write (or one right after a clear): its usage row first, then the write again.
      await this.#context.adapter.insertOnce(this.#context.db, {
        table: 'plugin_kv_usage',
        row: { plugin_id: pluginId, bytes: 0 },
        key: { name: 'plugin_kv_usage_pkey', columns: ['plugin_id'] },
      });
    }
    throw new Error(
      `plugin "${pluginId}": could not lock its storage usage row (plugin_kv_usage) in three tries: ` +
        'cleared meanwhile each time, or a MariaDB/MySQL connection without the FOUND_ROWS flag',
    );
  }

  async delete(pluginId: string, key: string): Promise<void> {
    checkPluginStorageInput({ pluginId, key });
    await this.#locked(pluginId, async (db, usage) => {
      const previous = await db
        .selectFrom('plugin_kv')
        .select('bytes')
        .where('plugin_id', '=', pluginId)
        .where('key', '=', key)
        .executeTakeFirst();
      if (previous === undefined) return;
      await db.deleteFrom('plugin_kv').where('plugin_id', '=', pluginId).where('key', '=', key).execute();
      await db
        .updateTable('plugin_kv_usage')
        .set({ bytes: usage - Number(previous.bytes) })
        .where('plugin_id', '=', pluginId)
        .execute();
    });
  }

  async list(pluginId: string, prefix = ''): Promise<string[]> {
    checkPluginStorageInput({ pluginId, prefix });
    const rows = await this.#context.db
      .selectFrom('plugin_kv')
      .select('key')
      .where('plugin_id', '=', pluginId)
      .execute();
    // Filtered and sorted here: LIKE's wildcards and case rules differ per database, and the port sorts as
    // JavaScript does (UTF-16 code units), where the databases sort by code point.
    return rows
      .map((row) => text(row.key))
      .filter((key) => key.startsWith(prefix))
      .sort();
  }

  async usage(pluginId: string): Promise<number> {
    checkPluginStorageInput({ pluginId });
    const row = await this.#context.db
      .selectFrom('plugin_kv_usage')
      .select('bytes')
      .where('plugin_id', '=', pluginId)
      .executeTakeFirst();
    return row === undefined ? 0 : Number(row.bytes);
  }

  async clear(pluginId: string): Promise<void> {
    checkPluginStorageInput({ pluginId });
    const outcome = await this.#locked(pluginId, async (db) => {
      await db.deleteFrom('plugin_kv').where('plugin_id', '=', pluginId).execute();
      await db.deleteFrom('plugin_kv_usage').where('plugin_id', '=', pluginId).execute();
    });
    // No usage row: nothing is stored (the delete only makes sure).
    if (outcome === NO_USAGE_ROW) {
      await this.#context.db.deleteFrom('plugin_kv').where('plugin_id', '=', pluginId).execute();
    }
  }

  /**
   * Runs `work` in a transaction (the caller's, when the store is bound to one) holding the lock on the
   * plugin's usage row, with the usage it records; {@link NO_USAGE_ROW} when the plugin has none.
   */
  #locked<T>(
    pluginId: string,
    work: (db: Kysely<KaiwaDatabase>, usage: number) => Promise<T>,
  ): Promise<T | typeof NO_USAGE_ROW> {
    const run = async (db: Kysely<KaiwaDatabase>) => {
      // The lock first, before anything is read: on MariaDB/MySQL the transaction's snapshot is taken by
      // its first plain read, so every read after the lock sees what the previous lock holder committed.
      // Whether it locked is told by the rows it matched, never by a later read: a row inserted after the
      // UPDATE looked would be visible to the read without being locked. (MariaDB/MySQL count matched rows
      // under mysql2's default FOUND_ROWS flag; without it every write here fails, never silently races.)
      const lock = await db
        .updateTable('plugin_kv_usage')
        .set({ bytes: sql.ref<number>('bytes') })
        .where('plugin_id', '=', pluginId)
        .executeTakeFirst();
      if (Number(lock.numUpdatedRows) === 0) return NO_USAGE_ROW;
      const row = await db
        .selectFrom('plugin_kv_usage')
        .select('bytes')
        .where('plugin_id', '=', pluginId)
        .executeTakeFirstOrThrow();
      return work(db, Number(row.bytes));
    };
    const { db } = this.#context;
    return db.isTransaction ? run(db) : db.transaction().execute(run);
  }
}

/** A key as the database hands it back: text, or on MariaDB/MySQL (VARBINARY) its UTF-8 bytes. */
function text(key: string | Uint8Array): string {
  return typeof key === 'string' ? key : Buffer.from(key).toString('utf8');
}
