import type { PlatformInboundEvent } from '@kaiwa/core';
import { PlatformInbox } from '@kaiwa/platform-queues';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, expect, it } from 'vitest';
import { createTelegramAdapter } from './index.js';
import { FakeTelegramApi } from './testing.js';

/* The adapter with the real durable inbox on SQLite: a redelivered update reaches the handler once. */

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

it('records a Telegram update once however often it is delivered, then handles it', async () => {
  const fake = await FakeTelegramApi.start();
  cleanup.push(() => fake.close());
  const store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  cleanup.push(() => store.close());
  const handled: PlatformInboundEvent[] = [];
  const inbox = new PlatformInbox({
    store,
    consumer: 'test',
    handler: async (event) => void handled.push(event),
  });
  const telegram = createTelegramAdapter({
    token: fake.token,
    apiUrl: fake.apiUrl,
    receiver: { type: 'webhook', secretToken: 's3cret' },
  });
  await telegram.connect(inbox);
  cleanup.push(() => telegram.disconnect());
  const url = telegram;

  const update = {
    update_id: 9001,
    message: {
      message_id: 1,
      date: 1_700_000_000,
      chat: { id: 5, type: 'private', first_name: 'Alice' },
      from: { id: 5, is_bot: false, first_name: 'Alice', username: 'alice' },
      text: '/run invoice',
      entities: [{ type: 'bot_command', offset: 0, length: 4 }],
    },
  };
  expect((await fake.postWebhook(url, update, { secretToken: 's3cret' })).status).toBe(200);
  expect((await fake.postWebhook(url, update, { secretToken: 's3cret' })).status).toBe(200);

  expect(await inbox.drain()).toBe(1);
  expect(handled).toMatchObject([{ kind: 'command', command: 'run', args: 'invoice', eventId: '9001' }]);
});
