import type { VectorChunk } from '@kaiwa/core';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openTestStorage } from '../../test-support.js';
import { knowledgeStorageModule } from './knowledge-storage-module.js';
import { FEW_ALLOWED, MIN_TEXT_CANDIDATES } from './text-search.js';

/*
 * SQLite's full-text search ranks the best matches inside FTS5 first and filters only those
 * (`MIN_TEXT_CANDIDATES`), or ranks only the filter's chunks when it allows few (`FEW_ALLOWED`); these pin
 * that the answer is still that of BM25 over every allowed match.
 */

function chunk(id: string, roomId: string, text: string): VectorChunk {
  return { id, sourceType: 'file', sourceId: `f-${id}`, roomId, text, metadata: {}, vector: [1, 0] };
}

describe('knowledge module: SQLite full text ranked inside FTS5 first', () => {
  it('still finds allowed chunks ranked below every candidate, whoever holds the candidates', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModule]);
    try {
      for (const name of ['mine', 'neighbour'])
        await storage.knowledge.ensureIndex({ name, model: 'test:m', dimensions: 2 });
      const crowd = MIN_TEXT_CANDIDATES + 50;
      // Better matches than ours (the word twice in a short text), in another room of our index and in
      // another index in our room: every FTS5 candidate is one the filter or the index leaves out.
      await storage.knowledge.upsert(
        'mine',
        Array.from({ length: crowd }, (_, position) =>
          chunk(`elsewhere${position}`, 'other', 'zephyrine zephyrine'),
        ),
      );
      await storage.knowledge.upsert(
        'neighbour',
        Array.from({ length: crowd }, (_, position) =>
          chunk(`neighbour${position}`, 'room', 'zephyrine zephyrine'),
        ),
      );
      await storage.knowledge.upsert('mine', [
        chunk('weak', 'room', 'zephyrine among a great many other words of a long text'),
        chunk('strong', 'room', 'zephyrine in a short text'),
        chunk('corner', 'corner', 'zephyrine'),
      ]);
      // Our room holds more than FEW_ALLOWED of the chunks, so the candidates are tried first.
      const filler = Math.ceil(FEW_ALLOWED * 2 * (2 * crowd));
      await storage.knowledge.upsert(
        'mine',
        Array.from({ length: filler }, (_, position) =>
          chunk(`filler${position}`, 'room', 'nothing to find'),
        ),
      );
      const search = (roomIds: string[], k: number) =>
        storage.knowledge
          .searchText({ index: 'mine', text: 'zephyrine', k, filter: { roomIds } })
          .then((matches) => matches.map((match) => match.chunk.id));

      expect(await search(['room'], 3)).toEqual(['strong', 'weak']);
      expect(await search(['room'], 1)).toEqual(['strong']);
      expect(await search(['nowhere'], 3)).toEqual([]);
      expect(await search(['corner'], 3)).toEqual(['corner']);
      // Allowed candidates: the best of them, ties in the order they were written.
      expect(await search(['room', 'other'], 3)).toEqual(['elsewhere0', 'elsewhere1', 'elsewhere2']);
    } finally {
      await storage.close();
    }
  });

  it('returns what BM25 over every allowed match returns, in its order', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModule]);
    try {
      await storage.knowledge.ensureIndex({ name: 'words', model: 'test:m', dimensions: 2 });
      const vocabulary = ['amber', 'basalt', 'cobalt', 'dune', 'ember', 'fjord', 'garnet', 'heath'];
      let state = 7;
      const next = (below: number) => {
        state = (Math.imul(state, 1103515245) + 12345) >>> 0;
        return state % below;
      };
      const chunks = Array.from({ length: 2_000 }, (_, position) =>
        chunk(
          `c${position}`,
          `room${position % 20}`,
          // Skewed towards the first words, of varying length: many ties and many near-ties.
          Array.from({ length: 3 + next(12) }, () => vocabulary[Math.min(next(8), next(8))]).join(' '),
        ),
      );
      for (let start = 0; start < chunks.length; start += 500)
        await storage.knowledge.upsert('words', chunks.slice(start, start + 500));

      // The search as it was before candidates: every match joined, filtered and ranked.
      const everyMatch = async (text: string, k: number, roomIds: string[]) => {
        const match = text
          .split(' ')
          .map((word) => `"${word}"`)
          .join(' OR ');
        const { rows } = await sql<{ id: string }>`select knowledge_chunks.id as id
          from knowledge_search join knowledge_chunks on knowledge_chunks.search_row = knowledge_search.rowid
          where knowledge_search match ${match} and knowledge_chunks.index_name = 'words'
            and knowledge_chunks.room_id in (${sql.join(roomIds)})
          order by bm25(knowledge_search), knowledge_search.rowid limit ${k}`.execute(storage.db);
        return rows.map((row) => row.id);
      };
      const rooms = (count: number) => Array.from({ length: count }, (_, index) => `room${index}`);
      let compared = 0;
      // From every room to a twentieth of the chunks, below FEW_ALLOWED.
      for (const text of ['heath', 'garnet heath', 'amber', 'dune fjord', 'basalt cobalt ember'])
        for (const [k, roomIds] of [
          [10, rooms(20)],
          [10, rooms(16)],
          [25, rooms(10)],
          [10, rooms(4)],
          [10, rooms(1)],
          [40, ['room3']],
        ] as const) {
          const expected = await everyMatch(text, k, [...roomIds]);
          const found = await storage.knowledge.searchText({
            index: 'words',
            text,
            k,
            filter: { roomIds: [...roomIds] },
          });
          expect(
            found.map((match) => match.chunk.id),
            `${text}, k ${k}, ${roomIds.length} rooms`,
          ).toEqual(expected);
          compared += expected.length;
        }
      // Enough answers compared to mean something (the first test pins the path past the candidates).
      expect(compared).toBeGreaterThan(250);
    } finally {
      await storage.close();
    }
  });
});
