import type { StoreDialect } from '@kaiwa/core';
import type { Kysely } from 'kysely';
import type { KaiwaDatabase, SqlBoolean } from '../database.js';
import type { PreparedQueries } from '../prepared-queries.js';
import type { SqliteSearchIndex } from '../search-index.js';

/** What every repository is built from: the root connection or one transaction, and its dialect. */
export interface RepositoryContext {
  readonly db: Kysely<KaiwaDatabase>;
  readonly dialect: StoreDialect;
  /** Shared by the store and its transactions. */
  readonly prepared: PreparedQueries;
  /** SQLite only: the deferred full-text indexer, shared by the store and its transactions. */
  readonly searchIndex?: SqliteSearchIndex | undefined;
}

/** A boolean as the dialect stores it: PostgreSQL has the type, the others keep 0 and 1. */
export function toSqlBoolean(dialect: StoreDialect, value: boolean): SqlBoolean {
  if (dialect === 'postgres') return value;
  return value ? 1 : 0;
}
