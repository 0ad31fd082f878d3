import { once } from 'node:events';
import { createServer } from 'node:net';
import {
  ChatEngine,
  type ChatStore,
  type GlobalEvent,
  InProcessBus,
  type Message,
  SYSTEM_ACTOR,
  type User,
} from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleChatModel } from '../openai-compatible/openai-compatible-chat-model.js';
import { startTestServer, type TestServer } from '../test-support/start-test-server.js';
import {
  Assistant,
  type AssistantOptions,
  type AssistantRoomSettings,
  assistantClaimKey,
  ensureAssistantUser,
  FRIENDLY_ERRORS,
  UNHEARD_VOICE_ANSWER,
} from './assistant.js';
import { buildContext, estimateTokens } from './context.js';

type Delta = Extract<GlobalEvent, { type: 'message.delta' }>['payload'];

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

let store: ChatStore;
let engine: ChatEngine;
let bus: InProcessBus;
let alice: User;
let bob: User;
let bot: User;
let assistant: Assistant | undefined;
let deltas: Delta[];

beforeEach(async () => {
  store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  bus = new InProcessBus();
  engine = new ChatEngine({ store, bus });
  alice = await engine.createUser({ username: 'alice', displayName: 'Alice' });
  bob = await engine.createUser({ username: 'bob', displayName: 'Bob' });
  bot = await ensureAssistantUser(engine, 'assistant');
  deltas = [];
  engine.events.on('message.delta', (event) => deltas.push(event.payload));
});
afterEach(async () => {
  await assistant?.stop();
  assistant = undefined;
  engine.close();
  await store.close();
});

const model = (name: string, baseURL = server.baseURL) =>
  createOpenAICompatibleChatModel({ baseURL, model: name, maxRetries: 0, timeoutMs: 5_000 });

function start(options: Partial<AssistantOptions> = {}): Assistant {
  assistant = new Assistant({ engine, model: model('echo'), botUser: bot, onError: () => {}, ...options });
  return assistant;
}

async function botMessages(roomId: string, threadRootId?: string): Promise<Message[]> {
  const page = await engine.history(alice.id, { roomId, ...(threadRootId ? { threadRootId } : {}) });
  return page.messages.filter((message) => message.authorId === bot.id);
}

const waitFor = async (check: () => boolean, timeoutMs = 5_000) => {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('Assistant against a real OpenAI-compatible server and a SQLite store', () => {
  it('answers a mention: deltas in order, then one stored message equal to their concatenation', async () => {
    start();
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'general' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'earlier context' });
    const asking = await engine.sendMessage(alice.id, { roomId: room.id, text: '@assistant say hello' });
    await assistant!.idle();

    const replies = await botMessages(room.id);
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    const streamed = deltas.filter((delta) => !delta.done);
    expect(streamed.length).toBeGreaterThan(1);
    expect(streamed.map((delta) => delta.delta).join('')).toBe(reply.text);
    expect(reply.text).toBe('Hello from Kaiwa. The end STOP after stop.');
    expect(reply.replyToId).toBe(asking.id);
    expect(reply.threadRootId).toBeNull();
    expect(new Set(deltas.map((delta) => delta.streamId)).size).toBe(1);
    expect(reply.metadata).toMatchObject({ assistant: { streamId: deltas[0]!.streamId, model: 'echo' } });
    expect(deltas.at(-1)).toMatchObject({ done: true, delta: '', replyToId: asking.id, roomId: room.id });

    const [request] = (await server.requests())
      .filter((each) => each.path === '/v1/chat/completions')
      .slice(-1);
    const sent = request!.body.messages as { role: string; content: string }[];
    expect(sent[0]!.role).toBe('system');
    expect(sent.at(-2)).toEqual({ role: 'user', content: 'Alice: earlier context' });
    expect(sent.at(-1)).toEqual({ role: 'user', content: 'Alice: say hello' });
  });

  it('ignores messages that do not mention it', async () => {
    start();
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'quiet' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'no bots here' });
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(0);
    expect(deltas).toHaveLength(0);
  });

  it('answers every message in a direct room with it', async () => {
    start();
    const room = await engine.openDirectRoom(alice.id, bot.id);
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'hello there' });
    await assistant!.idle();
    const replies = await botMessages(room.id);
    expect(replies.map((reply) => reply.text)).toEqual(['Hello from Kaiwa. The end STOP after stop.']);
  });

  it('replies in the thread of the asking message, with the thread as context', async () => {
    start();
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'threads' });
    const root = await engine.sendMessage(alice.id, { roomId: room.id, text: 'the thread root' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'off-thread noise' });
    const asking = await engine.sendMessage(alice.id, {
      roomId: room.id,
      threadRootId: root.id,
      text: '@assistant what is this thread about?',
    });
    await assistant!.idle();
    const replies = await botMessages(room.id, root.id);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toMatchObject({ threadRootId: root.id, replyToId: asking.id });
    expect(deltas[0]!.threadRootId).toBe(root.id);
    const [request] = (await server.requests()).slice(-1);
    const contents = (request!.body.messages as { content: string }[]).map((message) => message.content);
    expect(contents).toContain('Alice: the thread root');
    expect(contents).not.toContain('Alice: off-thread noise');
  });

  it('stops and stores nothing when the asking message is deleted mid-stream', async () => {
    start({ model: model('slow') });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'abort' });
    const asking = await engine.sendMessage(alice.id, { roomId: room.id, text: '@assistant count forever' });
    await waitFor(() => deltas.length >= 2);
    const started = Date.now();
    await engine.deleteMessage(alice.id, asking.id);
    await assistant!.idle();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await botMessages(room.id)).toHaveLength(0);
    expect(deltas.at(-1)).toMatchObject({ done: true, delta: '' });
    expect(deltas.length).toBeLessThan(50);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const requests = await server.requests();
    expect(requests.at(-1)!.closedEarly).toBe(true);
  });

  it('turns an unreachable backend into a friendly message', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    start({ model: model('echo', `http://127.0.0.1:${port}/v1`) });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'down' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: '@assistant are you there?' });
    await assistant!.idle();
    const replies = await botMessages(room.id);
    expect(replies.map((reply) => reply.text)).toEqual([FRIENDLY_ERRORS.backend_unreachable]);
    expect(replies[0]!.metadata).toMatchObject({ error: 'backend_unreachable' });
  });

  it('uses per-room settings: model and system prompt (a context error becomes a friendly message)', async () => {
    start({
      resolveModel: (settings) => (settings.model ? model(settings.model) : undefined),
    });
    const small = await engine.createRoom(alice.id, { kind: 'channel', name: 'small' });
    const jp = await engine.createRoom(alice.id, { kind: 'channel', name: 'jp' });
    assistant!.setRoomSettings(small.id, { model: 'context' });
    assistant!.setRoomSettings(jp.id, { systemPrompt: 'あなたは誠実で優秀な日本人のアシスタントです。' });
    await engine.sendMessage(alice.id, { roomId: small.id, text: '@assistant a long story' });
    await engine.joinRoom(bob.id, jp.id);
    // Bob asks: Alice's question in the other room is still running (one generation per user at a time).
    await engine.sendMessage(bob.id, { roomId: jp.id, text: '@assistant こんにちは' });
    await assistant!.idle();
    expect((await botMessages(small.id)).map((reply) => reply.text)).toEqual([
      FRIENDLY_ERRORS.context_too_long,
    ]);
    const requests = await server.requests();
    const japanese = requests.findLast((each) =>
      JSON.stringify(each.body.messages ?? '').includes('こんにちは'),
    );
    expect((japanese!.body.messages as { content: string }[])[0]!.content).toBe(
      'あなたは誠実で優秀な日本人のアシスタントです。',
    );
  });

  it('refuses politely beyond one generation per room and N requests per user per minute', async () => {
    start({ model: model('slow'), limits: { perUserPerMinute: 2 } });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'busy' });
    await engine.joinRoom(bob.id, room.id);
    const first = await engine.sendMessage(alice.id, {
      roomId: room.id,
      text: '@assistant long answer please',
    });
    await waitFor(() => deltas.length >= 1);
    await engine.sendMessage(bob.id, { roomId: room.id, text: '@assistant me too' });
    await waitFor(() => deltas.length >= 3);
    await engine.deleteMessage(alice.id, first.id);
    await assistant!.idle();
    const refusals = await botMessages(room.id);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.text).toMatch(/still answering another question in this room/);
    expect(refusals[0]!.metadata).toMatchObject({ refusal: true });

    // Rate: alice already asked once this minute; one more is fine, the third is refused.
    const quick = await engine.createRoom(alice.id, { kind: 'channel', name: 'quick' });
    await assistant!.stop();
    start({ model: model('echo'), limits: { perUserPerMinute: 1 } });
    await engine.sendMessage(alice.id, { roomId: quick.id, text: '@assistant one' });
    await assistant!.idle();
    await engine.sendMessage(alice.id, { roomId: quick.id, text: '@assistant two' });
    await assistant!.idle();
    const texts = (await botMessages(quick.id)).map((reply) => reply.text);
    expect(texts[0]).toBe('Hello from Kaiwa. The end STOP after stop.');
    expect(texts[1]).toMatch(/asked me 1 times in the last minute/);
  });
});

describe('voice messages (voiceTranscripts)', () => {
  /** A voice message: an audio file of the room (the bytes are the blob store's business, not needed here). */
  async function sendVoice(roomId: string, text: string): Promise<Message> {
    const file = await engine.createFileRecord(alice.id, {
      roomId,
      name: 'note.webm',
      mimeType: 'audio/webm',
      size: 1000,
      sha256: 'a'.repeat(64),
      storageKey: `voice/${roomId}`,
    });
    return engine.sendMessage(alice.id, { roomId, text, attachmentIds: [file.id] });
  }

  const lastQuestion = async () => {
    const requests = await server.requests();
    const messages = requests.at(-1)?.body.messages as { role: string; content: string }[];
    return messages.at(-1)?.content;
  };

  it('waits for the transcript, asks it as the question, and answers once', async () => {
    start({ voiceTranscripts: true });
    const room = await engine.openDirectRoom(alice.id, bot.id);
    const voice = await sendVoice(room.id, 'Voice message (0:03)');
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(0);

    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'pending' });
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(0);

    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, {
      status: 'done',
      text: 'what time is the meeting',
    });
    await assistant!.idle();
    const replies = await botMessages(room.id);
    expect(replies).toHaveLength(1);
    expect(replies[0]!.replyToId).toBe(voice.id);
    expect(await lastQuestion()).toBe('Alice: Voice message (0:03)\nwhat time is the meeting');

    // A second transcript (a retry) or an edit does not ask again.
    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'done', text: 'what time is it' });
    await engine.editMessage(alice.id, voice.id, { text: 'Voice message' });
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(1);
  });

  it('in a channel: answers a voice message that mentions it in its caption or calls it by name', async () => {
    start({ voiceTranscripts: true });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'voice-channel' });
    const unaddressed = await sendVoice(room.id, 'Voice message');
    await engine.recordTranscript(SYSTEM_ACTOR, unaddressed.id, { status: 'done', text: 'lunch at noon' });
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(0);

    const captioned = await sendVoice(room.id, '@assistant');
    await engine.recordTranscript(SYSTEM_ACTOR, captioned.id, { status: 'done', text: 'where is lunch' });
    await assistant!.idle();
    expect(await lastQuestion()).toBe('Alice: where is lunch');

    const called = await sendVoice(room.id, 'Voice message');
    await engine.recordTranscript(SYSTEM_ACTOR, called.id, {
      status: 'done',
      text: 'hey assistant when is lunch',
    });
    await assistant!.idle();
    expect((await botMessages(room.id)).map((reply) => reply.replyToId)).toEqual([captioned.id, called.id]);
    // An assistant's name inside a word or later in the sentence is no call.
    const other = await sendVoice(room.id, 'Voice message');
    await engine.recordTranscript(SYSTEM_ACTOR, other.id, {
      status: 'done',
      text: 'assistants ask the assistant',
    });
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(2);
  });

  it('says once that it could not hear a voice message whose transcript failed, and answers a retry that works', async () => {
    start({ voiceTranscripts: true });
    const asked = (await server.requests()).length;
    const direct = await engine.openDirectRoom(alice.id, bot.id);
    const voice = await sendVoice(direct.id, 'Voice message (0:02)');
    const failed = { status: 'failed', error: 'the audio is not audio Kaiwa can read' } as const;
    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, failed);
    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, failed);
    await assistant!.idle();
    const unheard = await botMessages(direct.id);
    expect(unheard.map((reply) => [reply.text, reply.replyToId])).toEqual([[UNHEARD_VOICE_ANSWER, voice.id]]);
    expect(unheard[0]!.metadata).toMatchObject({ assistant: { unheard: true } });
    // The model was not asked.
    expect(await server.requests()).toHaveLength(asked);

    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'done', text: 'what is for lunch' });
    await assistant!.idle();
    expect((await botMessages(direct.id)).map((reply) => reply.replyToId)).toEqual([voice.id, voice.id]);
    expect(await lastQuestion()).toBe('Alice: Voice message (0:02)\nwhat is for lunch');

    // In a channel only a voice message that addressed it hears back.
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'unheard' });
    const unaddressed = await sendVoice(room.id, 'Voice message');
    await engine.recordTranscript(SYSTEM_ACTOR, unaddressed.id, failed);
    const captioned = await sendVoice(room.id, '@assistant');
    await engine.recordTranscript(SYSTEM_ACTOR, captioned.id, failed);
    await assistant!.idle();
    expect((await botMessages(room.id)).map((reply) => reply.replyToId)).toEqual([captioned.id]);
  });

  it('without voiceTranscripts a voice message counts by its caption, when sent', async () => {
    start();
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'captions' });
    const voice = await sendVoice(room.id, '@assistant caption question');
    await assistant!.idle();
    expect((await botMessages(room.id)).map((reply) => reply.replyToId)).toEqual([voice.id]);
    await engine.recordTranscript(SYSTEM_ACTOR, voice.id, { status: 'done', text: 'hey assistant again' });
    await assistant!.idle();
    expect(await botMessages(room.id)).toHaveLength(1);
  });
});

describe('context building', () => {
  it('estimates tokens by characters and keeps the newest history within the budget', () => {
    expect(estimateTokens('abcdefgh')).toBe(2 + 4);
    expect(estimateTokens('こんにちは')).toBe(5 + 4);
    const message = (id: string, text: string, authorId = 'u1'): Message => ({
      id,
      roomId: 'r',
      authorId,
      seq: 1,
      text,
      mentions: { userIds: [], room: false, here: false },
      threadRootId: null,
      replyToId: null,
      attachments: [],
      reactions: [],
      replyCount: 0,
      lastReplyAt: null,
      clientMessageId: null,
      metadata: {},
      createdAt: '2026-01-01T00:00:00.000Z',
      editedAt: null,
      deletedAt: null,
    });
    const messages = buildContext({
      systemPrompt: 'sys',
      history: [message('1', 'old '.repeat(100)), message('2', 'recent', 'bot'), message('3', 'newer')],
      asking: message('4', 'question'),
      botUserId: 'bot',
      names: new Map([['u1', 'Alice']]),
      budget: 40,
    });
    expect(messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'assistant', content: 'recent' },
      { role: 'user', content: 'Alice: newer' },
      { role: 'user', content: 'Alice: question' },
    ]);
  });
});

describe('guards', () => {
  it('refuses to speak as an existing person, and refuses at most once per cooldown', async () => {
    await expect(ensureAssistantUser(engine, 'alice')).rejects.toThrow(/is not a bot/);

    start({ model: model('echo'), limits: { perUserPerMinute: 1 } });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'spam' });
    for (const text of ['@assistant one', '@assistant two', '@assistant three']) {
      await engine.sendMessage(alice.id, { roomId: room.id, text });
      await assistant!.idle();
    }
    const texts = (await botMessages(room.id)).map((reply) => reply.text);
    expect(texts).toHaveLength(2);
    expect(texts[1]).toMatch(/Please wait a moment/);
  });

  it('stays out of private groups it was not invited to', async () => {
    start();
    const before = (await server.requests()).length;
    const room = await engine.createRoom(alice.id, { kind: 'group', name: 'secret' });
    const asking = await engine.sendMessage(alice.id, { roomId: room.id, text: '@assistant hello?' });
    expect(asking.mentions.userIds).toContain(bot.id);
    await assistant!.idle();
    expect(deltas).toHaveLength(0);
    expect((await server.requests()).length).toBe(before);
  });

  it('answers once when two assistants (two instances) share the store and the bus', async () => {
    // A second engine on the same store and bus, as a second server instance would be.
    const bus = new InProcessBus();
    const first = new ChatEngine({ store, bus });
    const second = new ChatEngine({ store, bus });
    const assistants = [first, second].map(
      (each) => new Assistant({ engine: each, model: model('echo'), botUser: bot, onError: () => {} }),
    );
    try {
      const room = await first.createRoom(alice.id, { kind: 'channel', name: 'shared' });
      const asking = await second.sendMessage(alice.id, { roomId: room.id, text: '@assistant once please' });
      await Promise.all(assistants.map((each) => each.idle()));
      const replies = await botMessages(room.id);
      expect(replies.map((reply) => reply.replyToId)).toEqual([asking.id]);
      expect(await store.roomSettings.get(room.id, assistantClaimKey(bot.id, asking.id))).toEqual({
        claimedAt: expect.any(String),
      });
    } finally {
      for (const each of assistants) await each.stop();
      first.close();
      second.close();
    }
  });

  it("reads a room's settings again when a room.settings.updated event for its key arrives", async () => {
    const saved = new Map<string, AssistantRoomSettings>();
    const reads: string[] = [];
    start({
      settingsSource: {
        key: 'assistant',
        async read(roomId) {
          reads.push(roomId);
          return saved.get(roomId);
        },
        async readAll() {
          return Object.fromEntries(saved);
        },
      },
    });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'tuned' });
    saved.set(room.id, { systemPrompt: 'Answer in haiku.' });
    await bus.publish({ type: 'room.settings.updated', payload: { roomId: room.id, key: 'other' } });
    await assistant!.idle();
    expect(reads).toEqual([]);
    await bus.publish({
      type: 'room.settings.updated',
      payload: { roomId: room.id, key: 'assistant' },
    });
    await assistant!.idle();
    expect(assistant!.roomSettings(room.id)).toEqual({ systemPrompt: 'Answer in haiku.' });
    saved.delete(room.id);
    await bus.publish({
      type: 'room.settings.updated',
      payload: { roomId: room.id, key: 'assistant' },
    });
    await assistant!.idle();
    expect(assistant!.roomSettings(room.id)).toEqual({});
  });
});
