import type { PlatformError, PlatformErrorCode } from '../ports/platform-adapter.js';

/**
 * The {@link PlatformErrorCode} of a failed HTTP answer from a platform API.
 *
 * @example platformErrorCodeForStatus(403); // 'forbidden'
 */
export function platformErrorCodeForStatus(status: number): PlatformErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 404) return 'not_found';
  if (status === 401 || status === 403) return 'forbidden';
  return status >= 500 ? 'unavailable' : 'invalid_request';
}

/**
 * Reads a `Retry-After` header as milliseconds: delta seconds, or an HTTP date.
 *
 * @example retryAfterMs('7'); // 7000
 */
export function retryAfterMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export interface PlatformRetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  /** Wait before retry `attempt` (0 = the first retry) when the error carries no `retryAfterMs`. */
  backoffMs: (attempt: number) => number;
  /** Longest wait for one retry. */
  maxDelayMs: number;
  /** A longer wait is cut to `maxDelayMs` (`cap`), or fails the call at once (`fail`). */
  overMax: 'cap' | 'fail';
}

/**
 * Runs one platform call, mapping what it throws with `toError` and trying again while the error is
 * `retryable`: after the platform's `retryAfterMs` when it gave one, else after `backoffMs`.
 *
 * @example
 * await withPlatformRetry(() => api.send(text), (error) => toPlatformError(error, 'send'), {
 *   retries: 3, backoffMs: (attempt) => 250 * 2 ** attempt, maxDelayMs: 30_000, overMax: 'cap',
 * });
 */
export async function withPlatformRetry<T>(
  run: () => Promise<T>,
  toError: (error: unknown) => PlatformError,
  options: PlatformRetryOptions,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const failure = toError(error);
      if (!failure.retryable || attempt >= options.retries) throw failure;
      const wait = failure.retryAfterMs ?? options.backoffMs(attempt);
      if (wait > options.maxDelayMs && options.overMax === 'fail') throw failure;
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, options.maxDelayMs)));
    }
  }
}
