import {
  type PlatformAdapterBaseConfig,
  platformApiUrlSchema,
  platformRetryConfigSchema,
  renameConfigKeys,
} from '@kaiwa/core';
import { z } from 'zod';

/**
 * How Telegram delivers updates: long polling (`getUpdates`), or webhook POSTs to a URL the host serves and
 * hands to `TelegramAdapter.handleWebhook` (the Kaiwa server: `/api/v1/platforms/telegram/events`).
 */
export type TelegramReceiverConfig =
  | { type: 'polling' }
  | {
      type: 'webhook';
      /** Checked against the `X-Telegram-Bot-Api-Secret-Token` header of every POST. */
      secretToken: string;
      /** The full public URL the host serves the webhook at; when set, `connect` registers it with `setWebhook`. */
      webhookUrl?: string;
    };

/**
 * @example
 * const config: TelegramAdapterConfig = { token: process.env.TELEGRAM_BOT_TOKEN! };
 */
export interface TelegramAdapterConfig extends PlatformAdapterBaseConfig {
  /** Bot token from @BotFather. */
  token: string;
  /** Defaults to long polling. */
  receiver?: TelegramReceiverConfig;
  /** Bot API root; defaults to `https://api.telegram.org`. Tests point it at a fake. */
  apiUrl?: string;
  /**
   * Retries of rate-limited (429 with `retry_after`) and failed (5xx, network) calls. Defaults to 6 attempts,
   * backoff from 500 ms to 30 s, and at most 60 s for one `retry_after`: a longer wait fails at once with
   * `rate_limited`.
   */
  retry?: PlatformAdapterBaseConfig['retry'];
  /** Telegram user id of a Kaiwa `@username`, to render mentions as links to the user. */
  mentionId?: (username: string) => string | undefined;
}

const removedWebhookOption = z
  .never({
    error:
      "no longer supported: the adapter runs no webhook server of its own; Telegram posts to the host's " +
      'webhook (the Kaiwa server: /api/v1/platforms/telegram/events; set webhookUrl to its public URL); remove it',
  })
  .optional();

/** The serialisable part of {@link TelegramAdapterConfig}, as a bridge file holds it. */
export const telegramSettingsSchema = z.strictObject({
  token: z.string({ error: 'is required' }).min(1, 'is required'),
  receiver: z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('polling') }),
        z.strictObject({
          type: z.literal('webhook'),
          secretToken: z.string().min(1, 'is required'),
          webhookUrl: platformApiUrlSchema.optional(),
          path: removedWebhookOption,
          port: removedWebhookOption,
          host: removedWebhookOption,
          publicUrl: removedWebhookOption,
        }),
      ],
      { error: 'must be { type: polling } or { type: webhook, secretToken, webhookUrl? }' },
    )
    .optional(),
  apiUrl: platformApiUrlSchema.optional(),
  retry: platformRetryConfigSchema.optional(),
});

/**
 * Last release's keys in their new places: `apiRoot` → `apiUrl`, `retry: { attempts, backoffMs }` →
 * `retry: { maxAttempts: attempts + 1, backoff: { initialMs } }`, and the receiver `{ type: mounted }` →
 * `{ type: webhook }` (the webhook the host serves). `report` hears each one used.
 */
export function upgradeTelegramSettings(settings: unknown, report?: (message: string) => void): unknown {
  const upgraded = renameConfigKeys(settings, { apiRoot: 'apiUrl' }, report);
  if (upgraded === null || typeof upgraded !== 'object' || Array.isArray(upgraded)) return upgraded;
  const copy = upgraded as Record<string, unknown>;
  const retry = copy.retry as Record<string, unknown> | undefined;
  if (retry !== null && typeof retry === 'object' && ('attempts' in retry || 'backoffMs' in retry)) {
    const { attempts, backoffMs, ...rest } = retry;
    if (attempts !== undefined) {
      report?.('retry.attempts: deprecated, write retry.maxAttempts (attempts + 1: the first try counts)');
    }
    if (backoffMs !== undefined) report?.('retry.backoffMs: deprecated, write retry.backoff.initialMs');
    copy.retry = {
      ...rest,
      ...(typeof attempts === 'number' && rest.maxAttempts === undefined
        ? { maxAttempts: attempts + 1 }
        : {}),
      ...(typeof backoffMs === 'number' && rest.backoff === undefined
        ? { backoff: { initialMs: backoffMs } }
        : {}),
    };
  }
  const receiver = copy.receiver as { type?: unknown } | undefined;
  if (receiver !== null && typeof receiver === 'object' && receiver.type === 'mounted') {
    report?.('receiver.type: mounted is deprecated, write webhook (the webhook the host serves)');
    copy.receiver = { ...receiver, type: 'webhook' };
  }
  return copy;
}
