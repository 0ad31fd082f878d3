import { PlatformError, type PlatformErrorCode } from '@kaiwa/core';
import { TelegramError } from 'telegraf';

/** Turns what telegraf throws into a {@link PlatformError} with a code a caller can act on. */
export function toPlatformError(error: unknown, action: string): PlatformError {
  if (error instanceof PlatformError) return error;
  const make = (code: PlatformErrorCode, detail: string, retryAfterMs?: number) =>
    new PlatformError('telegram', code, `Telegram ${action} failed: ${detail}`, {
      cause: error,
      retryAfterMs,
    });
  if (error instanceof TelegramError) {
    const description = error.description ?? '';
    const code = error.code;
    if (code === 429) return make('rate_limited', description, (error.parameters?.retry_after ?? 1) * 1000);
    if (code >= 500) return make('unavailable', description);
    if (code === 401 || code === 403) return make('forbidden', description);
    if (code === 404 || /not found|message_id_invalid|message can't be (deleted|edited)/i.test(description)) {
      return make(/can't be/i.test(description) ? 'forbidden' : 'not_found', description);
    }
    return make('invalid_request', description);
  }
  // Network failures (node-fetch FetchError, resets, timeouts) may pass on retry.
  return make('unavailable', error instanceof Error ? error.message : String(error));
}

/** Telegram answers an edit that changes nothing with an error; the message is as asked. */
export function isNotModified(error: unknown): boolean {
  return error instanceof TelegramError && /message is not modified/i.test(error.description ?? '');
}
