import { DatabaseBusyError, DatabaseUnavailableError, NotFoundError, ValidationError } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { HttpStatusError, isRetryableStepError, MissingServiceError } from './errors.js';

describe('isRetryableStepError', () => {
  it('retries a database that is away or busy for a moment', () => {
    expect(isRetryableStepError(new DatabaseUnavailableError('the database is not reachable'))).toBe(true);
    expect(isRetryableStepError(new DatabaseBusyError('the database is locked'))).toBe(true);
  });

  it('does not retry bad input, missing things or missing services', () => {
    expect(isRetryableStepError(ValidationError.field('text', 'is required'))).toBe(false);
    expect(isRetryableStepError(new NotFoundError('file', '01J00000000000000000000000'))).toBe(false);
    expect(isRetryableStepError(new MissingServiceError('ocr', 'an OCR engine'))).toBe(false);
  });

  it('follows what HTTP errors and unknown failures say', () => {
    expect(isRetryableStepError(new HttpStatusError('http://127.0.0.1/hook', 503, 'unavailable'))).toBe(true);
    expect(isRetryableStepError(new HttpStatusError('http://127.0.0.1/hook', 404, 'gone'))).toBe(false);
    expect(isRetryableStepError(new Error('socket hang up'))).toBe(true);
  });
});
