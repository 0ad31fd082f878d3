import type { SearchTermGroup } from '@kaiwa/core';
import { CompiledQuery, type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { KaiwaDatabase, SqlBoolean } from '../database.js';
import type { PreparedQueries } from '../prepared-queries.js';
import { mysqlSearchQuery, mysqlSearchText } from '../search-syntax.js';
import { asConflictError, uniqueViolation } from '../unique-violations.js';
import {
  type Counter,
  compileInsert,
  type InsertOnce,
  type SearchColumns,
  type StoreDialectAdapter,
  type Upsert,
} from './store-dialect-adapter.js';

/**
 * MariaDB/MySQL: booleans as 0 and 1, no ON CONFLICT and no RETURNING, and search in a column of
 * hex-encoded words under a FULLTEXT index (search-syntax.ts).
 */
export class MysqlStoreDialectAdapter implements StoreDialectAdapter {
  readonly dialect = 'mysql';
  readonly searchIndexInRow = true;

  sqlBoolean(value: boolean): SqlBoolean {
    return value ? 1 : 0;
  }

  async insertOnce<T extends keyof KaiwaDatabase>(
    db: Kysely<KaiwaDatabase>,
    insert: InsertOnce<T>,
  ): Promise<boolean> {
    // No ON CONFLICT for one key, and INSERT IGNORE would swallow unrelated errors too. A duplicate-key
    // error only undoes this statement, not the transaction, so the duplicate is told apart from other
    // violations by the key's name. (ON DUPLICATE KEY UPDATE cannot tell "existed" from "inserted" under
    // mysql2's FOUND_ROWS flag.)
    try {
      await db.executeQuery(compileInsert(db, insert, (values) => values));
      return true;
    } catch (error) {
      if (uniqueViolation(error, insert.table)?.key === insert.key.name) return false;
      throw asConflictError(error, insert.table);
    }
  }

  async upsert<T extends keyof KaiwaDatabase>(db: Kysely<KaiwaDatabase>, upsert: Upsert<T>): Promise<void> {
    await db
      .insertInto(upsert.table)
      // biome-ignore lint/suspicious/noExplicitAny: the row type is checked by Upsert.
      .values(upsert.row as any)
      // biome-ignore lint/suspicious/noExplicitAny: the change, checked by Upsert.
      .onDuplicateKeyUpdate(upsert.change as any)
      .execute();
  }

  async increment(
    db: Kysely<KaiwaDatabase>,
    _prepared: PreparedQueries,
    counter: Counter,
  ): Promise<number | undefined> {
    // LAST_INSERT_ID(expr) hands the new value back in the update's own reply: one round trip, no SELECT.
    const { table, column } = counter;
    const result = await db.executeQuery(
      CompiledQuery.raw(
        `update \`${table}\` set \`${column}\` = last_insert_id(\`${column}\` + 1) where \`id\` = ?`,
        [counter.id],
      ),
    );
    return result.numAffectedRows ? Number(result.insertId) : undefined;
  }

  searchColumns(document: string): SearchColumns {
    return { search_text: mysqlSearchText(document) };
  }

  searchConditions(groups: SearchTermGroup[]): Expression<SqlBool>[] {
    const { against, phrases } = mysqlSearchQuery(groups);
    return [
      sql<boolean>`match (search_text) against (${against} in boolean mode)`,
      ...phrases.map((phrase) => sql<boolean>`concat(' ', search_text, ' ') like ${phrase}`),
    ];
  }

  async reindexMessage(): Promise<void> {}

  deferredSearchIndex(): undefined {
    return undefined;
  }

  async migrationTableSchema(): Promise<undefined> {
    return undefined;
  }
}
