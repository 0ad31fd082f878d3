import type { SearchTermGroup } from '@kaiwa/core';
import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { KaiwaDatabase, SqlBoolean } from '../database.js';
import { SEARCH_ROW_IS_INDEXED, type SearchIndexOptions, SqliteSearchIndex } from '../search-index.js';
import { sqliteMatchQuery } from '../search-syntax.js';
import { OnConflictDialectAdapter } from './on-conflict-dialect-adapter.js';
import type { SearchColumns } from './store-dialect-adapter.js';

/**
 * SQLite: booleans as 0 and 1, ON CONFLICT and RETURNING, and search in a contentless FTS5 table that a
 * deferred indexer fills in batches after the send (search-index.ts); edits update it at once.
 */
export class SqliteStoreDialectAdapter extends OnConflictDialectAdapter {
  readonly dialect = 'sqlite';
  readonly searchIndexInRow = false;

  sqlBoolean(value: boolean): SqlBoolean {
    return value ? 1 : 0;
  }

  searchColumns(): SearchColumns {
    return {};
  }

  searchConditions(groups: SearchTermGroup[]): Expression<SqlBool>[] {
    return [
      sql<boolean>`row_id in (select rowid from message_search where message_search match ${sqliteMatchQuery(groups)})`,
    ];
  }

  async reindexMessage(db: Kysely<KaiwaDatabase>, messageId: string, document: string): Promise<void> {
    // Rows the deferred indexer has not reached yet are indexed from their current text when it does.
    if (document === '') {
      await sql`delete from message_search where rowid = (select row_id from messages where id = ${messageId} and ${sql.raw(SEARCH_ROW_IS_INDEXED)})`.execute(
        db,
      );
    } else {
      await sql`replace into message_search (rowid, content) select row_id, ${document} from messages where id = ${messageId} and ${sql.raw(SEARCH_ROW_IS_INDEXED)}`.execute(
        db,
      );
    }
  }

  deferredSearchIndex(db: Kysely<KaiwaDatabase>, options?: SearchIndexOptions): SqliteSearchIndex {
    return new SqliteSearchIndex(db, options);
  }

  async migrationTableSchema(): Promise<undefined> {
    return undefined;
  }
}
