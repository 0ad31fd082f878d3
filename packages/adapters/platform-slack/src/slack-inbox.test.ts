import type { PlatformInboundEvent } from '@kaiwa/core';
import { PlatformInbox } from '@kaiwa/platform-queues';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, expect, it } from 'vitest';
import { createSlackAdapter, type SlackAdapter } from './index.js';
import { FakeSlackApi, slackEventCallback } from './testing.js';

/* The adapter with the real durable inbox on SQLite: Slack's retries reach the handler once. */

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

it('records a Slack event once however often Slack retries it, then handles it', async () => {
  const fake = await FakeSlackApi.start({ users: [{ id: 'U1', name: 'alice' }] });
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
  const slack: SlackAdapter = createSlackAdapter({
    token: 'xoxb-test',
    apiUrl: fake.apiUrl,
    receiver: { type: 'http', signingSecret: fake.signingSecret },
  });
  await slack.connect(inbox);
  cleanup.push(() => slack.disconnect());
  const url = slack;

  const mention = { channel: 'C1', user: 'U1', text: '<@UBOT> run the report', ts: '1700000000.000001' };
  const body = slackEventCallback({ type: 'message', ...mention }, { eventId: 'EvA' });
  expect((await fake.postToReceiver(url, body)).status).toBe(200);
  expect((await fake.postToReceiver(url, body, { retryNum: 1, retryReason: 'http_timeout' })).status).toBe(
    200,
  );
  expect(
    (await fake.postToReceiver(url, slackEventCallback({ type: 'app_mention', ...mention }))).status,
  ).toBe(200);

  expect(await inbox.drain()).toBe(1);
  expect(handled).toMatchObject([
    { kind: 'message', text: '@kaiwa run the report', mentions: { bot: true } },
  ]);
});
