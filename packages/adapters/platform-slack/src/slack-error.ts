import { PlatformError, type PlatformErrorCode } from '@kaiwa/core';
import { ErrorCode } from '@slack/web-api';

/* Slack error names (the `error` field of a failed Web API answer) grouped by what a caller can do about them. */
const NOT_FOUND = new Set([
  'channel_not_found',
  'message_not_found',
  'thread_not_found',
  'user_not_found',
  'file_not_found',
  'not_in_channel',
]);
const FORBIDDEN = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'no_permission',
  'restricted_action',
  'cant_update_message',
  'cant_delete_message',
  'is_archived',
  'ekm_access_denied',
]);
const UNAVAILABLE = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

interface SlackSdkError {
  code?: string;
  data?: { error?: string };
  statusCode?: number;
  retryAfter?: number;
  message?: string;
}

/** Turns what `@slack/web-api` throws into a {@link PlatformError} with a code a caller can act on. */
export function toPlatformError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SlackSdkError;
  const detail = sdk.data?.error ?? sdk.message ?? String(error);
  const make = (code: PlatformErrorCode, retryAfterMs?: number) =>
    new PlatformError('slack', code, `Slack ${action} failed: ${detail}`, { cause: error, retryAfterMs });
  switch (sdk.code) {
    case ErrorCode.RateLimitedError:
      return make('rate_limited', (sdk.retryAfter ?? 1) * 1000);
    case ErrorCode.RequestError:
      return make('unavailable');
    case ErrorCode.HTTPError:
      return make(sdk.statusCode !== undefined && sdk.statusCode >= 500 ? 'unavailable' : 'invalid_request');
    case ErrorCode.PlatformError: {
      const name = sdk.data?.error ?? '';
      if (name === 'ratelimited') return make('rate_limited');
      if (NOT_FOUND.has(name)) return make('not_found');
      if (FORBIDDEN.has(name)) return make('forbidden');
      if (UNAVAILABLE.has(name)) return make('unavailable');
      return make('invalid_request');
    }
    default:
      // Retries exhausted on a 429 or a network failure surface as plain errors from p-retry.
      if (/rate limit/i.test(detail)) return make('rate_limited');
      return make('unavailable');
  }
}

/** The Slack error name of a failed Web API call, if it was one. */
export function slackErrorName(error: unknown): string | undefined {
  const sdk = (typeof error === 'object' && error !== null ? error : {}) as SlackSdkError;
  return sdk.code === ErrorCode.PlatformError ? sdk.data?.error : undefined;
}
