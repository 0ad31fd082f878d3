import { KaiwaRoomsAdapter } from '@kaiwa/bot';
import { ChatEngine, type ChatStore, silentPlatformLogger } from '@kaiwa/core';
import { createTelegramAdapter } from '@kaiwa/platform-telegram';
import { FakeTelegramApi } from '@kaiwa/platform-telegram/testing';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExampleBot } from './bot.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
): Promise<T> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = await check();
    if (value) return value;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

const CHAT = { id: -100300, type: 'supergroup', title: 'Bots' };
const KENJI = { id: 42, is_bot: false, first_name: 'Kenji', username: 'kenji' };

describe('examples/multi-platform-bot', () => {
  let store: ChatStore;
  let engine: ChatEngine;
  let fake: FakeTelegramApi;
  let bot: ReturnType<typeof createExampleBot>;
  let ids: { bot: string; alice: string; room: string };

  beforeAll(async () => {
    store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    engine = new ChatEngine({ store });
    fake = await FakeTelegramApi.start();
    const botUser = await engine.createUser({ username: 'example-bot' });
    const alice = await engine.createUser({ username: 'alice' });
    const room = await engine.createRoom(alice.id, {
      kind: 'channel',
      name: 'bot-lobby',
      memberIds: [botUser.id],
    });
    ids = { bot: botUser.id, alice: alice.id, room: room.id };
    const telegram = createTelegramAdapter({
      token: fake.token,
      apiUrl: fake.apiUrl,
      logger: silentPlatformLogger,
    });
    bot = createExampleBot({
      store,
      adapters: [new KaiwaRoomsAdapter({ engine, botUserId: botUser.id }), telegram],
      streamDelayMs: 1,
    });
    await bot.start();
  });
  afterAll(async () => {
    await bot?.stop();
    engine?.close();
    await store?.close();
    await fake?.close();
  });

  const botTexts = async (threadRootId?: string) =>
    (
      await engine.history(ids.alice, {
        roomId: ids.room,
        limit: 50,
        ...(threadRootId ? { threadRootId } : {}),
      })
    ).messages
      .filter((message) => message.authorId === ids.bot)
      .map((message) => message.text);

  it('echoes, runs /run and streams an answer in a Kaiwa room', async () => {
    await engine.sendMessage(ids.alice, { roomId: ids.room, text: 'echo こんにちは' });
    await until(async () => (await botTexts()).includes('こんにちは'), 'the echo');
    await engine.sendMessage(ids.alice, { roomId: ids.room, text: '/run backup' });
    await until(async () => (await botTexts()).includes('✅ backup done'), 'the command');
    expect(await botTexts()).toEqual(['こんにちは', '▶️ running **backup** on kaiwa', '✅ backup done']);

    const edits: string[] = [];
    engine.events.on('message.updated', (event) => {
      if (event.payload.message.authorId === ids.bot) edits.push(event.payload.message.text);
    });
    const question = await engine.sendMessage(ids.alice, {
      roomId: ids.room,
      text: '@example-bot what can you do?',
    });
    const [answer] = await until(async () => {
      const thread = await botTexts(question.id);
      return thread.length === 1 && !thread[0]!.endsWith(' …') && thread;
    }, 'the streamed answer');
    expect(answer).toContain('You asked: “what can you do?”');
    expect(edits.at(-1)).toBe(answer);
  });

  it('runs the same handlers on Telegram (fake Bot API)', async () => {
    fake.pushUpdate({
      message: { message_id: 11, date: 1_700_000_000, chat: CHAT, from: KENJI, text: 'echo from Telegram' },
    });
    fake.pushUpdate({
      message: {
        message_id: 12,
        date: 1_700_000_001,
        chat: CHAT,
        from: KENJI,
        text: '/run deploy',
        entities: [{ type: 'bot_command', offset: 0, length: 4 }],
      },
    });
    const texts = () => fake.calls('sendMessage').map((call) => String(call.params.text));
    await until(() => texts().some((text) => text.includes('deploy done')), 'the Telegram replies');
    expect(texts()).toContain('from Telegram');
    expect(texts().some((text) => text.includes('running <b>deploy</b> on telegram'))).toBe(true);
  });
});
