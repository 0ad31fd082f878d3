import {
  BackendResponseError,
  BackendUnreachableError,
  ContextTooLongError,
  ModelAbortedError,
  ModelError,
  ModelMissingError,
  ModelTimeoutError,
  RateLimitedError,
} from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import { findStop } from './stream-parts.js';

describe('model errors (ports in @kaiwa/core)', () => {
  it('carry a code and say whether a retry can help', () => {
    const cases: [ModelError, string, boolean][] = [
      [new BackendUnreachableError('down'), 'backend_unreachable', true],
      [new ModelMissingError('m', 'gone'), 'model_missing', false],
      [new ContextTooLongError('long'), 'context_too_long', false],
      [new RateLimitedError('busy', { retryAfterMs: 1500 }), 'rate_limited', true],
      [new ModelTimeoutError('slow'), 'timeout', true],
      [new ModelAbortedError(), 'aborted', false],
      [new BackendResponseError('bad gateway', { status: 502 }), 'backend_error', true],
      [new BackendResponseError('unauthorised', { status: 401 }), 'backend_error', false],
    ];
    for (const [error, code, isRetryable] of cases) {
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toBeInstanceOf(Error);
      expect({ code: error.code, isRetryable: error.isRetryable }).toEqual({ code, isRetryable });
      expect(ModelError.isInstance(error)).toBe(true);
    }
    expect(new RateLimitedError('busy', { retryAfterMs: 1500 }).retryAfterMs).toBe(1500);
    expect(new ModelMissingError('elyza', 'gone').modelId).toBe('elyza');
  });

  it('are recognised across package copies by their Symbol.for marker, and keep their cause', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('kaiwa.error.ModelError')]: true });
    expect(ModelError.isInstance(foreign)).toBe(true);
    expect(ModelError.isInstance(new Error('x'))).toBe(false);
    const cause = new Error('ECONNREFUSED');
    expect(new BackendUnreachableError('down', { cause, provider: 'ollama' })).toMatchObject({
      cause,
      provider: 'ollama',
    });
  });
});

describe('findStop', () => {
  it('finds the earliest stop sequence and holds back a possible start of one', () => {
    expect(findStop('Hello</s>', ['</s>'])).toEqual({ index: 5, holdBack: 0 });
    expect(findStop('a\nUser: b', ['</s>', '\nUser:'])).toEqual({ index: 1, holdBack: 0 });
    expect(findStop('Hello</', ['</s>'])).toEqual({ index: -1, holdBack: 2 });
    expect(findStop('Hello', ['</s>', ''])).toEqual({ index: -1, holdBack: 0 });
  });
});
