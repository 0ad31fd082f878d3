import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddingModel } from '@kaiwa/core';
import { createHashedNgramTestEmbedding } from '@kaiwa/knowledge';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomSecret } from './scale/scale-test-support.js';
import { multipartBody, startTestServer, type TestServer } from './test-support.js';

/*
 * A change of embedding model on one SQLite file shared by several server instances (each with its own
 * in-process bus): the new model's index is filled at start by exactly one of the instances starting
 * together (the full index and the documents' re-index are claimed, as live indexing's batches are), the
 * old model's index stays while the re-index has not completed, and is dropped once it has.
 */

/**
 * The test embedding of `dimensions` (its model id says them, so another size is another model), with
 * every text it embedded kept, taking 300 ms per call so that instances starting together overlap; or
 * failing every call (`broken`), as a model server that is down.
 */
function embedding(dimensions: number, embedded: string[], broken = false): EmbeddingModel {
  const base = createHashedNgramTestEmbedding({ dimensions });
  return {
    specificationVersion: 'v1',
    provider: base.provider,
    modelId: base.modelId,
    dimensions,
    async embed(texts) {
      if (broken) throw new Error('the embedding server is down');
      embedded.push(...texts);
      await new Promise((resolve) => setTimeout(resolve, 300));
      return base.embed(texts);
    },
  };
}

describe('a new embedding model (SQLite file, several instances)', () => {
  let folder: string;
  let writer: TestServer;
  const open: TestServer[] = [];
  let token = '';
  let roomId = '';
  const jwtSecret = randomSecret();

  const shared = () => ({
    databaseUrl: join(folder, 'kaiwa.sqlite'),
    uploadDirectory: join(folder, 'up'),
    jwtSecret,
  });
  const indexer = async (embedder: EmbeddingModel) => {
    const server = await startTestServer(shared(), { embedder });
    open.push(server);
    return server;
  };
  const closeAll = async () => {
    for (const server of open.splice(0)) await server.close();
  };
  /** The vector indexes in the database, read from the file itself. */
  const indexes = async (): Promise<string[]> => {
    const store = await createSqliteStore({ filename: join(folder, 'kaiwa.sqlite') });
    try {
      return (await store.knowledge.listIndexes()).map((index) => index.name);
    } finally {
      await store.close();
    }
  };
  const search = async (server: TestServer, q: string): Promise<string[]> => {
    const response = await server.call('GET', `/api/v1/knowledge/search?q=${encodeURIComponent(q)}&k=10`, {
      token,
    });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json().passages as { text: string }[]).map((passage) => passage.text);
  };

  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'kaiwa-knowledge-reindex-'));
    writer = await startTestServer(shared());
    const signedIn = await writer.signedIn('member');
    token = signedIn.token;
    roomId = (
      await writer.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'reindex' } })
    ).json().id;
    for (const text of [
      'Marker alpha: the deploy key rotates every ninety days',
      'Marker beta: the staging database is called quokka',
    ]) {
      const sent = await writer.call('POST', `/api/v1/rooms/${roomId}/messages`, { token, body: { text } });
      expect(sent.statusCode, sent.body).toBe(201);
    }
    const { payload, headers } = multipartBody(
      { roomId },
      {
        name: 'runbook.md',
        type: 'text/markdown',
        content: '# Runbook\n\nMarker gamma: start the diesel generator behind loading dock B.',
      },
    );
    const uploaded = await writer.call('POST', '/api/v1/files', { token, body: payload, headers });
    expect(uploaded.statusCode, uploaded.body).toBe(201);
    const attached = await writer.call('POST', `/api/v1/rooms/${roomId}/messages`, {
      token,
      body: { text: 'runbook attached', attachmentIds: [uploaded.json().id] },
    });
    expect(attached.statusCode, attached.body).toBe(201);
  });

  afterAll(async () => {
    await closeAll();
    await writer?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('keeps the old index until the new model has indexed every room, then drops it', async () => {
    const first = await indexer(embedding(96, []));
    const chosen = await first.call('PUT', `/api/v1/rooms/${roomId}/knowledge`, {
      token,
      body: { messages: true, files: true },
    });
    expect(chosen.statusCode, chosen.body).toBe(200);
    await first.server.knowledge?.idle();
    expect(await indexes()).toEqual(['knowledge:test:hashed-ngrams-96']);
    expect((await search(first, 'diesel generator loading dock')).join('\n')).toContain('Marker gamma');
    await closeAll();

    // A new model that cannot embed: its re-index fails, and the old model's index stays.
    const broken = await indexer(embedding(64, [], true));
    await broken.server.knowledge?.idle();
    expect((await indexes()).sort()).toEqual([
      'knowledge:test:hashed-ngrams-64',
      'knowledge:test:hashed-ngrams-96',
    ]);
    await closeAll();

    // Two instances with the new model, started together: one re-indexes the room's messages, one its
    // document, each once; then the old index goes.
    const embeddedA: string[] = [];
    const embeddedB: string[] = [];
    const [a, b] = await Promise.all([indexer(embedding(64, embeddedA)), indexer(embedding(64, embeddedB))]);
    await Promise.all([a.server.knowledge?.idle(), b.server.knowledge?.idle()]);
    const all = [...embeddedA, ...embeddedB];
    for (const marker of ['Marker alpha', 'Marker beta', 'Marker gamma'])
      expect(
        all.filter((text) => text.includes(marker)),
        marker,
      ).toHaveLength(1);
    expect(await indexes()).toEqual(['knowledge:test:hashed-ngrams-64']);
    expect((await search(b, 'staging database quokka')).join('\n')).toContain('quokka');
    expect((await search(a, 'diesel generator loading dock')).join('\n')).toContain('Marker gamma');
  });
});
