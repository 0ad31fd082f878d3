import { silentPlatformLogger } from '@kaiwa/core';
import { platformAdapterContract } from '@kaiwa/core/testing';
import { normalizeMarkdown, parseTelegramHtml, toTelegramHtml } from '@kaiwa/platform-format';
import { createTelegramAdapter } from './index.js';
import { FakeTelegramApi } from './testing.js';

/*
 * The PlatformAdapter contract on Telegram with the `webhook` receiver (a web Request per update), against the local fake of
 * the Bot API: Telegram posts each update to the webhook and posts it again until it is answered 200.
 */

const SECRET = 'contract-secret';
const CHAT = '-100200';

function webhookRequest(update: Record<string, unknown>): Request {
  return new Request('http://kaiwa.test/api/v1/platforms/telegram/events', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    body: JSON.stringify(update),
  });
}

platformAdapterContract({
  name: 'Telegram',
  create: async (sink) => {
    const fake = await FakeTelegramApi.start();
    const adapter = createTelegramAdapter({
      token: fake.token,
      apiUrl: fake.apiUrl,
      receiver: { type: 'webhook', secretToken: SECRET },
      logger: silentPlatformLogger,
    });
    await adapter.connect(sink);
    let last: Record<string, unknown> | undefined;
    let updateId = 5000;
    const post = async (update: Record<string, unknown>) => {
      const response = await adapter.handleWebhook(webhookRequest(update));
      if (response.status !== 200) throw new Error(`the webhook answered ${response.status}`);
    };
    return {
      adapter,
      target: { channelId: CHAT },
      async deliverInbound(html) {
        updateId += 1;
        // Telegram delivers plain text with entities, not HTML.
        const { text, entities } = parseTelegramHtml(html);
        last = {
          update_id: updateId,
          message: {
            message_id: updateId,
            date: Math.floor(Date.now() / 1000),
            chat: { id: Number(CHAT), type: 'supergroup', title: 'Team' },
            from: { id: 42, is_bot: false, first_name: 'Alice', username: 'alice' },
            text,
            ...(entities.length > 0 ? { entities } : {}),
          },
        };
        await post(last);
      },
      async redeliverLast() {
        if (last === undefined) throw new Error('nothing delivered yet');
        await post(last);
      },
      rateLimitNext(retryAfterSeconds) {
        fake.failNext('sendMessage', { errorCode: 429, retryAfterSeconds });
      },
      async platformMessage(ref) {
        const held = fake.messages.get(FakeTelegramApi.messageKey(ref.channelId, ref.messageId));
        return held && { text: held.text, reactions: held.reactions };
      },
      toPlatformText: (markdown) => toTelegramHtml(markdown),
      normalizeMarkdown,
      async close() {
        await adapter.disconnect();
        await fake.close();
      },
    };
  },
});
