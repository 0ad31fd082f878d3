import { KaiwaRoomsAdapter } from '@kaiwa/bot';
import { ChatEngine, type ChatStore, silentPlatformLogger } from '@kaiwa/core';
import { createTelegramAdapter } from '@kaiwa/platform-telegram';
// The fake Bot API from the Telegram adapter's own test support, served on 127.0.0.1.
import { FakeTelegramApi } from '@kaiwa/platform-telegram/testing';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { createBridge } from './bridge.js';

const CHAT = { id: -100200, type: 'supergroup', title: 'Team' };
const KENJI = { id: 42, is_bot: false, first_name: 'Kenji', username: 'kenji' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

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

describe('@kaiwa/bridge between a Kaiwa room and Telegram (fake Bot API)', () => {
  it('relays both ways, follows edits and deletes, never echoes, and catches up after an outage', async () => {
    const fake = await FakeTelegramApi.start();
    const store: ChatStore = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    const engine = new ChatEngine({ store });
    const relay = await engine.createUser({ username: 'relay' });
    const alice = await engine.createUser({ username: 'alice', displayName: 'Alice' });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'team', memberIds: [relay.id] });
    const kaiwa = new KaiwaRoomsAdapter({ engine, botUserId: relay.id });
    const telegram = createTelegramAdapter({
      token: fake.token,
      apiUrl: fake.apiUrl,
      retry: { maxAttempts: 1, backoff: { initialMs: 1 } },
      logger: silentPlatformLogger,
    });
    const bridge = createBridge({
      store,
      adapters: [kaiwa, telegram],
      links: [
        {
          id: 'team',
          endpoints: [
            { platform: 'kaiwa', channelId: room.id },
            { platform: 'telegram', channelId: String(CHAT.id) },
          ],
        },
      ],
      inbox: { pollMs: 10 },
      outbox: { pollMs: 10, backoff: { initialMs: 5, maxMs: 20, jitter: false } },
    });
    await bridge.start();
    cleanups.push(async () => {
      await bridge.stop();
      engine.close();
      await store.close();
      await fake.close();
    });
    const sent = (fragment: string) =>
      fake.calls('sendMessage').filter((call) => String(call.params.text).includes(fragment));

    // Kaiwa → Telegram: Telegram shows no other authors, so the name is a bold prefix.
    const hello = await engine.sendMessage(alice.id, { roomId: room.id, text: 'hello **team**' });
    const [call] = await until(() => sent('hello').length === 1 && sent('hello'), 'the Telegram copy');
    expect(String(call!.params.chat_id)).toBe(String(CHAT.id));
    expect(String(call!.params.text)).toContain('<b>Alice</b>: hello <b>team</b>');
    const [copy] = await until(async () => {
      const known = await store.bridges.findMessage('kaiwa', room.id, hello.id);
      const group = known[0] && (await store.bridges.listGroup('team', known[0].groupId));
      return group && group.length === 2 && group.filter((entry) => entry.role === 'copy');
    }, 'the mapping');
    expect(copy).toMatchObject({ platform: 'telegram', channelId: String(CHAT.id) });

    await engine.editMessage(alice.id, hello.id, { text: 'hello **team**, edited' });
    const [edit] = await until(
      () => fake.calls('editMessageText').length === 1 && fake.calls('editMessageText'),
      'the edit',
    );
    expect(String(edit!.params.message_id)).toBe(copy!.messageId);
    expect(String(edit!.params.text)).toContain('edited');

    // Telegram → Kaiwa, with the author's name kept in the message metadata.
    fake.pushUpdate({
      message: {
        message_id: 7,
        date: 1_700_000_000,
        chat: CHAT,
        from: KENJI,
        text: 'こんにちは from Telegram',
      },
    });
    const inKaiwa = await until(async () => {
      const messages = (await engine.history(alice.id, { roomId: room.id, limit: 20 })).messages;
      return messages.find((message) => message.text === 'こんにちは from Telegram');
    }, 'the Kaiwa copy');
    expect(inKaiwa).toMatchObject({ authorId: relay.id, metadata: { author: { name: 'Kenji' } } });

    // The bot's own messages coming back from Telegram are not relayed again.
    fake.pushUpdate({
      message: {
        message_id: 99,
        date: 1_700_000_001,
        chat: CHAT,
        from: { id: fake.botId, is_bot: true, first_name: 'Kaiwa', username: fake.botUsername },
        text: 'echo of myself',
      },
    });

    // Telegram is down for a while: the message waits in the outbox and goes out once, later.
    for (let failure = 0; failure < 3; failure++)
      fake.failNext('sendMessage', { errorCode: 502, description: 'Bad Gateway' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'during the outage' });
    await until(
      () => fake.calls('sendMessage').filter((c) => String(c.params.text).includes('outage')).length === 4,
      'the fourth try',
    );
    await until(
      async () =>
        (await store.platformOutbox.list({ consumer: 'bridge', status: 'pending', limit: 10 })).length === 0,
      'an empty outbox',
    );

    await engine.deleteMessage(alice.id, hello.id);
    const [deleted] = await until(
      () => fake.calls('deleteMessage').length === 1 && fake.calls('deleteMessage'),
      'the delete',
    );
    expect(String(deleted!.params.message_id)).toBe(copy!.messageId);

    await sleep(50);
    const texts = (await engine.history(alice.id, { roomId: room.id, limit: 20 })).messages.map(
      (message) => message.text,
    );
    expect(texts.filter((text) => text === 'echo of myself')).toEqual([]);
    expect(texts.filter((text) => text === 'こんにちは from Telegram')).toHaveLength(1);
    // Kaiwa's copy of the Telegram message was not sent back to Telegram.
    expect(sent('こんにちは')).toEqual([]);
    expect(sent('during the outage').length).toBe(4);
    expect(await store.platformOutbox.list({ consumer: 'bridge', status: 'dead', limit: 10 })).toEqual([]);
  });
});
