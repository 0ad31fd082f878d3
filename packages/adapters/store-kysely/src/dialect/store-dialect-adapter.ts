import type { SearchTermGroup, StoreDialect } from '@kaiwa/core';
import type {
  CompiledQuery,
  Expression,
  Insertable,
  InsertQueryBuilder,
  InsertResult,
  Kysely,
  SqlBool,
  Updateable,
} from 'kysely';
import type { KaiwaDatabase, MessagesTable, SqlBoolean } from '../database.js';
import type { PreparedQueries } from '../prepared-queries.js';
import type { SearchIndexOptions, SqliteSearchIndex } from '../search-index.js';

type Table = keyof KaiwaDatabase;
type Column<T extends Table> = keyof KaiwaDatabase[T] & string;

/** A row to insert unless a row with the same unique key exists. */
export interface InsertOnce<T extends Table> {
  table: T;
  row: Insertable<KaiwaDatabase[T]>;
  /**
   * The unique key a duplicate hits: its columns (for ON CONFLICT) and its name, by which MariaDB/MySQL
   * report it (see unique-violations.ts). A violation of any other key is not a duplicate: it is thrown,
   * as a ConflictError where it names a unique key.
   */
  key: { name: string; columns: readonly Column<T>[] };
  /** Compiles the statement once, under this name, in the store's prepared queries (a hot write). */
  prepared?: { queries: PreparedQueries; name: string };
}

/** A row to insert, or to change where its key exists. */
export interface Upsert<T extends Table> {
  table: T;
  row: Insertable<KaiwaDatabase[T]>;
  /** The columns of the key that decides whether the row exists. */
  key: readonly Column<T>[];
  /** What to set on the existing row. */
  change: Updateable<KaiwaDatabase[T]>;
}

/** An integer column counted up one at a time: a room's sequence numbers. */
export interface Counter {
  table: 'rooms';
  column: 'last_seq';
  /** The `id` of the row. */
  id: string;
}

/** The full-text search columns of a message row, as the database keeps them. */
export type SearchColumns = Pick<Insertable<MessagesTable>, 'search_vector' | 'search_text'>;

/**
 * Everything the repositories do differently per database, in one object chosen once when the store is
 * created (as kysely's own `DialectAdapter`): the repositories write their queries once against it and
 * never ask which database they are on. Statements whose SQL is the same everywhere stay in the
 * repositories; what differs is here: upserts and insert-once (ON CONFLICT on SQLite and PostgreSQL, the
 * duplicate-key error or ON DUPLICATE KEY UPDATE on MariaDB/MySQL), the counter increment (RETURNING or
 * LAST_INSERT_ID), booleans, and where full-text search lives (a tsvector column, a column of hex words
 * under a FULLTEXT index, or SQLite's FTS5 table filled in batches after the send).
 *
 * Migrations do not use it: they are frozen with their own helpers (see migrations/index.ts).
 *
 * @example
 * const adapter = createStoreDialectAdapter('postgres');
 * const inserted = await adapter.insertOnce(db, {
 *   table: 'reactions',
 *   row,
 *   key: { name: 'reactions_pkey', columns: ['message_id', 'emoji', 'user_id'] },
 * });
 */
export interface StoreDialectAdapter {
  readonly dialect: StoreDialect;

  /** A boolean as its column stores it: PostgreSQL has the type, the others keep 0 and 1. */
  sqlBoolean(value: boolean): SqlBoolean;

  /**
   * Inserts the row unless its unique key has one already, without aborting an enclosing transaction
   * (PostgreSQL would, on a raised violation); a concurrent insert of the same key is waited for.
   *
   * @returns true when it inserted, false for a duplicate (nothing written).
   * @throws ConflictError when another unique key of the table is taken.
   */
  insertOnce<T extends Table>(db: Kysely<KaiwaDatabase>, insert: InsertOnce<T>): Promise<boolean>;

  /** Inserts the row, or sets `change` on the row that has its key. */
  upsert<T extends Table>(db: Kysely<KaiwaDatabase>, upsert: Upsert<T>): Promise<void>;

  /**
   * Adds one to the counter and returns the new value in one statement, the row locked until commit;
   * undefined when no row has that id.
   */
  increment(
    db: Kysely<KaiwaDatabase>,
    prepared: PreparedQueries,
    counter: Counter,
  ): Promise<number | undefined>;

  /**
   * Whether a message's search index is written with its row (`searchColumns` on insert and update) or
   * kept apart: SQLite's FTS5 table, filled in batches after the send (`deferredSearchIndex`) and kept
   * current on edits by `reindexMessage`, in the edit's transaction.
   */
  readonly searchIndexInRow: boolean;

  /** The search columns of a message whose search document (core's `searchDocument`) is `document`. */
  searchColumns(document: string): SearchColumns;

  /** The conditions a message must meet to match every one of the search term groups. */
  searchConditions(groups: SearchTermGroup[]): Expression<SqlBool>[];

  /**
   * Brings a search index kept apart from the row up to date after an edit (`document` empty: the
   * message left the index); a no-op where the index lives in the row.
   */
  reindexMessage(db: Kysely<KaiwaDatabase>, messageId: string, document: string): Promise<void>;

  /** The indexer that fills a search index kept apart, shared by the store and its transactions. */
  deferredSearchIndex(db: Kysely<KaiwaDatabase>, options?: SearchIndexOptions): SqliteSearchIndex | undefined;

  /**
   * The schema kysely's Migrator keeps its tables in: PostgreSQL's current schema, so that a second Kaiwa
   * schema in the same database cannot confuse it; undefined elsewhere.
   */
  // biome-ignore lint/suspicious/noExplicitAny: the migrator runs on any schema, before today's tables exist.
  migrationTableSchema(db: Kysely<any>): Promise<string | undefined>;
}

/** The insert of `insert.row`, shaped by `shape`, compiled once per name when `insert.prepared` says so. */
export function compileInsert<T extends Table>(
  db: Kysely<KaiwaDatabase>,
  insert: InsertOnce<T>,
  shape: (
    // biome-ignore lint/suspicious/noExplicitAny: one helper for every table; the row type is checked by InsertOnce.
    query: InsertQueryBuilder<KaiwaDatabase, any, InsertResult>,
    // biome-ignore lint/suspicious/noExplicitAny: as above.
  ) => InsertQueryBuilder<KaiwaDatabase, any, InsertResult>,
): CompiledQuery<InsertResult> {
  // biome-ignore lint/suspicious/noExplicitAny: the row type is checked by InsertOnce.
  const build = (row: Record<string, unknown>) => shape(db.insertInto(insert.table).values(row as any));
  const row = insert.row as Record<string, unknown>;
  return insert.prepared
    ? insert.prepared.queries.bind(insert.prepared.name, row, build)
    : build(row).compile();
}
