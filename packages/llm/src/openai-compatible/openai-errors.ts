import {
  BackendResponseError,
  BackendUnreachableError,
  ContextTooLongError,
  ModelAbortedError,
  type ModelError,
  ModelMissingError,
  ModelTimeoutError,
  RateLimitedError,
} from '@kaiwa/core';
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';

const contextTooLong =
  /context[_ ]length|maximum context|context size|context window|too many tokens|too long/i;

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const milliseconds = headers?.get('retry-after-ms');
  if (milliseconds && !Number.isNaN(Number.parseFloat(milliseconds))) return Number.parseFloat(milliseconds);
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (!Number.isNaN(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function bodyText(error: APIError): string {
  const body = error.error as { code?: unknown; type?: unknown; message?: unknown } | undefined;
  return [body?.code, body?.type, body?.message, error.message]
    .filter((part) => typeof part === 'string')
    .join(' ');
}

/** Maps an error of the `openai` client (or anything else) to a Kaiwa `ModelError`. */
export function toModelError(
  error: unknown,
  context: { provider: string; model: string; baseURL: string },
): ModelError {
  const { provider } = context;
  if (error instanceof APIUserAbortError) return new ModelAbortedError(undefined, { provider, cause: error });
  if (error instanceof APIConnectionTimeoutError) {
    return new ModelTimeoutError(`no answer from ${context.baseURL} in time`, { provider, cause: error });
  }
  if (error instanceof APIConnectionError) {
    return new BackendUnreachableError(`cannot reach ${context.baseURL}: ${error.message}`, {
      provider,
      cause: error,
    });
  }
  if (error instanceof APIError) {
    const text = bodyText(error);
    if (error.status === 429) {
      return new RateLimitedError(`${context.baseURL} is rate limiting: ${error.message}`, {
        provider,
        cause: error,
        retryAfterMs: retryAfterMs(error.headers),
      });
    }
    if (error.status === 404 && /model/i.test(text)) {
      return new ModelMissingError(
        context.model,
        `model ${context.model} not found at ${context.baseURL}: ${text}`,
        {
          provider,
          cause: error,
        },
      );
    }
    if (
      (error.status === 400 || error.status === 413 || error.status === undefined) &&
      contextTooLong.test(text)
    ) {
      return new ContextTooLongError(error.message, { provider, cause: error });
    }
    return new BackendResponseError(error.message, { provider, cause: error, status: error.status });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new ModelAbortedError(undefined, { provider, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BackendResponseError(message, { provider, cause: error, isRetryable: false });
}
