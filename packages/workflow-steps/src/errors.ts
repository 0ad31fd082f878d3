import { KaiwaError, ModelError, PlatformError, ValidationError, VoiceError } from '@kaiwa/core';

/** A step needs a service (blob store, chat model, endpoint, platform) the engine was not given. */
export class MissingServiceError extends Error {
  readonly code = 'service_missing';
  readonly service: string;

  constructor(stepType: string, service: string, message?: string) {
    super(message ?? `${stepType} needs ${service}; pass it in the workflow services`);
    this.name = 'MissingServiceError';
    this.service = service;
  }
}

/**
 * An HTTP call answered with a status outside 2xx. `retryable` is true on 5xx, 408 and 429;
 * `retryAfterMs` carries the server's `Retry-After` when it sent one.
 */
export class HttpStatusError extends Error {
  readonly code = 'http_status';
  readonly status: number;
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  /** The start of the response body, for the run's error record. */
  readonly body: string;

  constructor(endpoint: string, status: number, body: string, retryAfterMs?: number) {
    super(`endpoint ${endpoint} answered HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.retryable = status >= 500 || status === 429 || status === 408;
    this.retryAfterMs = retryAfterMs;
    this.body = body;
  }
}

/**
 * A model answered, but not with what was asked (a label that is not in the list, JSON that breaks the
 * schema) even after one stricter second try. `reply` is the model's last answer.
 */
export class ModelOutputError extends ValidationError {
  readonly reply: string;

  constructor(field: string, message: string, reply: string, options?: { cause?: unknown }) {
    super([{ path: [field], message }], options);
    this.name = 'ModelOutputError';
    this.reply = reply;
  }
}

/**
 * Whether an error from a built-in step is worth another attempt: Kaiwa errors (bad input, missing or
 * forbidden things) and missing services are not, except those that say they are retryable (the database
 * is unavailable or busy for a moment); model, platform and HTTP errors say so themselves; anything else
 * (a reset connection, a crashed worker) is.
 */
export function isRetryableStepError(error: unknown): boolean {
  if (KaiwaError.isInstance(error)) return (error as { retryable?: unknown }).retryable === true;
  if (error instanceof MissingServiceError) return false;
  if (ModelError.isInstance(error) || VoiceError.isInstance(error)) return error.isRetryable;
  if (error instanceof PlatformError || error instanceof HttpStatusError) return error.retryable;
  if (error instanceof Error && error.name === 'AbortError') return false;
  return true;
}
