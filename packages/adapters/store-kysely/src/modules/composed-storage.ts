import type { StoreDialect } from '@kaiwa/core';
import { type Kysely, sql } from 'kysely';
import type { KaiwaDatabase } from '../database.js';
import { createStoreDialectAdapter, type StoreDialectAdapter } from '../dialect/index.js';
import { migrateToLatest } from '../migrations/index.js';
import { PreparedQueries } from '../prepared-queries.js';
import type { SearchIndexOptions, SqliteSearchIndex } from '../search-index.js';
import type { RepositoryContext } from './repository-context.js';
import { checkStorageModules, type KyselyStorageModule } from './storage-module.js';

/** Savepoints inside one open transaction (see `StoreTransaction.savepoint` in core). */
export interface StorageSavepoints {
  /**
   * Runs `work` inside a savepoint: when it throws, only its writes are rolled back and the error is
   * rethrown; the transaction goes on.
   *
   * @example
   * await storage.transaction(async (tx) => { await tx.savepoint(() => tx.audit.append(entry, seal)).catch(log); });
   */
  savepoint<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * The machinery shared by every store composed of storage modules: the dialect adapter chosen once, the
 * compiled hot queries, SQLite's deferred search indexer (only when a module writes through it), the
 * modules' repositories on a connection or a transaction, their migrations, and closing. The stores
 * (`KyselyChatStore`, `createKyselyStorage`) hand out what it builds.
 */
export class ComposedStorage<Repositories extends object> {
  readonly dialect: StoreDialect;
  readonly db: Kysely<KaiwaDatabase>;
  readonly modules: readonly KyselyStorageModule[];
  readonly #adapter: StoreDialectAdapter;
  readonly #prepared = new PreparedQueries();
  readonly #searchIndex: SqliteSearchIndex | undefined;
  #closing: Promise<void> | undefined;

  /** @throws Error when a module is composed twice or without a module it requires. */
  constructor(options: {
    db: Kysely<KaiwaDatabase>;
    dialect: StoreDialect;
    modules: readonly KyselyStorageModule[];
    searchIndex?: SearchIndexOptions | undefined;
  }) {
    checkStorageModules(options.modules);
    this.db = options.db;
    this.dialect = options.dialect;
    this.modules = options.modules;
    // The one place that asks which database this is: everything that differs goes through the adapter.
    this.#adapter = createStoreDialectAdapter(options.dialect);
    this.#searchIndex = options.modules.some((module) => module.usesDeferredSearchIndex)
      ? this.#adapter.deferredSearchIndex(options.db, options.searchIndex)
      : undefined;
  }

  /**
   * Every module's repositories bound to `db`: the root connection, a transaction, or a replica connection
   * (which brings its own prepared queries).
   */
  repositoriesOn(db: Kysely<KaiwaDatabase>, prepared: PreparedQueries = this.#prepared): Repositories {
    const context: RepositoryContext = {
      db,
      adapter: this.#adapter,
      prepared,
      searchIndex: this.#searchIndex,
    };
    return Object.assign({}, ...this.modules.map((module) => module.repositories(context))) as Repositories;
  }

  transaction<T>(work: (tx: Repositories & StorageSavepoints) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => {
      const repositories = this.repositoriesOn(trx);
      let depth = 0;
      const savepoint = async <R>(inner: () => Promise<R>): Promise<R> => {
        // Nested savepoints get their own names; the SQL is the same on all three databases.
        const name = sql.raw(`kaiwa_savepoint_${depth++}`);
        await sql`savepoint ${name}`.execute(trx);
        try {
          const result = await inner();
          await sql`release savepoint ${name}`.execute(trx);
          return result;
        } catch (error) {
          await sql`rollback to savepoint ${name}`.execute(trx);
          await sql`release savepoint ${name}`.execute(trx);
          throw error;
        } finally {
          depth--;
        }
      };
      return work({ ...repositories, savepoint });
    });
  }

  async flushSearchIndex(): Promise<number> {
    return (await this.#searchIndex?.flush()) ?? 0;
  }

  /** Runs the migrations of the composed modules that have not run yet. */
  migrate(): Promise<{ applied: string[] }> {
    return migrateToLatest(this.db, this.dialect, this.modules);
  }

  /** Stops the search indexer, then destroys `db` and `alsoDestroy` (a replica connection); once. */
  close(alsoDestroy?: Kysely<KaiwaDatabase>): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.#searchIndex?.close();
      } finally {
        await Promise.all([this.db.destroy(), alsoDestroy?.destroy()]);
      }
    })();
    return this.#closing;
  }
}
