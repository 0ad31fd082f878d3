import {
  type PlatformAdapterBaseConfig,
  platformApiUrlSchema,
  platformRetryConfigSchema,
  renameConfigKeys,
} from '@kaiwa/core';
import type { LogLevel } from '@slack/bolt';
import { z } from 'zod';
import type { SlackLookups } from './slack-format.js';

/**
 * How Slack delivers events: a Socket Mode WebSocket the adapter opens, or Events API POSTs to a webhook the
 * host serves and hands to `SlackAdapter.handleWebhook` (the Kaiwa server: `/api/v1/platforms/slack/events`).
 */
export type SlackReceiverConfig =
  | {
      type: 'socket';
      /** App-level token (`xapp-…`) with the `connections:write` scope. */
      appToken: string;
    }
  | {
      type: 'http';
      /** The app's signing secret; every request's `X-Slack-Signature` is checked against it. */
      signingSecret: string;
    };

/**
 * @example
 * const config: SlackAdapterConfig = {
 *   token: process.env.SLACK_BOT_TOKEN!, // xoxb-…
 *   receiver: { type: 'socket', appToken: process.env.SLACK_APP_TOKEN! },
 * };
 */
export interface SlackAdapterConfig extends PlatformAdapterBaseConfig {
  /** Bot token (`xoxb-…`). */
  token: string;
  receiver: SlackReceiverConfig;
  /** Web API base URL; defaults to `https://slack.com/api/`. Tests point it at a fake. */
  apiUrl?: string;
  /**
   * Retries of the Web API client for rate limits (429 + Retry-After, always waited out, so `maxRetryAfterMs`
   * is not supported) and network failures. Defaults to 6 attempts, backoff from 250 ms to 10 s.
   */
  retry?: PlatformAdapterBaseConfig['retry'];
  /** Id lookups for Kaiwa `@username` / `#room` when sending, and names for Slack ids when receiving. */
  lookups?: SlackLookups;
  /** What Bolt and the Web API client pass to `logger`; defaults to `error`: Bolt is chatty. */
  logLevel?: LogLevel;
}

const removedHttpOption = z
  .never({
    error:
      "no longer supported: the adapter runs no HTTP server of its own; Slack posts to the host's webhook " +
      '(the Kaiwa server: /api/v1/platforms/slack/events); remove it',
  })
  .optional();

/** The serialisable part of {@link SlackAdapterConfig}, as a bridge file holds it. */
export const slackSettingsSchema = z.strictObject({
  token: z.string({ error: 'is required' }).min(1, 'is required'),
  receiver: z.discriminatedUnion(
    'type',
    [
      z.strictObject({ type: z.literal('socket'), appToken: z.string().min(1, 'is required') }),
      z.strictObject({
        type: z.literal('http'),
        signingSecret: z.string().min(1, 'is required'),
        port: removedHttpOption,
        host: removedHttpOption,
        path: removedHttpOption,
      }),
    ],
    { error: 'must be { type: socket, appToken } or { type: http, signingSecret }' },
  ),
  apiUrl: platformApiUrlSchema.optional(),
  retry: platformRetryConfigSchema.optional(),
});

/**
 * Last release's keys in their new places: `botToken` → `token`, `slackApiUrl` → `apiUrl`,
 * `retryConfig: { retries, minTimeout, maxTimeout }` → `retry: { maxAttempts, backoff }`, and the receiver
 * `{ type: mounted }` → `{ type: http }` (the webhook the host serves). `report` hears each one used.
 */
export function upgradeSlackSettings(settings: unknown, report?: (message: string) => void): unknown {
  const upgraded = renameConfigKeys(settings, { botToken: 'token', slackApiUrl: 'apiUrl' }, report);
  if (upgraded === null || typeof upgraded !== 'object' || Array.isArray(upgraded)) return upgraded;
  const copy = upgraded as Record<string, unknown>;
  if ('retryConfig' in copy) {
    report?.('retryConfig: deprecated, write retry: { maxAttempts: <retries + 1>, backoff }');
    const old = copy.retryConfig as { retries?: unknown; minTimeout?: unknown; maxTimeout?: unknown };
    if (!('retry' in copy) && old !== null && typeof old === 'object') {
      const backoff = {
        ...(typeof old.minTimeout === 'number' ? { initialMs: old.minTimeout } : {}),
        ...(typeof old.maxTimeout === 'number' ? { maxMs: old.maxTimeout } : {}),
      };
      copy.retry = {
        ...(typeof old.retries === 'number' ? { maxAttempts: old.retries + 1 } : {}),
        ...(Object.keys(backoff).length > 0 ? { backoff } : {}),
      };
    }
    delete copy.retryConfig;
  }
  const receiver = copy.receiver as { type?: unknown } | undefined;
  if (receiver !== null && typeof receiver === 'object' && receiver.type === 'mounted') {
    report?.('receiver.type: mounted is deprecated, write http (the webhook the host serves)');
    copy.receiver = { ...receiver, type: 'http' };
  }
  return copy;
}
