import { type PlatformInboundEvent, silentPlatformLogger } from '@kaiwa/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTelegramAdapter, type TelegramAdapter } from './index.js';
import { FakeTelegramApi } from './testing.js';

/* The `webhook` receiver: the host hands each request to handleWebhook as a web Request; no server of its own. */

const SECRET = 'mounted-secret';
let fake: FakeTelegramApi;
const adapters: TelegramAdapter[] = [];

beforeAll(async () => {
  fake = await FakeTelegramApi.start();
});
afterEach(async () => {
  for (const adapter of adapters.splice(0)) await adapter.disconnect();
});
afterAll(async () => {
  await fake.close();
});

function mounted(webhookUrl?: string): TelegramAdapter {
  const adapter = createTelegramAdapter({
    token: fake.token,
    apiUrl: fake.apiUrl,
    receiver: { type: 'webhook', secretToken: SECRET, ...(webhookUrl ? { webhookUrl } : {}) },
    logger: silentPlatformLogger,
  });
  adapters.push(adapter);
  return adapter;
}

function post(
  update: Record<string, unknown> | string,
  secret: string | null = SECRET,
  method = 'POST',
): Request {
  return new Request('http://kaiwa.test/api/v1/platforms/telegram/events', {
    method,
    headers: {
      'content-type': 'application/json',
      ...(secret !== null ? { 'x-telegram-bot-api-secret-token': secret } : {}),
    },
    ...(method === 'GET' ? {} : { body: typeof update === 'string' ? update : JSON.stringify(update) }),
  });
}

const message = (updateId: number, text: string) => ({
  update_id: updateId,
  message: {
    message_id: updateId,
    date: 1_800_000_000,
    chat: { id: -100200, type: 'supergroup', title: 'Team' },
    from: { id: 42, is_bot: false, first_name: 'Alice', username: 'alice' },
    text,
  },
});

describe('TelegramAdapter.handleWebhook (receiver: webhook)', () => {
  it('checks the secret token, then records the update before answering 200', async () => {
    const events: PlatformInboundEvent[] = [];
    let refuse = false;
    const telegram = mounted('https://chat.example.com/api/v1/platforms/telegram/events');
    expect((await telegram.handleWebhook(post(message(1, 'early')))).status).toBe(503);
    await telegram.connect({
      accept: async (event) => {
        if (refuse) throw new Error('store is down');
        events.push(event);
      },
    });
    expect(fake.calls('setWebhook')[0]?.params).toMatchObject({
      url: 'https://chat.example.com/api/v1/platforms/telegram/events',
      secret_token: SECRET,
    });
    expect(fake.calls('getUpdates')).toHaveLength(0);

    expect((await telegram.handleWebhook(post(message(2, 'forged'), 'guess'))).status).toBe(403);
    expect((await telegram.handleWebhook(post(message(3, 'forged'), null))).status).toBe(403);
    expect(events).toHaveLength(0);

    expect((await telegram.handleWebhook(post(message(4, 'hello')))).status).toBe(200);
    expect(events).toMatchObject([{ kind: 'message', channelId: '-100200', text: 'hello' }]);

    refuse = true;
    expect((await telegram.handleWebhook(post(message(5, 'again')))).status).toBe(500);
    expect(events).toHaveLength(1);

    expect((await telegram.handleWebhook(post('{"update_id":'))).status).toBe(400);
    expect((await telegram.handleWebhook(post(message(6, 'x'), SECRET, 'GET'))).status).toBe(405);
  });

  it('answers 404 when the adapter polls', async () => {
    const polling = createTelegramAdapter({ token: fake.token, apiUrl: fake.apiUrl });
    expect((await polling.handleWebhook(post(message(7, 'x')))).status).toBe(404);
  });
});
