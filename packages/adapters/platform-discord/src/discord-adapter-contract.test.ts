import { platformAdapterContract } from '@kaiwa/core/testing';
import { normalizeMarkdown, toDiscord } from '@kaiwa/platform-format';
import { createDiscordAdapter } from './discord-adapter.js';
import { startFakeDiscordApi } from './test-support/fake-discord-api.js';

/* The PlatformAdapter contract on Discord (REST and gateway), against the local fake of the Discord API. */

const GENERAL = '700000000000000001';

platformAdapterContract({
  name: 'Discord',
  create: async (sink) => {
    const fake = await startFakeDiscordApi({ channels: [{ id: GENERAL, name: 'general', type: 0 }] });
    const adapter = createDiscordAdapter({ token: 'test-token', apiUrl: fake.apiUrl });
    await adapter.connect(sink);
    let last: Record<string, unknown> | undefined;
    return {
      adapter,
      target: { channelId: GENERAL },
      async deliverInbound(text) {
        last = fake.message({ channel_id: GENERAL, content: text });
        fake.dispatch('MESSAGE_CREATE', last);
      },
      async redeliverLast() {
        if (last === undefined) throw new Error('nothing delivered yet');
        // Discord replays dispatches after a resume; the same MESSAGE_CREATE comes again.
        fake.dispatch('MESSAGE_CREATE', last);
      },
      rateLimitNext(retryAfterSeconds) {
        fake.fail({
          method: 'POST',
          path: `/channels/${GENERAL}/messages`,
          status: 429,
          body: { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global: false },
          headers: {
            'retry-after': String(retryAfterSeconds),
            'x-ratelimit-limit': '5',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset-after': String(retryAfterSeconds),
            'x-ratelimit-bucket': 'contract-bucket',
            'x-ratelimit-scope': 'user',
          },
        });
      },
      async platformMessage(ref) {
        const held = fake.messages.get(ref.messageId);
        return held && { text: held.content, reactions: fake.reactions.get(ref.messageId) ?? [] };
      },
      toPlatformText: (markdown) => toDiscord(markdown),
      normalizeMarkdown,
      async close() {
        await adapter.disconnect();
        await fake.close();
      },
    };
  },
});
