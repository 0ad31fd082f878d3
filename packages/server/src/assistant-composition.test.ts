import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestServer as ModelServer,
  startTestServer as startModelServer,
} from '../../llm/src/test-support/start-test-server.js';
import { composeAssistant } from './assistant-composition.js';
import { loadConfig } from './config.js';
import { type Frame, TestClient } from './realtime/test-support.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * The assistant composed into the server: a real OpenAI-compatible server process (the deterministic SSE
 * test server of @kaiwa/llm) behind KAIWA_LLM_BASE_URL, a real listening server, a real WebSocket client.
 */

let modelServer: ModelServer;
let test: TestServer;
let url: string;
let assistantConfig: ReturnType<typeof loadConfig>['assistant'];

beforeAll(async () => {
  modelServer = await startModelServer();
  const { assistant } = loadConfig({
    env: {
      KAIWA_LLM_BASE_URL: modelServer.baseURL,
      KAIWA_LLM_MODEL: 'echo',
      KAIWA_ASSISTANT_USERNAME: 'helper',
    },
  });
  assistantConfig = assistant;
  test = await startTestServer({ port: 0, host: '127.0.0.1', assistant });
  url = `${(await test.server.listen()).replace('http', 'ws')}/ws`;
});
afterAll(async () => {
  await test?.close();
  await modelServer?.stop();
});

describe('assistant composed into the server', () => {
  it('still creates the first admin on a fresh database, though the assistant user came first', () => {
    expect(test.server.firstAdmin?.username).toBe('admin');
    expect(test.announcements.join('\n')).toContain('admin');
  });

  it('tells clients in the server info that the assistant answers', async () => {
    expect((await test.call('GET', '/api/v1/server')).json()).toMatchObject({ assistantEnabled: true });
  });

  it('is off without KAIWA_LLM_BASE_URL and validates its settings', () => {
    expect(loadConfig({ env: {} }).assistant).toBeUndefined();
    expect(() => loadConfig({ env: { KAIWA_LLM_BASE_URL: 'http://127.0.0.1:1/v1' } })).toThrow(
      /KAIWA_LLM_MODEL: must be set/,
    );
    expect(() =>
      loadConfig({
        env: { KAIWA_LLM_BASE_URL: 'nope', KAIWA_LLM_MODEL: 'm', KAIWA_LLM_API_KEY: 'secret-key' },
      }),
    ).toThrow(/KAIWA_LLM_BASE_URL: must be an http/);
    const elyza = loadConfig({
      env: { KAIWA_LLM_BASE_URL: 'http://127.0.0.1:1/v1', KAIWA_LLM_PRESET: 'elyza' },
    });
    expect(elyza.assistant).toMatchObject({
      model: 'elyza/ELYZA-japanese-Llama-2-7b-instruct',
      preset: 'elyza',
      username: 'assistant',
    });
  });

  it('streams message.delta frames to subscribers, then the stored message.created', async () => {
    const { token } = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'ask-helper' } })
    ).json();
    const client = await TestClient.as(url, token, { presence: false });
    await client.request({ type: 'subscribe', roomId: room.id, lastSeq: 0 });
    const asked = await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
      token,
      body: { text: '@helper hello?' },
    });
    expect(asked.statusCode).toBe(201);
    const created = await client.waitFor(
      (frame) =>
        frame.type === 'message.created' &&
        (frame.payload as { message: { authorId: string } }).message.authorId ===
          test.server.assistant!.botUser.id,
    );
    await client.waitFor((frame) => frame.type === 'message.delta' && frame.done === true);
    const deltas = client.frames.filter((frame): frame is Frame => frame.type === 'message.delta');
    const createdAt = client.frames.indexOf(created);
    const streamed = deltas.filter((frame) => !frame.done);
    expect(streamed.length).toBeGreaterThan(1);
    expect(client.frames.indexOf(streamed.at(-1)!)).toBeLessThan(createdAt);
    const message = (created.payload as { message: { text: string; replyToId: string } }).message;
    expect(streamed.map((frame) => frame.text).join('')).toBe(message.text);
    expect(streamed[0]).toMatchObject({ roomId: room.id, replyTo: asked.json().id, threadRootId: null });
    expect(typeof streamed[0]!.streamId).toBe('string');
    await client.close();
  });

  it('lets the room owner set per-room settings over REST, and no one else', async () => {
    const owner = await test.signedIn('member');
    const other = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', {
        token: owner.token,
        body: { kind: 'channel', name: 'jp-room' },
      })
    ).json();
    await test.call('POST', `/api/v1/rooms/${room.id}/join`, { token: other.token });
    const path = `/api/v1/rooms/${room.id}/assistant`;
    const refused = await test.call('PUT', path, { token: other.token, body: { preset: 'elyza' } });
    expect(refused.statusCode).toBe(403);
    const set = await test.call('PUT', path, {
      token: owner.token,
      body: { preset: 'elyza', model: 'echo' },
    });
    expect(set.statusCode).toBe(200);
    expect(set.json()).toEqual({
      preset: 'elyza',
      model: 'echo',
      systemPrompt: 'あなたは誠実で優秀な日本人のアシスタントです。',
    });
    expect((await test.call('GET', path, { token: other.token })).json()).toMatchObject({ preset: 'elyza' });

    await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
      token: owner.token,
      body: { text: '@helper こんにちは' },
    });
    await test.server.assistant!.idle();
    const requests = await modelServer.requests();
    const last = requests.at(-1)!;
    // The ELYZA preset sends its Llama-2 prompt to /completions.
    expect(last.path).toBe('/v1/completions');
    expect(String(last.body.prompt)).toContain('<<SYS>>\nあなたは誠実で優秀な日本人のアシスタントです。');

    // The settings are stored: an assistant composed afresh on the same store (a restart) has them.
    const restarted = await composeAssistant(test.server.engine, assistantConfig!, { warn() {}, error() {} });
    expect(restarted.roomSettings(room.id)).toEqual(set.json());
  });
});
