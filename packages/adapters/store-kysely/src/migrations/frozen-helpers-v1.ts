import { type CreateTableBuilder, type Expression, type Kysely, sql } from 'kysely';

/*
 * The helpers of the migrations 0001 to 0008, frozen with them: a released migration must do tomorrow
 * exactly what it did the day it shipped, so nothing here may change, and it imports nothing but kysely.
 * A later migration that needs another column type or table option gets a `frozen-helpers-v2.ts` of its
 * own (or inlines it) instead of an edit here.
 */

/** The databases the migrations know, spelled as `StoreDialect` in core (not imported: it may grow). */
export type MigrationDialect = 'sqlite' | 'postgres' | 'mysql';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on today's table types.
export type AnyDatabase = Kysely<any>;

/** The column types of version 1, per database. */
export function columnTypes(dialect: MigrationDialect) {
  const postgres = dialect === 'postgres';
  const mysql = dialect === 'mysql';
  // PostgreSQL keys use the "C" collation: byte order makes ULID comparison cheap and range scans exact
  // whatever the database locale. MariaDB/MySQL tables default to utf8mb4_bin for the same reason (and
  // because utf8mb4_unicode_ci treats distinct emoji as equal).
  const key = (length: number): Expression<unknown> =>
    postgres ? sql.raw(`varchar(${length}) collate "C"`) : sql.raw(`varchar(${length})`);
  return {
    id: key(26),
    key,
    timestamp: key(24),
    date: key(10),
    boolean: sql.raw(dialect === 'sqlite' ? 'integer' : 'boolean'),
    integer: sql.raw('integer'),
    bigint: sql.raw('bigint'),
    /** Short free text, never indexed. */
    text: sql.raw('text'),
    /** Message text and JSON: MariaDB/MySQL TEXT stops at 65,535 bytes, one short of a 64 KiB message. */
    longText: sql.raw(mysql ? 'mediumtext' : 'text'),
  };
}

/** `create table`, on MariaDB/MySQL with InnoDB and utf8mb4_bin. */
export function createTable(
  db: AnyDatabase,
  dialect: MigrationDialect,
  name: string,
): CreateTableBuilder<string, never> {
  const builder = db.schema.createTable(name);
  return dialect === 'mysql'
    ? builder.modifyEnd(sql`engine = InnoDB default charset = utf8mb4 collate = utf8mb4_bin`)
    : builder;
}

/**
 * Runs a migration's statements all or nothing where the database allows it. Kysely's Migrator wraps each
 * migration in a transaction on PostgreSQL only; SQLite's DDL is transactional too, so a savepoint does it
 * there. MariaDB/MySQL commit every DDL statement on their own: a failed migration leaves what it made.
 */
export async function atomically(
  db: AnyDatabase,
  dialect: MigrationDialect,
  work: () => Promise<void>,
): Promise<void> {
  if (dialect !== 'sqlite') return work();
  await sql`savepoint kaiwa_migration`.execute(db);
  try {
    await work();
  } catch (error) {
    await sql`rollback to kaiwa_migration`.execute(db);
    await sql`release kaiwa_migration`.execute(db);
    throw error;
  }
  await sql`release kaiwa_migration`.execute(db);
}
