import { type PlatformAdapterBaseConfig, platformApiUrlSchema, platformRetryConfigSchema } from '@kaiwa/core';
import type { ClientOptions, RESTOptions } from 'discord.js';
import { z } from 'zod';

/**
 * Discord receives through its gateway only (a WebSocket the adapter opens), so there is no `receiver` to
 * choose and nothing for a host to serve.
 *
 * @example
 * const config: DiscordAdapterConfig = { token: process.env.DISCORD_TOKEN!, webhooks: true };
 */
export interface DiscordAdapterConfig extends PlatformAdapterBaseConfig {
  /** The bot token. */
  token: string;
  /** REST base URL without the version (discord.js `rest.api`); Discord's own by default. Tests point it at a fake. */
  apiUrl?: string;
  /**
   * @discordjs/rest queues per route bucket and always waits out 429s; `maxAttempts` sets how often a call
   * that failed (5xx, network) is tried in all (default 4). `backoff` and `maxRetryAfterMs` are not
   * supported: the adapter warns and ignores them.
   */
  retry?: PlatformAdapterBaseConfig['retry'];
  /** More @discordjs/rest options (timeouts, `rejectOnRateLimit`...); they win over `apiUrl` and `retry`. */
  rest?: Partial<RESTOptions>;
  /**
   * Post messages with an `author` through a channel webhook, so they show that name and avatar. The adapter
   * finds or creates one webhook per channel, named `name` ("Kaiwa" by default); the bot needs the Manage
   * Webhooks permission. Without webhooks the name is prefixed in bold.
   */
  webhooks?: boolean | { name?: string };
  /**
   * Slash commands are deferred ("thinking…") once recorded; the next message the adapter sends to that
   * channel within 15 minutes, without an `author`, becomes the command's answer. Default true; false
   * answers every command with an ephemeral "received" instead.
   */
  answerCommandsInPlace?: boolean;
  /** Skip the bot's own messages and those of its webhooks (so a bridge never hears itself). Default true. */
  ignoreOwnMessages?: boolean;
  /** How often `sink.accept` is tried before an event is logged as lost (Discord does not redeliver). */
  acceptAttempts?: number;
  /**
   * Errors that have no caller to go to: a dispatch that could not be recorded, a gateway error.
   * @deprecated Pass a `logger`; its `error` hears them.
   */
  onError?: (error: unknown) => void;
  /** Extra discord.js client options (intents and partials are the adapter's unless given here). */
  client?: Partial<ClientOptions>;
}

/** The serialisable part of {@link DiscordAdapterConfig}, as a bridge file holds it. Its keys are unchanged. */
export const discordSettingsSchema = z.strictObject({
  token: z.string({ error: 'is required' }).min(1, 'is required'),
  apiUrl: platformApiUrlSchema.optional(),
  retry: platformRetryConfigSchema.optional(),
  webhooks: z
    .union([z.boolean(), z.strictObject({ name: z.string().trim().min(1).max(80).optional() })], {
      error: 'must be true, false or { name }',
    })
    .optional(),
  answerCommandsInPlace: z.boolean().optional(),
  acceptAttempts: z.number().int().min(0).max(100).optional(),
});
