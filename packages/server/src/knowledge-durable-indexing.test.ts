import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddingModel } from '@kaiwa/core';
import { createHashedNgramTestEmbedding } from '@kaiwa/knowledge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, randomSecret } from './scale/scale-test-support.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * Durable knowledge indexing on one database shared by several server instances — a real SQLite file, and
 * a PostgreSQL database when KAIWA_TEST_PG_URL is set — each with its own in-process bus, so none hears the
 * others' events live: messages written while no indexer runs (a crash
 * between the event and the index write) are indexed by the next indexer from the room's stored events;
 * two indexers catching up on one database embed each message once; edits and deletes made while no
 * indexer ran are applied after a restart.
 */

/**
 * The test embedding, with every text it embedded kept (to count how often a message was indexed), taking
 * 300 ms per call like a real model would, so that two instances catching up at once overlap.
 */
function countingEmbedding(embedded: string[]): EmbeddingModel {
  const base = createHashedNgramTestEmbedding({ dimensions: 96 });
  return {
    specificationVersion: 'v1',
    provider: base.provider,
    modelId: base.modelId,
    dimensions: base.dimensions,
    async embed(texts) {
      embedded.push(...texts);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return base.embed(texts);
    },
  };
}

const pgUrl = process.env.KAIWA_TEST_PG_URL || undefined;
if (!pgUrl)
  console.info(
    '[durable knowledge indexing] PostgreSQL skipped: set KAIWA_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test',
  );

for (const dialect of ['sqlite', 'postgres'] as const)
  describe.skipIf(dialect === 'postgres' && !pgUrl)(
    `durable knowledge indexing (${dialect === 'sqlite' ? 'SQLite file' : 'PostgreSQL'}, several instances)`,
    () => {
      let folder: string;
      let database: { url: string; drop(): Promise<void> } | undefined;
      let writer: TestServer;
      const open: TestServer[] = [];
      let token = '';
      let roomId = '';
      const jwtSecret = randomSecret();

      const shared = () => ({
        databaseUrl: database?.url ?? join(folder, 'kaiwa.sqlite'),
        uploadDirectory: join(folder, 'up'),
        jwtSecret,
      });
      const indexer = async (embedded: string[]) => {
        const server = await startTestServer(shared(), { embedder: countingEmbedding(embedded) });
        open.push(server);
        return server;
      };
      const send = async (text: string) => {
        const response = await writer.call('POST', `/api/v1/rooms/${roomId}/messages`, {
          token,
          body: { text },
        });
        expect(response.statusCode, response.body).toBe(201);
        return response.json() as { id: string };
      };
      const search = async (server: TestServer, q: string): Promise<string[]> => {
        const response = await server.call(
          'GET',
          `/api/v1/knowledge/search?q=${encodeURIComponent(q)}&k=10`,
          {
            token,
          },
        );
        expect(response.statusCode, response.body).toBe(200);
        return (response.json().passages as { text: string }[]).map((passage) => passage.text);
      };

      beforeAll(async () => {
        folder = mkdtempSync(join(tmpdir(), 'kaiwa-knowledge-durable-'));
        if (dialect === 'postgres') database = await createPostgresDatabase(pgUrl as string);
        // The writer has no knowledge: what it sends is stored with its events, and indexed by nobody live.
        writer = await startTestServer(shared());
        const signedIn = await writer.signedIn('member');
        token = signedIn.token;
        roomId = (
          await writer.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'durable' } })
        ).json().id;
      });

      afterAll(async () => {
        for (const server of open) await server.close();
        await writer?.close();
        await database?.drop();
        if (folder) rmSync(folder, { recursive: true, force: true });
      });

      it('indexes at start what was written while no indexer ran', async () => {
        const first = await indexer([]);
        const chosen = await first.call('PUT', `/api/v1/rooms/${roomId}/knowledge`, {
          token,
          body: { messages: true, files: false },
        });
        expect(chosen.statusCode, chosen.body).toBe(200);
        await first.server.knowledge?.idle();
        await first.close();
        open.splice(open.indexOf(first), 1);

        await send('The quarterly report is stored in the zephyrine archive');
        const fresh = await indexer([]);
        await fresh.server.knowledge?.idle();
        // A chunk, not only the full-text match that search would find without any index.
        expect(await fresh.server.knowledge?.chunkCount()).toBe(1);
        expect((await search(fresh, 'quarterly report zephyrine archive')).join('\n')).toContain('zephyrine');
      });

      it('has two indexers on one database embed each message once', async () => {
        const before = open.splice(0);
        for (const server of before) await server.close();
        await send('Marker alpha: the deploy key rotates every ninety days');
        await send('Marker beta: the staging database is called quokka');
        const embeddedA: string[] = [];
        const embeddedB: string[] = [];
        // Started together, both catch up on the same events at start.
        const [a, b] = await Promise.all([indexer(embeddedA), indexer(embeddedB)]);
        await Promise.all([a.server.knowledge?.catchUp(roomId), b.server.knowledge?.catchUp(roomId)]);
        const all = [...embeddedA, ...embeddedB];
        for (const marker of ['Marker alpha', 'Marker beta'])
          expect(all.filter((text) => text.includes(marker))).toHaveLength(1);
        expect((await search(a, 'staging database quokka')).join('\n')).toContain('quokka');
        expect((await search(b, 'deploy key rotates ninety days')).join('\n')).toContain('ninety days');
      });

      it('applies edits and deletes made while no indexer ran, after a restart', async () => {
        const edited = await send('The coffee machine is on the fourth floor');
        const deleted = await send('The printer password is marmalade');
        for (const server of open) await server.server.knowledge?.idle();
        // Indexed as first written, so the restart below has old chunks to replace and remove.
        expect(await open[0]?.server.knowledge?.chunkCount()).toBeGreaterThan(0);
        const indexedBefore = (await search(open[0] as TestServer, 'printer password marmalade')).join('\n');
        expect(indexedBefore).toContain('marmalade');
        for (const server of open.splice(0)) await server.close();

        const edit = await writer.call('PATCH', `/api/v1/messages/${edited.id}`, {
          token,
          body: { text: 'The coffee machine moved to the basement lounge' },
        });
        expect(edit.statusCode, edit.body).toBe(200);
        const removal = await writer.call('DELETE', `/api/v1/messages/${deleted.id}`, { token });
        expect(removal.statusCode, removal.body).toBeLessThan(300);

        const restarted = await indexer([]);
        await restarted.server.knowledge?.idle();
        const texts = (await search(restarted, 'coffee machine basement lounge printer marmalade')).join(
          '\n',
        );
        expect(texts).toContain('basement lounge');
        expect(texts).not.toContain('fourth floor');
        expect(texts).not.toContain('marmalade');
      });
    },
  );
