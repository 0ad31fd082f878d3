import { type Migration, sql } from 'kysely';
import {
  type AnyDatabase,
  atomically,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * The knowledge chunks' full-text index holds document chunks only: retrieval finds messages through the
 * chat's own message search, so the terms 0014 indexed for message chunks were never searched. They are
 * taken out here: on SQLite their FTS5 rows are deleted and their `search_row` cleared, on PostgreSQL their
 * `tsvector` emptied, on MariaDB/MySQL their `search_text` nulled (and so out of the FULLTEXT index). Rows
 * only, no schema change: one transaction on every database (PostgreSQL's is the Migrator's, SQLite's a
 * savepoint, MariaDB/MySQL's its own, as nothing here is DDL).
 *
 * `down` leaves the index as it is: a store before this migration searched chunks by text only among
 * documents, so it reads an index without message chunks the same.
 */
export function knowledgeFullTextDocumentsOnlyMigration(dialect: MigrationDialect): Migration {
  return {
    async up(db) {
      if (dialect === 'mysql') await db.transaction().execute((trx) => unindexMessageChunks(trx, dialect));
      else await atomically(db, dialect, () => unindexMessageChunks(db, dialect));
    },
    async down() {},
  };
}

async function unindexMessageChunks(db: AnyDatabase, dialect: MigrationDialect): Promise<void> {
  if (dialect === 'sqlite') {
    await sql`delete from knowledge_search where rowid in (select search_row from knowledge_chunks
      where source_type = 'message' and search_row is not null)`.execute(db);
    await sql`update knowledge_chunks set search_row = null
      where source_type = 'message' and search_row is not null`.execute(db);
  } else if (dialect === 'postgres') {
    await sql`update knowledge_chunks set search_vector = ''::tsvector
      where source_type = 'message' and search_vector <> ''::tsvector`.execute(db);
  } else {
    await sql`update knowledge_chunks set search_text = null
      where source_type = 'message' and search_text is not null`.execute(db);
  }
}
