import type { SearchTermGroup, StoreDialect } from '@kaiwa/core';
import { type Expression, type Kysely, type QueryResult, type SqlBool, sql } from 'kysely';
import type { KaiwaDatabase, SqlBoolean } from '../database.js';
import type { PreparedQueries } from '../prepared-queries.js';
import type { SearchIndexOptions, SqliteSearchIndex } from '../search-index.js';
import { asConflictError } from '../unique-violations.js';
import {
  type Counter,
  compileInsert,
  type InsertOnce,
  type SearchColumns,
  type StoreDialectAdapter,
  type Upsert,
} from './store-dialect-adapter.js';

/**
 * What SQLite and PostgreSQL share: `INSERT … ON CONFLICT` for upserts and insert-once, and `UPDATE …
 * RETURNING` for counters.
 */
export abstract class OnConflictDialectAdapter implements StoreDialectAdapter {
  abstract readonly dialect: StoreDialect;
  abstract readonly searchIndexInRow: boolean;
  abstract sqlBoolean(value: boolean): SqlBoolean;
  abstract searchColumns(document: string): SearchColumns;
  abstract searchConditions(groups: SearchTermGroup[]): Expression<SqlBool>[];
  abstract reindexMessage(db: Kysely<KaiwaDatabase>, messageId: string, document: string): Promise<void>;
  abstract deferredSearchIndex(
    db: Kysely<KaiwaDatabase>,
    options?: SearchIndexOptions,
  ): SqliteSearchIndex | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: see StoreDialectAdapter.
  abstract migrationTableSchema(db: Kysely<any>): Promise<string | undefined>;

  async insertOnce<T extends keyof KaiwaDatabase>(
    db: Kysely<KaiwaDatabase>,
    insert: InsertOnce<T>,
  ): Promise<boolean> {
    // PostgreSQL aborts the whole transaction on a unique violation, so the duplicate must not be raised:
    // ON CONFLICT waits for a concurrent insert of the same key to commit, then does nothing.
    const query = compileInsert(db, insert, (values) =>
      // biome-ignore lint/suspicious/noExplicitAny: the key columns of the table, checked by InsertOnce.
      values.onConflict((conflict) => conflict.columns(insert.key.columns as any).doNothing()),
    );
    let result: QueryResult<unknown>;
    try {
      result = await db.executeQuery(query);
    } catch (error) {
      throw asConflictError(error, insert.table);
    }
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async upsert<T extends keyof KaiwaDatabase>(db: Kysely<KaiwaDatabase>, upsert: Upsert<T>): Promise<void> {
    await db
      .insertInto(upsert.table)
      // biome-ignore lint/suspicious/noExplicitAny: the row type is checked by Upsert.
      .values(upsert.row as any)
      // biome-ignore lint/suspicious/noExplicitAny: the key columns and change, checked by Upsert.
      .onConflict((conflict) => conflict.columns(upsert.key as any).doUpdateSet(upsert.change as any))
      .execute();
  }

  async increment(
    db: Kysely<KaiwaDatabase>,
    prepared: PreparedQueries,
    counter: Counter,
  ): Promise<number | undefined> {
    const { table, column } = counter;
    const result = await db.executeQuery(
      prepared.bind(`${table}.${column}.increment`, { id: counter.id }, (values) =>
        db
          .updateTable(table)
          .set({ [column]: sql<number>`${sql.ref(column)} + 1` })
          .where('id', '=', values.id)
          .returning(column),
      ),
    );
    const row = result.rows[0];
    return row === undefined ? undefined : Number(row[column]);
  }
}
