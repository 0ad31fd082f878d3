import type { StoreDialect } from '@kaiwa/core';
import type { Kysely } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { ComposedStorage, type StorageSavepoints } from './modules/composed-storage.js';
import type { KyselyStorageModule, RepositoriesOf } from './modules/storage-module.js';
import type { SearchIndexOptions } from './search-index.js';

export interface KyselyStorageOptions<Modules extends readonly KyselyStorageModule[]> {
  /** A kysely instance on one of the supported dialects; the storage destroys it on `close()`. */
  db: Kysely<KaiwaDatabase>;
  /** Which SQL dialect `db` speaks. */
  dialect: StoreDialect;
  /** The storage modules to compose, each with the modules it requires. */
  modules: Modules;
  /** SQLite with the chat module only: tuning of the deferred full-text indexer. */
  searchIndex?: SearchIndexOptions;
}

/**
 * Storage made of some storage modules: their repositories, transactions over them, and their migrations.
 * `KyselyChatStore` is the same made of every module, with the rest of the `ChatStore` port.
 */
export type KyselyStorage<Repositories extends object> = Repositories & {
  readonly dialect: StoreDialect;
  /** The kysely instance underneath. */
  readonly db: Kysely<KaiwaDatabase>;
  /** The names of the composed modules, in the order given. */
  readonly modules: readonly string[];
  /** Runs `work` in one transaction: it commits when `work` resolves and rolls back when it throws. */
  transaction<T>(work: (tx: Repositories & StorageSavepoints) => Promise<T>): Promise<T>;
  /** Runs the migrations of the composed modules that have not run yet, and names them. */
  migrate(): Promise<{ applied: string[] }>;
  /** SQLite with the chat module: indexes the messages still waiting for search; 0 elsewhere. */
  flushSearchIndex(): Promise<number>;
  /** Closes the connection; the storage is unusable afterwards. */
  close(): Promise<void>;
};

/**
 * Storage of only the modules you name, for a service that needs, say, the audit log but no workflows: it
 * has exactly their repositories, and `migrate()` creates only their tables. A database belongs to one
 * composition: another store whose modules differ cannot migrate it (kysely's Migrator finds migrations
 * it does not know), but modules may be added later, and their migrations then run. Prefer
 * `createKyselyChatStore` (every module, the whole `ChatStore` port) unless you need the subset.
 *
 * @throws Error when a module is given twice or without a module it requires (naming both).
 * @example
 * import { auditStorageModule, chatStorageModule, createKyselyStorage } from '@kaiwa/store-kysely';
 *
 * const storage = createKyselyStorage({ db, dialect: 'sqlite', modules: [chatStorageModule, auditStorageModule] });
 * await storage.migrate(); // 0001_initial, 0002_deferred_search_index, 0006…, 0007_audit_log, 0008…
 * await storage.transaction(async (tx) => { await tx.users.insert(user); });
 */
export function createKyselyStorage<const Modules extends readonly KyselyStorageModule[]>(
  options: KyselyStorageOptions<Modules>,
): KyselyStorage<RepositoriesOf<Modules>> {
  const storage = new ComposedStorage<RepositoriesOf<Modules>>(options);
  return {
    ...storage.repositoriesOn(options.db),
    dialect: options.dialect,
    db: options.db,
    modules: options.modules.map((module) => module.name),
    transaction: (work) => storage.transaction(work),
    migrate: () => storage.migrate(),
    flushSearchIndex: () => storage.flushSearchIndex(),
    close: () => storage.close(),
  };
}
