import { type Migration, sql } from 'kysely';
import { atomically, type MigrationDialect } from '../../../migrations/frozen-helpers-v1.js';

/* Frozen: released migrations are never edited; a schema change is a new migration file. */

/**
 * SQLite: search rows of new messages are written in batches rather than in each send (see
 * search-index.ts). Messages above `indexed_row_id` are pending; existing messages are all indexed already.
 * The trigger keeps that true when rows are deleted for good (a room's messages go with the room): their
 * search rows go too, and if the largest row ids go, the watermark comes down so that SQLite, which hands
 * out the largest row id + 1, never gives a new message an id the indexer has already passed.
 * The other databases index in the row itself and need nothing.
 *
 * @param searchDocument core's `searchDocument`, passed in rather than imported: `down` writes the search
 * rows that today's search code reads, so it must tokenise as today's code does, while what the migration
 * itself does to the schema stays frozen here.
 */
export function deferredSearchIndexMigration(
  dialect: MigrationDialect,
  searchDocument: (text: string) => string,
): Migration {
  return {
    async up(db) {
      if (dialect !== 'sqlite') return;
      await atomically(db, dialect, async () => {
        await sql`create table message_search_state (id integer primary key check (id = 1), indexed_row_id integer not null)`.execute(
          db,
        );
        await sql`insert into message_search_state (id, indexed_row_id) select 1, coalesce(max(row_id), 0) from messages`.execute(
          db,
        );
        await sql`create trigger messages_search_delete after delete on messages begin
          delete from message_search where rowid = old.row_id
            and old.row_id <= (select indexed_row_id from message_search_state);
          update message_search_state
            set indexed_row_id = min(indexed_row_id, coalesce((select max(row_id) from messages), 0));
        end`.execute(db);
      });
    },

    async down(db) {
      if (dialect !== 'sqlite') return;
      // Index what is pending, so that 0001's synchronous indexing finds a complete index.
      const pending = await sql<{ row_id: number; text: string }>`select row_id, text from messages
        where row_id > (select indexed_row_id from message_search_state) and deleted_at is null`.execute(db);
      for (const row of pending.rows) {
        const document = searchDocument(row.text);
        if (document !== '')
          await sql`insert into message_search (rowid, content) values (${row.row_id}, ${document})`.execute(
            db,
          );
      }
      await sql`drop trigger messages_search_delete`.execute(db);
      await sql`drop table message_search_state`.execute(db);
    },
  };
}
