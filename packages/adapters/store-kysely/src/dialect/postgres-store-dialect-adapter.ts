import type { SearchTermGroup } from '@kaiwa/core';
import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { SqlBoolean } from '../database.js';
import { postgresTsquery, postgresTsvector } from '../search-syntax.js';
import { OnConflictDialectAdapter } from './on-conflict-dialect-adapter.js';
import type { SearchColumns } from './store-dialect-adapter.js';

/** PostgreSQL: real booleans, ON CONFLICT and RETURNING, and search in a tsvector column under a GIN index. */
export class PostgresStoreDialectAdapter extends OnConflictDialectAdapter {
  readonly dialect = 'postgres';
  readonly searchIndexInRow = true;

  sqlBoolean(value: boolean): SqlBoolean {
    return value;
  }

  searchColumns(document: string): SearchColumns {
    return { search_vector: postgresTsvector(document) };
  }

  searchConditions(groups: SearchTermGroup[]): Expression<SqlBool>[] {
    return [sql<boolean>`search_vector @@ ${postgresTsquery(groups)}::tsquery`];
  }

  async reindexMessage(): Promise<void> {}

  deferredSearchIndex(): undefined {
    return undefined;
  }

  // biome-ignore lint/suspicious/noExplicitAny: see StoreDialectAdapter.
  async migrationTableSchema(db: Kysely<any>): Promise<string | undefined> {
    return (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
  }
}
