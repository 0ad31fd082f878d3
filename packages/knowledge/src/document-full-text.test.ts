import { createHash } from 'node:crypto';
import { ChatEngine, type User } from '@kaiwa/core';
import type { KyselyChatStore } from '@kaiwa/store-kysely';
import { openTestStore, testSkipReason } from '@kaiwa/store-kysely/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHashedNgramTestEmbedding } from './hashed-ngram-test-embedding.js';
import { KnowledgeBase } from './knowledge-base.js';

/*
 * The documents' full-text side of retrieval on every database: with an embedding of 4 dimensions, the
 * vectors of the test embedding are next to random, so a document passage found by its one rare word at
 * rank 1 of the full-text ranking was found by the database's full-text search (FTS5, tsvector, FULLTEXT),
 * which must also leave out every document of a room the asker does not read.
 */
for (const dialect of ['sqlite', 'postgres', 'mysql'] as const) {
  const skip = testSkipReason(dialect);
  describe.skipIf(skip !== undefined)(`KnowledgeBase documents' full text on ${dialect}`, () => {
    let store: KyselyChatStore;
    let engine: ChatEngine;
    let knowledge: KnowledgeBase;
    let alice: User;
    let bob: User;
    let town = '';
    let secret = '';

    const upload = async (actor: User, roomId: string, name: string, body: string) => {
      const bytes = new TextEncoder().encode(body);
      const file = await engine.createFileRecord(actor.id, {
        name,
        mimeType: 'text/markdown',
        size: bytes.byteLength,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        storageKey: `files/${name}`,
        roomId,
      });
      await knowledge.indexFile(file, bytes);
      return file;
    };

    beforeAll(async () => {
      store = await openTestStore(dialect);
      engine = new ChatEngine({ store });
      alice = await engine.createUser({ username: 'alice', role: 'member' });
      bob = await engine.createUser({ username: 'bob', role: 'member' });
      knowledge = await KnowledgeBase.open({
        chat: engine,
        vectors: store.knowledge,
        embedder: createHashedNgramTestEmbedding({ dimensions: 4 }),
      });
      town = (await engine.createRoom(alice.id, { kind: 'channel', name: 'town' })).id;
      await engine.joinRoom(bob.id, town);
      secret = (await engine.createRoom(alice.id, { kind: 'group', name: 'secret' })).id;
      // Filler, so that a near-random vector ranking has plenty to put first.
      const filler = Array.from(
        { length: 30 },
        (_, section) =>
          `## Section ${section}\n\nOperations note ${section}: restart the service, check the logs, and tell the team.`,
      ).join('\n\n');
      await upload(alice, town, 'handbook.md', `# Handbook\n\n${filler}`);
      await upload(
        alice,
        town,
        'storage.md',
        '# Storage\n\nThe staging database is called quokka and lives on the second rack.',
      );
      await upload(
        alice,
        secret,
        'launch.md',
        '# Launch\n\nThe launch codes are kept in the zephyrine vault behind the quokka poster.',
      );
    });

    afterAll(async () => {
      engine?.close();
      await store?.close();
    });

    it('finds a document passage by a word only full-text search can find', async () => {
      const passages = await knowledge.retrieve({ actorId: bob.id, query: 'what is quokka?', k: 5 });
      const found = passages.find((passage) => passage.text.includes('staging database is called quokka'));
      expect(found, JSON.stringify(passages)).toBeDefined();
      expect(found?.ranks.fullText).toBe(1);
      expect(found?.source).toMatchObject({ type: 'file', roomId: town });
      // By the document's name and headings too, which are not in the passage's text.
      const titled = await knowledge.retrieve({ actorId: bob.id, query: 'storage', k: 5 });
      expect(titled.find((passage) => passage.ranks.fullText === 1)?.text).toContain('quokka');
    });

    it("never shows a private room's document to a non-member, and shows it to a member", async () => {
      for (const query of ['zephyrine vault', 'launch codes zephyrine quokka poster', 'quokka']) {
        const passages = await knowledge.retrieve({ actorId: bob.id, query, k: 50 });
        for (const passage of passages) {
          expect(passage.source.roomId, query).not.toBe(secret);
          expect(passage.text, query).not.toContain('zephyrine');
        }
      }
      const member = await knowledge.retrieve({ actorId: alice.id, query: 'zephyrine vault', k: 5 });
      expect(member[0]?.ranks.fullText).toBe(1);
      expect(member[0]?.source).toMatchObject({ type: 'file', roomId: secret });
      // Within rooms the caller names, still only those the asker reads.
      const within = await knowledge.retrieve({
        actorId: bob.id,
        query: 'zephyrine',
        k: 50,
        withinRooms: new Set([secret]),
      });
      expect(within).toEqual([]);
    });
  });
}
