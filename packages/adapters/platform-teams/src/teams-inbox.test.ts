import type { PlatformInboundEvent } from '@kaiwa/core';
import { PlatformInbox } from '@kaiwa/platform-queues';
import { createSqliteStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTeamsAdapter, type TeamsAdapter } from './teams-adapter.js';
import { type FakeBotConnector, startFakeBotConnector } from './test-support/fake-bot-connector.js';

describe('TeamsAdapter with the durable PlatformInbox (SQLite)', () => {
  let store: KyselyChatStore;
  let connector: FakeBotConnector;
  let adapter: TeamsAdapter;
  let inbox: PlatformInbox;
  let botUrl: TeamsAdapter;
  const handled: PlatformInboundEvent[] = [];

  beforeAll(async () => {
    store = await createSqliteStore({ filename: ':memory:' });
    await store.migrate();
    connector = await startFakeBotConnector();
    adapter = createTeamsAdapter();
    inbox = new PlatformInbox({
      store,
      consumer: 'bot:echo',
      pollMs: 20,
      handler: async (event) => {
        handled.push(event);
        if (event.kind === 'message' && event.mentions.bot) {
          await adapter.send(
            { channelId: event.channelId, ...(event.threadId ? { threadId: event.threadId } : {}) },
            { text: `You said: ${event.text}` },
          );
        }
      },
    });
    await adapter.connect(inbox);
    botUrl = adapter;
    inbox.start();
  });

  afterAll(async () => {
    await inbox?.stop();
    await adapter?.disconnect();
    await connector?.close();
    await store?.close();
  });

  it('records a redelivered activity once, handles it once and answers through the connector', async () => {
    const bot = connector.mention(connector.bot.id, connector.bot.name);
    const activity = connector.messageActivity({ text: `${bot.text} hello`, entities: [bot.entity] });
    expect((await connector.deliver(botUrl, activity)).status).toBe(200);
    // The Bot Framework delivers again when it did not see the 200 in time.
    expect((await connector.deliver(botUrl, activity)).status).toBe(200);
    const started = Date.now();
    while (connector.find('POST').length === 0 && Date.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await inbox.drain();
    expect(handled.filter((event) => event.eventId === `message:${activity.id}`)).toHaveLength(1);
    const posts = connector.find('POST');
    expect(posts).toHaveLength(1);
    expect(JSON.stringify(posts[0]!.body)).toContain('You said: @Kaiwa Bot hello');
  });
});
