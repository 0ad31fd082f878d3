import type { Message } from '@kaiwa/core';
import { createHashedNgramTestEmbedding } from '@kaiwa/knowledge';
import { NOTHING_FOUND_ANSWER } from '@kaiwa/llm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestServer as ModelServer,
  startTestServer as startModelServer,
} from '../../llm/src/test-support/start-test-server.js';
import { loadConfig } from './config.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * The assistant answering from a room's knowledge: the real OpenAI-compatible test server of @kaiwa/llm (its
 * `cite` model answers with the first sentence of the source in its prompt that shares most words with the
 * question, and that source's number), the real knowledge base on SQLite with the hashed n-gram test embedding.
 * Answers cite the room's own sources with links; a room whose knowledge holds nothing gets "found nothing"
 * instead of a guess; a private room's text never reaches an answer posted in another room.
 */

let modelServer: ModelServer;
let test: TestServer;
let token = '';
let botId = '';

async function ask(roomId: string, text: string): Promise<Message> {
  const asked = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, { token, body: { text } });
  expect(asked.statusCode, asked.body).toBe(201);
  await test.server.assistant?.idle();
  const page = await test.server.engine.history(asked.json().authorId, { roomId, limit: 50 });
  const reply = page.messages.find(
    (message) => message.authorId === botId && message.replyToId === asked.json().id,
  );
  if (!reply) throw new Error(`no answer to "${text}"`);
  return reply;
}

async function room(name: string, kind: 'channel' | 'group', knowledge: boolean): Promise<string> {
  const created = await test.call('POST', '/api/v1/rooms', { token, body: { kind, name } });
  expect(created.statusCode, created.body).toBe(201);
  const id = created.json().id as string;
  if (kind === 'group') {
    // The assistant answers where it is a member.
    const added = await test.call('POST', `/api/v1/rooms/${id}/members`, { token, body: { userId: botId } });
    expect(added.statusCode, added.body).toBeLessThan(300);
  }
  if (knowledge) {
    const set = await test.call('PUT', `/api/v1/rooms/${id}/knowledge`, {
      token,
      body: { messages: true, files: false },
    });
    expect(set.statusCode, set.body).toBe(200);
  }
  return id;
}

async function say(roomId: string, text: string): Promise<void> {
  const sent = await test.call('POST', `/api/v1/rooms/${roomId}/messages`, { token, body: { text } });
  expect(sent.statusCode, sent.body).toBe(201);
}

beforeAll(async () => {
  modelServer = await startModelServer();
  const { assistant } = loadConfig({
    env: { KAIWA_LLM_BASE_URL: modelServer.baseURL, KAIWA_LLM_MODEL: 'cite' },
  });
  test = await startTestServer(
    { assistant },
    { embedder: createHashedNgramTestEmbedding({ dimensions: 96 }) },
  );
  ({ token } = await test.signedIn('member'));
  botId = test.server.assistant?.botUser.id as string;
});

afterAll(async () => {
  await test?.close();
  await modelServer?.stop();
});

describe('the assistant with knowledge', () => {
  it('answers from the room’s own sources, cites them with links, and never from a private room elsewhere', async () => {
    const secrets = await room('vault-notes', 'group', true);
    await say(secrets, 'The spare backup key is hidden in the blue drawer of the vault.');
    const ops = await room('ops', 'channel', true);
    await say(ops, 'The backup key is stored in the red safe next to the server rack.');
    await say(ops, 'Lunch is at noon on Fridays.');
    await test.server.knowledge?.idle();

    const answer = await ask(ops, '@assistant where is the backup key stored?');
    expect(answer.text).toContain('The backup key is stored in the red safe next to the server rack. [1]');
    expect(answer.text).toContain('\n\nSources:\n[1] [#ops, ');
    expect(answer.text).toContain(`](/rooms/${ops}?message=`);
    expect(answer.text).not.toContain('blue drawer');
    // Not even the prompt saw the private room: the model was given this room's sources only.
    const [request] = (await modelServer.requests())
      .filter((each) => each.path === '/v1/chat/completions')
      .slice(-1);
    const sent = (request?.body.messages ?? []) as { role: string; content: string }[];
    const system = sent[0]?.content ?? '';
    expect(system).toContain('red safe');
    expect(system).not.toContain('blue drawer');
    const sources = (answer.metadata.assistant as { sources: { number: number; link: string }[] }).sources;
    expect(sources).toHaveLength(1);
    expect(sources[0]?.link).toMatch(new RegExp(`^/rooms/${ops}\\?message=`));
  });

  it('never cites an earlier question to the assistant as a source', async () => {
    const desk = await room('help-desk', 'channel', true);
    await say(desk, 'The printer toner is ordered from the supplier on the first Monday.');
    await ask(desk, '@assistant when is the printer toner ordered?');
    await test.server.knowledge?.idle();
    const again = await ask(desk, '@assistant when is the printer toner ordered?');
    expect(again.text).toContain('The printer toner is ordered from the supplier on the first Monday. [1]');
    const [request] = (await modelServer.requests())
      .filter((each) => each.path === '/v1/chat/completions')
      .slice(-1);
    const system = ((request?.body.messages ?? []) as { role: string; content: string }[])[0]?.content ?? '';
    expect(system).toContain('first Monday');
    expect(system).not.toContain('when is the printer toner ordered');
  });

  it('says it found nothing instead of guessing when the room’s knowledge holds nothing', async () => {
    const empty = await room('empty-knowledge', 'channel', true);
    await test.server.knowledge?.idle();
    const answer = await ask(empty, '@assistant where is the backup key stored?');
    expect(answer.text).toBe(NOTHING_FOUND_ANSWER);
    expect(answer.metadata.assistant).toMatchObject({ sources: [] });
  });

  it('answers as before, with no sources, in a room without knowledge', async () => {
    const plain = await room('no-knowledge', 'channel', false);
    await say(plain, 'The backup key is stored in the red safe next to the server rack.');
    const answer = await ask(plain, '@assistant where is the backup key stored?');
    expect(answer.text).toBe('I was given no sources.');
    expect(answer.metadata.assistant).not.toHaveProperty('sources');
  });
});
