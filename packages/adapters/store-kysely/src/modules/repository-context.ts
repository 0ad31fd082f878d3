import type { Kysely } from 'kysely';
import type { KaiwaDatabase } from '../database.js';
import type { StoreDialectAdapter } from '../dialect/index.js';
import type { PreparedQueries } from '../prepared-queries.js';
import type { SqliteSearchIndex } from '../search-index.js';

/**
 * What every repository is built from: the root connection or one transaction, and the adapter of the
 * store's database. Repositories write what differs per database through the adapter and never ask which
 * database they are on.
 */
export interface RepositoryContext {
  readonly db: Kysely<KaiwaDatabase>;
  readonly adapter: StoreDialectAdapter;
  /** Shared by the store and its transactions. */
  readonly prepared: PreparedQueries;
  /** Where the search index is kept apart (SQLite): its deferred indexer, shared by the store and its transactions. */
  readonly searchIndex?: SqliteSearchIndex | undefined;
}
