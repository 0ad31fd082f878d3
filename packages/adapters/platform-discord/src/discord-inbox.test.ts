import type { PlatformInboundEvent } from '@kaiwa/core';
import { PlatformInbox } from '@kaiwa/platform-queues';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDiscordAdapter, type DiscordAdapter } from './discord-adapter.js';
import { type FakeDiscordApi, startFakeDiscordApi } from './test-support/fake-discord-api.js';

describe('DiscordAdapter with the durable PlatformInbox (SQLite)', () => {
  let store: KyselyChatStore;
  let fake: FakeDiscordApi;
  let adapter: DiscordAdapter;
  let inbox: PlatformInbox;
  const handled: PlatformInboundEvent[] = [];

  beforeAll(async () => {
    store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    fake = await startFakeDiscordApi();
    adapter = createDiscordAdapter({ token: 'test-token', apiUrl: fake.apiUrl });
    inbox = new PlatformInbox({
      store,
      consumer: 'bot:echo',
      pollMs: 20,
      handler: async (event) => {
        handled.push(event);
        if (event.kind === 'message' && event.mentions.bot) {
          await adapter.send(
            { channelId: event.channelId },
            { text: `You said: ${event.text}`, replyToMessageId: event.messageId },
          );
        }
        if (event.kind === 'command')
          await adapter.send({ channelId: event.channelId }, { text: `ran ${event.args}` });
      },
    });
    await adapter.connect(inbox);
    inbox.start();
  });

  afterAll(async () => {
    await inbox?.stop();
    await adapter?.disconnect();
    await fake?.close();
    await store?.close();
  });

  it('handles a message delivered twice once, and answers it as a reply', async () => {
    const message = fake.message({
      content: `<@${fake.bot.id}> hello`,
      mentions: [fake.user(fake.bot.id, 'kaiwa-bot', { bot: true })],
    });
    fake.dispatch('MESSAGE_CREATE', message);
    fake.dispatch('MESSAGE_CREATE', message);
    const started = Date.now();
    while (fake.find('POST', /^\/channels\/\d+\/messages$/).length === 0 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    await inbox.drain();
    expect(handled.filter((event) => event.eventId === `message:${message.id}`)).toHaveLength(1);
    const posts = fake.find('POST', /^\/channels\/\d+\/messages$/);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toMatchObject({
      content: `You said: <@${fake.bot.id}> hello`, // the mention round-trips
      message_reference: { message_id: message.id },
    });
  });

  it('defers a slash command and answers it in place from the inbox handler', async () => {
    const interaction = fake.interaction('run', {
      data: { id: '1', name: 'run', type: 1, options: [{ name: 'what', type: 3, value: 'report' }] },
    });
    fake.dispatch('INTERACTION_CREATE', interaction);
    const started = Date.now();
    while (fake.find('PATCH', /@original$/).length === 0 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(
      fake.find('POST', `/interactions/${interaction.id}/${interaction.token}/callback`)[0]!.body,
    ).toEqual({ type: 5 });
    expect(fake.find('PATCH', /@original$/)[0]!.body).toMatchObject({ content: 'ran report' });
  });
});
