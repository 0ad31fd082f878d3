import { ChatEngine, type ChatStore, type Message, type PlatformInboundEvent } from '@kaiwa/core';
import { fromPlatformJson } from '@kaiwa/platform-queues';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bot, createBot } from './bot.js';
import { KaiwaRoomsAdapter } from './kaiwa-rooms-adapter.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string): Promise<T> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const value = await check();
    if (value) return value;
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function setup(configure: (bot: Bot) => void) {
  const store: ChatStore = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  const engine = new ChatEngine({ store });
  const helper = await engine.createUser({ username: 'helper', displayName: 'Helper' });
  const alice = await engine.createUser({ username: 'alice' });
  const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'lobby', memberIds: [helper.id] });
  const kaiwa = new KaiwaRoomsAdapter({ engine, botUserId: helper.id });
  const bot = createBot({
    name: 'helper',
    adapters: [kaiwa],
    store,
    streaming: { editIntervalMs: 0, editEveryChars: 1 },
    inbox: { pollMs: 20, backoff: { initialMs: 5, jitter: false } },
    onError: () => {},
  });
  configure(bot);
  await bot.start();
  cleanups.push(async () => {
    await bot.stop();
    engine.close();
    await store.close();
  });
  const botMessages = async () =>
    (await engine.history(alice.id, { roomId: room.id, limit: 100 })).messages.filter(
      (message) => message.authorId === helper.id,
    );
  return { store, engine, helper, alice, room, kaiwa, bot, botMessages };
}

async function* pieces(...parts: string[]): AsyncIterable<string> {
  for (const part of parts) {
    await sleep(2);
    yield part;
  }
}

describe('@kaiwa/bot on Kaiwa rooms', () => {
  it('answers a mention with a streamed reply edited in place', async () => {
    const context = await setup((bot) => {
      bot.onMention(async (mention) => {
        await mention.reply(pieces('Hello', ', ', mention.event.author.name, '!'));
      });
    });
    const { engine, alice, room, helper, botMessages } = context;
    const edits: Message[] = [];
    engine.events.on('message.updated', (event) => {
      if (event.payload.message.authorId === helper.id) edits.push(event.payload.message);
    });
    const question = await engine.sendMessage(alice.id, { roomId: room.id, text: '@helper greet me' });
    const [reply] = await waitFor(async () => {
      const replies = await botMessages();
      return replies.length === 1 && replies[0]!.text === 'Hello, alice!' && replies;
    }, 'the streamed reply');
    expect(reply!.replyToId).toBe(question.id);
    expect(reply!.editedAt).not.toBeNull();
    // The reply grew in place: several edits of one message, the last one complete.
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(new Set(edits.map((edit) => edit.id))).toEqual(new Set([reply!.id]));
    expect(edits.at(-1)?.text).toBe('Hello, alice!');
    expect(edits.slice(0, -1).every((edit) => edit.text.endsWith(' …'))).toBe(true);
  });

  it('runs a command, answers messages by pattern, ignores its own messages and reacts', async () => {
    const seen: string[] = [];
    const { engine, alice, room, botMessages } = await setup((bot) => {
      bot.onCommand('run', async (command) => {
        await command.reply(`running ${command.args}`);
      });
      bot.onMessage(/^echo (.+)$/, async (message) => {
        seen.push(message.text);
        await message.reply(message.match![1]!);
        await message.react('👍');
      });
    });
    await engine.sendMessage(alice.id, { roomId: room.id, text: '/run invoice 42' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'echo echo again' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'no handler for this' });
    const replies = await waitFor(async () => {
      const found = await botMessages();
      return found.length >= 2 && found;
    }, 'two replies');
    await sleep(50);
    // "echo again" from the bot itself is not answered: no loop.
    expect((await botMessages()).map((message) => message.text)).toEqual([
      'running invoice 42',
      'echo again',
    ]);
    expect(seen).toEqual(['echo echo again']);
    const history = await engine.history(alice.id, { roomId: room.id, limit: 10 });
    const echoed = history.messages.find((message) => message.text === 'echo echo again');
    expect(echoed?.reactions.map((reaction) => reaction.emoji)).toEqual(['👍']);
    expect(replies[1]!.replyToId).toBe(echoed?.id);
  });

  it('sees reactions and answers in threads', async () => {
    const { engine, alice, room, botMessages } = await setup((bot) => {
      bot.onCommand('ping', async (command) => {
        await command.reply('pong', { thread: true });
      });
      bot.onReaction(async (reaction) => {
        await reaction.reply(`thanks for the ${reaction.emoji}`);
      });
    });
    const ping = await engine.sendMessage(alice.id, { roomId: room.id, text: '/ping' });
    const [pong] = await waitFor(async () => {
      const page = await engine.history(alice.id, { roomId: room.id, threadRootId: ping.id, limit: 10 });
      return page.messages.length === 1 && page.messages;
    }, 'the answer in the thread');
    expect(pong!.text).toBe('pong');
    await engine.addReaction(alice.id, pong!.id, '🎉');
    await waitFor(
      async () => (await botMessages()).some((message) => message.text === 'thanks for the 🎉'),
      'thanks',
    );
  });

  it('handles an event once even when it is delivered twice, and keeps handler failures for retry', async () => {
    let calls = 0;
    let failures = 1;
    const { kaiwa, bot, engine, store, alice, room, botMessages } = await setup((bot) => {
      bot.onMessage(async (message) => {
        calls++;
        if (failures-- > 0) throw new Error('first attempt fails');
        await message.reply('got it');
      });
    });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'hello' });
    await kaiwa.idle();
    // The same engine event handed to the inbox again (a platform's redelivery) is a no-op.
    const [recorded] = await store.platformInbox.list({ consumer: 'bot:helper', limit: 1 });
    expect(await bot.inbox.record(fromPlatformJson<PlatformInboundEvent>(recorded!.event))).toBe('duplicate');
    await waitFor(async () => (await botMessages()).length === 1, 'the reply after a retry');
    expect(calls).toBe(2);
  });
});
