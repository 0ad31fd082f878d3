import { rmSync } from 'node:fs';
import { createHashedNgramTestEmbedding } from '@kaiwa/knowledge';
import type { BuildServerOptions, KaiwaServer } from '@kaiwa/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiwaApiError, KaiwaRestClient, type RoomKnowledge } from './rest-client.js';
import { startClientTestServer } from './test-support/client-test-server.js';

/*
 * The knowledge calls against a real reference server in this process (a temporary SQLite file, port 0),
 * its knowledge on through an embedding model of the test's own: a room owner turns a room's messages into
 * knowledge, waits for the index, and a member finds a passage with its permalink. A second server without
 * embeddings says knowledge is off.
 */

const PASSWORD = 'correct horse battery staple';

/** Waits until `check` passes (it throws until then). */
async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

async function start(
  name: string,
  embedder?: BuildServerOptions['embedder'],
): Promise<{ server: KaiwaServer; baseUrl: string; folder: string }> {
  return startClientTestServer(name, embedder ? { embedder } : {});
}

describe('KaiwaRestClient knowledge calls against a reference server', () => {
  let running: Awaited<ReturnType<typeof start>>;
  let off: Awaited<ReturnType<typeof start>>;
  const rest: Record<'ada' | 'grace', KaiwaRestClient> = {} as never;
  let roomId = '';
  let keyMessageId = '';

  beforeAll(async () => {
    running = await start('knowledge', createHashedNgramTestEmbedding({ dimensions: 64 }));
    off = await start('knowledge-off');
    for (const username of ['ada', 'grace'] as const) {
      await running.server.accounts.createAccount({ username, role: 'member', password: PASSWORD });
      rest[username] = new KaiwaRestClient({ baseUrl: running.baseUrl });
      await rest[username].login(username, PASSWORD);
    }
    const room = await rest.ada.createRoom({ kind: 'channel', name: 'ops', topic: '' });
    roomId = room.id;
    await rest.grace.joinRoom(roomId);
    await rest.ada.sendMessage(roomId, { text: 'Lunch is at noon on Fridays.' });
    keyMessageId = (
      await rest.ada.sendMessage(roomId, {
        text: 'The backup key is in the red safe next to the server rack.',
      })
    ).id;
  });

  afterAll(async () => {
    for (const each of [running, off]) {
      await each?.server.close();
      if (each) rmSync(each.folder, { recursive: true, force: true });
    }
  });

  it('says knowledge is on, with the embedding model', async () => {
    expect(await rest.grace.knowledgeInfo()).toMatchObject({
      enabled: true,
      model: 'test:hashed-ngrams-64',
      dimensions: 64,
    });
  });

  it('lets the owner turn a room into knowledge, indexes it, and lets a member find the passage', async () => {
    expect(await rest.ada.roomKnowledge(roomId)).toEqual({
      messages: false,
      files: false,
      indexing: null,
      documents: [],
    });
    const turnedOn = await rest.ada.setRoomKnowledge(roomId, { messages: true, files: true });
    expect(turnedOn).toMatchObject({ messages: true, files: true });

    const indexed: RoomKnowledge = await eventually(async () => {
      const knowledge = await rest.grace.roomKnowledge(roomId);
      expect(knowledge.indexing?.state).toBe('done');
      return knowledge;
    });
    expect(indexed.indexing).toMatchObject({ state: 'done', messages: 2 });
    expect(indexed.indexing?.chunks).toBeGreaterThan(0);
    expect(Date.parse(indexed.indexing?.updatedAt ?? '')).not.toBeNaN();

    const { passages } = await rest.grace.searchKnowledge('where is the backup key?', { limit: 3 });
    expect(passages.length).toBeGreaterThan(0);
    expect(passages.length).toBeLessThanOrEqual(3);
    const [best] = passages;
    expect(best?.text).toContain('red safe');
    expect(best?.source).toMatchObject({ type: 'message', roomId });
    expect(best?.source.type === 'message' && best.source.messageIds).toContain(keyMessageId);
    expect(best?.link).toMatch(new RegExp(`^/rooms/${roomId}\\?message=[0-9A-Za-z]+$`));
    expect(typeof best?.score).toBe('number');
  });

  it('refuses the settings to a member who is not an owner', async () => {
    const refused = await rest.grace
      .setRoomKnowledge(roomId, { messages: false, files: false })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(KaiwaApiError);
    expect(refused).toMatchObject({ status: 403 });
    expect((await rest.grace.roomKnowledge(roomId)).messages).toBe(true);
  });

  it('turns a room off again: no indexing state, no passages', async () => {
    expect(await rest.ada.setRoomKnowledge(roomId, { messages: false, files: false })).toEqual({
      messages: false,
      files: false,
      indexing: null,
      documents: [],
    });
    await eventually(async () =>
      expect((await rest.grace.searchKnowledge('backup key')).passages).toEqual([]),
    );
  });

  it('says knowledge is off on a server without embeddings, and refuses the other calls with knowledge_off', async () => {
    await off.server.accounts.createAccount({ username: 'ada', role: 'member', password: PASSWORD });
    const client = new KaiwaRestClient({ baseUrl: off.baseUrl });
    await client.login('ada', PASSWORD);
    expect(await client.knowledgeInfo()).toEqual({
      enabled: false,
      model: null,
      dimensions: null,
      chunks: null,
    });
    const room = await client.createRoom({ kind: 'channel', name: 'plain', topic: '' });
    for (const call of [
      () => client.searchKnowledge('anything'),
      () => client.roomKnowledge(room.id),
      () => client.setRoomKnowledge(room.id, { messages: true, files: false }),
    ]) {
      const error = await call().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(KaiwaApiError);
      expect(error).toMatchObject({ status: 404, code: 'knowledge_off' });
    }
  });
});
