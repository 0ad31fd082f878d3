import type { StoreDialect } from '@kaiwa/core';
import { MysqlStoreDialectAdapter } from './mysql-store-dialect-adapter.js';
import { PostgresStoreDialectAdapter } from './postgres-store-dialect-adapter.js';
import { SqliteStoreDialectAdapter } from './sqlite-store-dialect-adapter.js';
import type { StoreDialectAdapter } from './store-dialect-adapter.js';

export type {
  Counter,
  InsertOnce,
  SearchColumns,
  StoreDialectAdapter,
  Upsert,
} from './store-dialect-adapter.js';

/**
 * The adapter of one database, chosen once per store: the only place that asks which database it is.
 *
 * @example const adapter = createStoreDialectAdapter(options.dialect);
 */
export function createStoreDialectAdapter(dialect: StoreDialect): StoreDialectAdapter {
  switch (dialect) {
    case 'sqlite':
      return new SqliteStoreDialectAdapter();
    case 'postgres':
      return new PostgresStoreDialectAdapter();
    case 'mysql':
      return new MysqlStoreDialectAdapter();
  }
}
