import {
  BackendUnreachableError,
  DatabaseUnavailableError,
  ModelMissingError,
  NotFoundError,
  PlatformError,
} from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { errorAnswer } from './error-handler.js';

describe('errorAnswer and the error families', () => {
  it('maps engine errors by code, and model and platform errors (same base, other family) to a plain 500', () => {
    expect(errorAnswer(new NotFoundError('room', '01J')).statusCode).toBe(404);
    expect(errorAnswer(new DatabaseUnavailableError('down'))).toMatchObject({
      statusCode: 503,
      retryAfterSeconds: 1,
    });
    // Their codes (not_found, rate_limited…) overlap the engine's; they must not become 404s or 429s.
    for (const error of [
      new PlatformError('slack', 'not_found', 'no such channel'),
      new PlatformError('slack', 'forbidden', 'not in channel'),
      new ModelMissingError('elyza', 'gone'),
      new BackendUnreachableError('down'),
    ]) {
      expect(errorAnswer(error)).toEqual({
        statusCode: 500,
        body: { error: { code: 'internal', message: 'internal server error' } },
      });
    }
  });
});
