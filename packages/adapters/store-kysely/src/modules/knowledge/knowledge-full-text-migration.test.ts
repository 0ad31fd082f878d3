import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openTestStore, testMigrator, testSkipReason } from '../../test-support.js';
import { vectorBytes } from './vector-search.js';

for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  const skip = testSkipReason(dialect);
  describe.skipIf(skip !== undefined)(`0014_knowledge_full_text on ${dialect}`, () => {
    it('indexes the text of the chunks a database held before it', async () => {
      const store = await openTestStore(dialect, { migrate: false });
      try {
        const migrator = await testMigrator(store, dialect);
        expect((await migrator.migrateTo('0009_knowledge')).error).toBeUndefined();
        await sql`insert into knowledge_indexes (name, model, dimensions, created_at)
          values ('old', 'test:m', 2, '2026-01-01T00:00:00.000Z')`.execute(store.db);
        // More than one batch of the migration's backfill (500).
        for (let start = 0; start < 520; start += 130) {
          const rows = Array.from({ length: 130 }, (_, offset) => {
            const position = start + offset;
            const text = position === 517 ? 'The zephyrine archive is in Kraków' : `filler ${position}`;
            return sql`('old', ${`c${position}`}, 'file', 'f', 'room', ${text}, '{}', ${vectorBytes(Float32Array.from([1, 0]))})`;
          });
          await sql`insert into knowledge_chunks (index_name, id, source_type, source_id, room_id, text, metadata, embedding)
            values ${sql.join(rows)}`.execute(store.db);
        }

        await store.migrate();
        const search = (text: string) =>
          store.knowledge
            .searchText({ index: 'old', text, k: 5, filter: { roomIds: ['room'] } })
            .then((matches) => matches.map((match) => match.chunk.id));
        expect(await search('zephyrine')).toEqual(['c517']);
        expect(await search('krakow kraków')).toEqual(['c517']);
        expect(await search('filler')).toHaveLength(5);
        // Chunks written after it get their own search rows, past those of the old ones.
        await store.knowledge.upsert('old', [
          {
            id: 'new',
            sourceType: 'file',
            sourceId: 'g',
            roomId: 'room',
            text: 'zephyrine again',
            metadata: {},
            vector: [0, 1],
          },
        ]);
        expect((await search('zephyrine')).sort()).toEqual(['c517', 'new']);
        expect(await store.knowledge.deleteBySource('old', { sourceType: 'file', sourceId: 'f' })).toBe(520);
        expect(await search('zephyrine filler')).toEqual(['new']);
      } finally {
        await store.close();
      }
    });
  });
}
