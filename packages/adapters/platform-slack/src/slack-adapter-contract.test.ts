import type { PlatformMessageRef } from '@kaiwa/core';
import { platformAdapterContract } from '@kaiwa/core/testing';
import { normalizeMarkdown, toSlack } from '@kaiwa/platform-format';
import { createSlackAdapter } from './index.js';
import { emojiFromSlack } from './slack-format.js';
import { FakeSlackApi, slackEventCallback } from './testing.js';

/* The PlatformAdapter contract on Slack over Socket Mode, against the local fake of the Slack API. */

platformAdapterContract({
  name: 'Slack',
  create: async (sink) => {
    const fake = await FakeSlackApi.start({ users: [{ id: 'U1', name: 'alice' }] });
    const adapter = createSlackAdapter({
      token: 'xoxb-test',
      apiUrl: fake.apiUrl,
      retry: { maxAttempts: 4, backoff: { initialMs: 10, maxMs: 20 } },
      receiver: { type: 'socket', appToken: 'xapp-test' },
    });
    await adapter.connect(sink);
    let last: Record<string, unknown> | undefined;
    let sequence = 0;
    return {
      adapter,
      target: { channelId: 'C1' },
      async deliverInbound(text) {
        const ts = `1700000000.${String(++sequence).padStart(6, '0')}`;
        last = slackEventCallback({
          type: 'message',
          channel: 'C1',
          channel_type: 'channel',
          user: 'U1',
          text,
          ts,
        });
        await fake.sendSocketEvent(last);
      },
      async redeliverLast() {
        if (last === undefined) throw new Error('nothing delivered yet');
        await fake.sendSocketEvent(last, { retryAttempt: 1, retryReason: 'timeout' });
      },
      rateLimitNext(retryAfterSeconds) {
        fake.failNext('chat.postMessage', { status: 429, retryAfterSeconds });
      },
      async platformMessage(ref: PlatformMessageRef) {
        const held = fake.messages.get(FakeSlackApi.messageKey(ref.channelId, ref.messageId));
        return held && { text: held.text, reactions: held.reactions.map(emojiFromSlack) };
      },
      toPlatformText: (markdown) => toSlack(markdown).text,
      normalizeMarkdown,
      async close() {
        await adapter.disconnect();
        await fake.close();
      },
    };
  },
});
