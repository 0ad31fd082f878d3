import type { StoreDialect } from '@kaiwa/core';
import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { KaiwaDatabase } from '../../database.js';
import { openTestStore, testMigrator, testSkipReason } from '../../test-support.js';
import { vectorBytes } from './vector-search.js';

/** The chunks whose terms are in the full-text index, sorted (on SQLite, by their search row). */
async function indexedIds(db: Kysely<KaiwaDatabase>, dialect: StoreDialect): Promise<string[]> {
  const { rows } = await (dialect === 'sqlite'
    ? sql<{ id: string }>`select id from knowledge_chunks
        where search_row in (select rowid from knowledge_search) order by id`
    : dialect === 'postgres'
      ? sql<{ id: string }>`select id from knowledge_chunks where search_vector <> ''::tsvector order by id`
      : sql<{ id: string }>`select id from knowledge_chunks
          where search_text is not null and search_text <> '' order by id`
  ).execute(db);
  return rows.map((row) => row.id);
}

for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  const skip = testSkipReason(dialect);
  describe.skipIf(skip !== undefined)(`0015_knowledge_full_text_documents_only on ${dialect}`, () => {
    it("takes message chunks out of the full-text index and keeps document chunks' terms", async () => {
      const store = await openTestStore(dialect, { migrate: false });
      try {
        const migrator = await testMigrator(store, dialect);
        expect((await migrator.migrateTo('0009_knowledge')).error).toBeUndefined();
        await sql`insert into knowledge_indexes (name, model, dimensions, created_at)
          values ('old', 'test:m', 2, '2026-01-01T00:00:00.000Z')`.execute(store.db);
        // Message and document chunks interleaved, the same words in both, in two rooms; 0014 indexes them
        // all, as it did on every database that held chunks.
        const rows = Array.from({ length: 40 }, (_, position) => {
          const message = position % 2 === 0;
          const room = position % 4 < 2 ? 'room' : 'other';
          const text = `gooseberry ${message ? 'said' : 'written'} ${position}`;
          return sql`(${'old'}, ${`c${String(position).padStart(2, '0')}`}, ${message ? 'message' : 'file'},
            ${`s${position}`}, ${room}, ${message ? null : `f${position}`}, ${text}, '{}',
            ${vectorBytes(Float32Array.from([1, 0]))})`;
        });
        await sql`insert into knowledge_chunks
          (index_name, id, source_type, source_id, room_id, file_id, text, metadata, embedding)
          values ${sql.join(rows)}`.execute(store.db);
        expect((await migrator.migrateTo('0014_knowledge_full_text')).error).toBeUndefined();
        const everything = Array.from(
          { length: 40 },
          (_, position) => `c${String(position).padStart(2, '0')}`,
        );
        const documents = everything.filter((_, position) => position % 2 === 1);
        expect(await indexedIds(store.db, dialect)).toEqual(everything);
        const messageRows =
          dialect === 'sqlite'
            ? (
                await sql<{ search_row: number }>`select search_row from knowledge_chunks
                  where source_type = 'message'`.execute(store.db)
              ).rows.map((row) => Number(row.search_row))
            : [];

        expect((await store.migrate()).applied).toEqual(['0015_knowledge_full_text_documents_only']);
        expect(await indexedIds(store.db, dialect)).toEqual(documents);
        if (dialect === 'sqlite') {
          // The FTS5 rows themselves are gone, not only unreachable from the chunks.
          const { rows: left } = await sql<{ n: number }>`select count(*) as n from knowledge_search
            where rowid in (${sql.join(messageRows)})`.execute(store.db);
          expect(Number(left[0]?.n)).toBe(0);
          const { rows: vocabulary } = await sql<{ doc: number }>`select doc from knowledge_search_vocab
            where term = 'gooseberry'`.execute(store.db);
          expect(Number(vocabulary[0]?.doc)).toBe(documents.length);
        }

        const search = (text: string, roomIds: string[], sourceType?: 'message' | 'file') =>
          store.knowledge
            .searchText({
              index: 'old',
              text,
              k: 100,
              filter: { roomIds, ...(sourceType ? { sourceType } : {}) },
            })
            .then((matches) => matches.map((match) => match.chunk.id).sort());
        const inRoom = documents.filter((id) => Number(id.slice(1)) % 4 < 2);
        expect(await search('gooseberry', ['room'])).toEqual(inRoom);
        expect(await search('gooseberry', ['room', 'other'])).toEqual(documents);
        expect(await search('said', ['room', 'other'])).toEqual([]);
        expect(await search('gooseberry', ['room'], 'message')).toEqual([]);
        expect(await search('gooseberry', ['nowhere'])).toEqual([]);
        // Message chunks are still there for the vector search.
        expect(await store.knowledge.count('old')).toBe(40);

        // Written after it: a document is indexed, a message chunk is not.
        const written = (id: string, sourceType: 'message' | 'file') => ({
          id,
          sourceType,
          sourceId: id,
          roomId: 'room',
          text: 'gooseberry later',
          metadata: {},
          vector: [0, 1],
        });
        await store.knowledge.upsert('old', [
          written('later-file', 'file'),
          written('later-message', 'message'),
        ]);
        expect(await search('later', ['room'])).toEqual(['later-file']);
        expect(await indexedIds(store.db, dialect)).toEqual([...documents, 'later-file']);
        // Deleting a source whose chunks were taken out of the index works as before.
        expect(await store.knowledge.deleteBySource('old', { sourceType: 'message', sourceId: 's0' })).toBe(
          1,
        );
        expect(await store.knowledge.deleteByRoom('old', { roomId: 'room', sourceType: 'message' })).toBe(10);
        expect(await search('gooseberry', ['room'])).toEqual([...inRoom, 'later-file'].sort());
      } finally {
        await store.close();
      }
    });
  });
}
