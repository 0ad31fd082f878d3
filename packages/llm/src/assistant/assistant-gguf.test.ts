import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatEngine, type ChatStore, type GlobalEvent } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenAICompatibleChatModel } from '../openai-compatible/openai-compatible-chat-model.js';
import { startTestServer, type TestServer } from '../test-support/start-test-server.js';
import { writeTinyGguf } from '../test-support/write-tiny-gguf.js';
import { Assistant, ensureAssistantUser } from './assistant.js';

type Delta = Extract<GlobalEvent, { type: 'message.delta' }>['payload'];

let directory: string;
let server: TestServer;
let store: ChatStore;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'kaiwa-assistant-gguf-'));
  const modelPath = join(directory, 'tiny.gguf');
  writeTinyGguf(modelPath, 'こんにちは');
  server = await startTestServer({ KAIWA_TEST_GGUF: modelPath });
  store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

describe('Assistant on a real (tiny, random-weight) GGUF model served over HTTP by llama.cpp', () => {
  it('streams what the model generates and stores exactly that', async () => {
    const engine = new ChatEngine({ store });
    const alice = await engine.createUser({ username: 'alice' });
    const botUser = await ensureAssistantUser(engine);
    const model = createOpenAICompatibleChatModel({
      baseURL: server.baseURL,
      model: 'tiny-gguf',
      maxRetries: 0,
    });
    const assistant = new Assistant({ engine, model, botUser, maxTokens: 12, contextTokens: 256 });
    const deltas: Delta[] = [];
    engine.events.on('message.delta', (event) => deltas.push(event.payload));
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'gguf' });
    const asking = await engine.sendMessage(alice.id, { roomId: room.id, text: '@assistant こんにちは' });
    await assistant.idle();
    await assistant.stop();

    const page = await engine.history(alice.id, { roomId: room.id });
    const replies = page.messages.filter((message) => message.authorId === botUser.id);
    expect(replies).toHaveLength(1);
    const streamed = deltas.filter((delta) => !delta.done).map((delta) => delta.delta);
    expect(streamed.length).toBeGreaterThan(0);
    expect(replies[0]!.text).toBe(streamed.join(''));
    expect(replies[0]!.replyToId).toBe(asking.id);
    expect(replies[0]!.metadata).toMatchObject({ assistant: { model: 'tiny-gguf' } });
    engine.close();
  });
});
