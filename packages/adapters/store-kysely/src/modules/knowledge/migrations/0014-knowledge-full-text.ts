import { type Migration, sql } from 'kysely';
import {
  type AnyDatabase,
  atomically,
  type MigrationDialect,
} from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/** Chunks read and indexed per round while filling in the search terms of existing chunks. */
const BATCH = 500;

/**
 * Full-text search over knowledge chunks, so that retrieval's full-text side covers documents as well as
 * messages: on SQLite a contentless FTS5 table keyed by a new `search_row` number of each chunk (implicit
 * rowids may change on VACUUM), on PostgreSQL a `tsvector` column with a GIN index, on MariaDB/MySQL a
 * column of hex-encoded terms with a FULLTEXT index, as the message search has in 0001. Existing chunks are
 * indexed here.
 *
 * @param searchDocument core's `searchDocument` and the two encodings of the store's search syntax, passed in
 * (as in 0002) rather than imported: the terms written must be those today's search code queries.
 */
export function knowledgeFullTextMigration(
  dialect: MigrationDialect,
  encode: {
    searchDocument: (text: string) => string;
    postgresTsvector: (document: string) => string;
    mysqlSearchText: (document: string) => string;
  },
): Migration {
  return {
    async up(db) {
      await atomically(db, dialect, async () => {
        if (dialect === 'sqlite') {
          await sql`alter table knowledge_chunks add column search_row integer`.execute(db);
          await sql`update knowledge_chunks set search_row = rowid`.execute(db);
          await sql`create unique index knowledge_chunks_search_row on knowledge_chunks (search_row)`.execute(
            db,
          );
          // As message_search (0001): core's terms, kept whole by the tokeniser.
          await sql`create virtual table knowledge_search using fts5(content, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0 categories ''L* N* Co M*''')`.execute(
            db,
          );
          // How many chunks hold each term: the search leaves out terms most chunks hold.
          await sql`create virtual table knowledge_search_vocab using fts5vocab(knowledge_search, 'row')`.execute(
            db,
          );
        } else if (dialect === 'postgres') {
          await sql`alter table knowledge_chunks add column search_vector tsvector not null default ''::tsvector`.execute(
            db,
          );
        } else {
          await sql`alter table knowledge_chunks add column search_text mediumtext`.execute(db);
        }
        await fill(db, dialect, encode);
        if (dialect === 'postgres')
          await sql`create index knowledge_chunks_search on knowledge_chunks using gin (search_vector)`.execute(
            db,
          );
        else if (dialect === 'mysql')
          await sql`create fulltext index knowledge_chunks_search on knowledge_chunks (search_text)`.execute(
            db,
          );
      });
    },

    async down(db) {
      if (dialect === 'sqlite') {
        await sql`drop table knowledge_search_vocab`.execute(db);
        await sql`drop table knowledge_search`.execute(db);
        await sql`drop index knowledge_chunks_search_row`.execute(db);
        await sql`alter table knowledge_chunks drop column search_row`.execute(db);
      } else if (dialect === 'postgres') {
        await sql`drop index knowledge_chunks_search`.execute(db);
        await sql`alter table knowledge_chunks drop column search_vector`.execute(db);
      } else {
        await sql`drop index knowledge_chunks_search on knowledge_chunks`.execute(db);
        await sql`alter table knowledge_chunks drop column search_text`.execute(db);
      }
    },
  };
}

/** Indexes the text of the chunks that exist, in batches, in key order. */
async function fill(
  db: AnyDatabase,
  dialect: MigrationDialect,
  encode: Parameters<typeof knowledgeFullTextMigration>[1],
): Promise<void> {
  let after: { index_name: string; id: string } | undefined;
  for (;;) {
    const { rows } = await sql<{ index_name: string; id: string; text: string; search_row: number | null }>`
      select index_name, id, text${dialect === 'sqlite' ? sql`, search_row` : sql``} from knowledge_chunks
      ${after ? sql`where index_name > ${after.index_name} or (index_name = ${after.index_name} and id > ${after.id})` : sql``}
      order by index_name, id limit ${BATCH}`.execute(db);
    for (const row of rows) {
      const document = encode.searchDocument(row.text);
      if (document === '') continue;
      if (dialect === 'sqlite')
        await sql`insert into knowledge_search (rowid, content) values (${row.search_row}, ${document})`.execute(
          db,
        );
      else if (dialect === 'postgres')
        await sql`update knowledge_chunks set search_vector = cast(${encode.postgresTsvector(document)} as tsvector)
          where index_name = ${row.index_name} and id = ${row.id}`.execute(db);
      else
        await sql`update knowledge_chunks set search_text = ${encode.mysqlSearchText(document)}
          where index_name = ${row.index_name} and id = ${row.id}`.execute(db);
    }
    const last = rows.at(-1);
    if (!last || rows.length < BATCH) return;
    after = { index_name: last.index_name, id: last.id };
  }
}
