import {
  type PlatformAdapterBaseConfig,
  platformApiUrlSchema,
  platformRetryConfigSchema,
  renameConfigKeys,
} from '@kaiwa/core';
import type { ConfigurationBotFrameworkAuthenticationOptions } from 'botbuilder';
import { z } from 'zod';
import type { TeamsMentionLookup } from './teams-format.js';

/**
 * Teams receives only through its messaging endpoint, a webhook the host serves and hands to
 * `TeamsAdapter.handleWebhook` (the Kaiwa server: `/api/v1/platforms/teams/events`), so there is no
 * `receiver` to choose.
 *
 * @example
 * const config: TeamsAdapterConfig = {
 *   token: process.env.TEAMS_APP_PASSWORD!,
 *   auth: { MicrosoftAppId, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId },
 * };
 */
export interface TeamsAdapterConfig extends Omit<PlatformAdapterBaseConfig, 'token'> {
  /**
   * The app password (client secret) of the bot's Azure registration, botbuilder's `MicrosoftAppPassword`.
   * Production needs it with `auth.MicrosoftAppId`: without an app id, inbound requests are NOT
   * authenticated and outbound calls carry no token, which only a local emulator or a test connector accepts.
   */
  token?: string;
  /** The rest of the registration, for botbuilder's `ConfigurationBotFrameworkAuthentication`. */
  auth?: ConfigurationBotFrameworkAuthenticationOptions & {
    /** @deprecated Write `token`. */
    MicrosoftAppPassword?: string;
    MicrosoftAppType?: 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';
  };
  /**
   * Connector URL for conversations the adapter has not heard from since it started (proactive sends).
   * Teams gives it on every activity (`https://smba.trafficmanager.net/<region>/`).
   */
  apiUrl?: string;
  /**
   * botframework-connector already retries 429 and 503 (honouring Retry-After) and other 5xx up to three
   * times; when a call still fails with 429, 503 or 504 the adapter waits (Retry-After, else backoff from
   * `backoff.initialMs`, 250 ms) and starts more rounds, `maxAttempts` in all (default 3). One wait is at
   * most `maxRetryAfterMs` (default 30 s); a longer Retry-After is cut to it.
   */
  retry?: PlatformAdapterBaseConfig['retry'];
  /** Teams tenant id for proactive sends. */
  tenantId?: string;
  /** The bot's channel account id (`28:<app id>`), if known before the first activity. */
  botId?: string;
  /**
   * `card` (default) sends an Adaptive Card from `toTeams` (code blocks, quotes and lists render well);
   * `text` sends Teams markdown in `text`.
   */
  messageFormat?: 'card' | 'text';
  /**
   * The Teams account of a Kaiwa `@username` in outbound text (the bridge knows its user mapping). Without
   * it, or when it answers undefined, users seen inbound are matched by display name.
   */
  mention?: TeamsMentionLookup;
  /** The Kaiwa username of a Teams user id in inbound `<at>` mentions; otherwise `@Display Name` stays. */
  userName?: (teamsUserId: string) => string | undefined;
  /** Text that starts a command; `/` by default (Teams has no slash commands for bots of its own). */
  commandPrefix?: string;
  /**
   * Errors with no caller to go to (a request that could not be read).
   * @deprecated Pass a `logger`; its `error` hears them.
   */
  onError?: (error: unknown) => void;
}

/** The serialisable part of {@link TeamsAdapterConfig}, as a bridge file holds it. */
export const teamsSettingsSchema = z.strictObject({
  token: z.string().min(1, 'must not be empty').optional(),
  auth: z
    .strictObject({
      MicrosoftAppId: z.string().min(1, 'must not be empty').optional(),
      MicrosoftAppType: z
        .enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI'], {
          error: 'must be MultiTenant, SingleTenant or UserAssignedMSI',
        })
        .optional(),
      MicrosoftAppTenantId: z.string().trim().min(1).optional(),
    })
    .optional(),
  apiUrl: platformApiUrlSchema.optional(),
  retry: platformRetryConfigSchema.optional(),
  tenantId: z.string().trim().min(1).optional(),
  botId: z.string().trim().min(1).optional(),
  messageFormat: z.enum(['card', 'text'], { error: 'must be card or text' }).optional(),
  listen: z
    .never({
      error:
        "no longer supported: the adapter runs no HTTP server of its own; the Bot Framework posts to the host's " +
        'webhook (the Kaiwa server: /api/v1/platforms/teams/events); remove it',
    })
    .optional(),
});

/**
 * Last release's keys in their new places: `auth.MicrosoftAppPassword` → `token`, `serviceUrl` → `apiUrl`,
 * `maxRetries` → `retry.maxAttempts` (+ 1), `maxRetryDelayMs` → `retry.maxRetryAfterMs`, and
 * `receiver: { type: mounted }` dropped (the host's webhook is the only way in). `report` hears each one.
 */
export function upgradeTeamsSettings(settings: unknown, report?: (message: string) => void): unknown {
  const upgraded = renameConfigKeys(settings, { serviceUrl: 'apiUrl' }, report);
  if (upgraded === null || typeof upgraded !== 'object' || Array.isArray(upgraded)) return upgraded;
  const copy = upgraded as Record<string, unknown>;
  const auth = copy.auth as Record<string, unknown> | undefined;
  if (auth !== null && typeof auth === 'object' && 'MicrosoftAppPassword' in auth) {
    report?.('auth.MicrosoftAppPassword: deprecated, write token');
    const { MicrosoftAppPassword, ...rest } = auth;
    if (copy.token === undefined) copy.token = MicrosoftAppPassword;
    copy.auth = rest;
  }
  if ('maxRetries' in copy || 'maxRetryDelayMs' in copy) {
    const { maxRetries, maxRetryDelayMs } = copy;
    const retry = { ...((copy.retry as Record<string, unknown> | undefined) ?? {}) };
    if (maxRetries !== undefined) {
      report?.('maxRetries: deprecated, write retry.maxAttempts (maxRetries + 1: the first round counts)');
      if (typeof maxRetries === 'number' && retry.maxAttempts === undefined)
        retry.maxAttempts = maxRetries + 1;
    }
    if (maxRetryDelayMs !== undefined) {
      report?.('maxRetryDelayMs: deprecated, write retry.maxRetryAfterMs');
      if (retry.maxRetryAfterMs === undefined) retry.maxRetryAfterMs = maxRetryDelayMs;
    }
    delete copy.maxRetries;
    delete copy.maxRetryDelayMs;
    copy.retry = retry;
  }
  const receiver = copy.receiver as { type?: unknown } | undefined;
  if (receiver !== null && typeof receiver === 'object' && receiver.type === 'mounted') {
    report?.('receiver: deprecated, remove it (Teams always posts to the webhook the host serves)');
    delete copy.receiver;
  }
  return copy;
}
