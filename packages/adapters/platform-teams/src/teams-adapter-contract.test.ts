import { platformAdapterContract } from '@kaiwa/core/testing';
import { normalizeMarkdown, toTeams } from '@kaiwa/platform-format';
import { createTeamsAdapter } from './teams-adapter.js';
import { startFakeBotConnector } from './testing.js';

/*
 * The PlatformAdapter contract on Teams against the local fake Bot Framework connector. It runs with
 * `messageFormat: 'text'`, where a message is the HTML Teams renders both ways; the Adaptive Card format
 * is covered in teams-adapter.test.ts.
 */

const GENERAL = '19:general@thread.tacv2';

platformAdapterContract({
  name: 'Teams',
  create: async (sink) => {
    const connector = await startFakeBotConnector();
    const adapter = createTeamsAdapter({
      apiUrl: connector.serviceUrl,
      tenantId: connector.tenantId,
      botId: connector.bot.id,
      messageFormat: 'text',
      retry: { maxRetryAfterMs: 5_000 },
    });
    await adapter.connect(sink);
    const botUrl = adapter;
    let last: Record<string, unknown> | undefined;
    const deliver = async (activity: Record<string, unknown>) => {
      const answer = await connector.deliver(botUrl, activity);
      if (answer.status !== 200) throw new Error(`the bot answered ${answer.status}`);
    };
    return {
      adapter,
      target: { channelId: GENERAL },
      async deliverInbound(html) {
        last = connector.messageActivity({ text: html, textFormat: 'xml' });
        await deliver(last);
      },
      async redeliverLast() {
        if (last === undefined) throw new Error('nothing delivered yet');
        await deliver(last);
      },
      rateLimitNext(retryAfterSeconds) {
        connector.fail({
          method: 'POST',
          status: 429,
          headers: { 'retry-after': String(retryAfterSeconds) },
        });
      },
      async platformMessage(ref) {
        const held = connector.activities.get(ref.messageId);
        if (held === undefined || held.deleted) return undefined;
        // Bots cannot react on Teams, so the connector holds no reactions of theirs.
        return { text: String(held.activity.text ?? ''), reactions: [] };
      },
      toPlatformText: (markdown) => toTeams(markdown).text,
      normalizeMarkdown,
      async close() {
        await adapter.disconnect();
        await connector.close();
      },
    };
  },
});
