import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DatabaseBusyError,
  DatabaseUnavailableError,
  KaiwaBaseError,
  KaiwaError,
  NotFoundError,
  ValidationError,
} from './errors.js';
import {
  BackendUnreachableError,
  ModelError,
  ModelInputError,
  ModelMissingError,
} from './ports/chat-model.js';
import { PlatformError } from './ports/platform-adapter.js';
import { SendMessageInputSchema } from './schemas/message.js';
import { parseInput } from './validate.js';

describe('errors', () => {
  it('carries a code and is recognised across copies of the package', () => {
    const error = new NotFoundError('room', '01J');
    expect(error.code).toBe('not_found');
    expect(KaiwaError.isInstance(error)).toBe(true);
    expect(KaiwaError.isInstance(new Error('plain'))).toBe(false);
    expect(new ConflictError('taken', 'username').field).toBe('username');
  });

  it('turns every schema issue into a field path and reason', () => {
    let caught: unknown;
    try {
      parseInput(SendMessageInputSchema, { roomId: 'nope', text: '', attachmentIds: ['x'] });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const paths = (caught as ValidationError).issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['roomId', 'text', 'attachmentIds.0']));
    expect((caught as ValidationError).message).toMatch(/^roomId: /);
  });
});

describe('one error base for every family', () => {
  const engine = new NotFoundError('room', '01J');
  const model = new BackendUnreachableError('down', { provider: 'ollama' });
  const platform = new PlatformError('slack', 'rate_limited', 'slow down', { retryAfterMs: 500 });

  it('shares code, cause and isRetryable across KaiwaError, ModelError and PlatformError', () => {
    const cause = new Error('ECONNREFUSED');
    const errors: [KaiwaBaseError, string, boolean][] = [
      [engine, 'not_found', false],
      [new DatabaseUnavailableError('down', { cause }), 'database_unavailable', true],
      [new DatabaseBusyError('locked'), 'busy', true],
      [new KaiwaError('internal', 'odd', { isRetryable: true }), 'internal', true],
      [model, 'backend_unreachable', true],
      [new ModelMissingError('elyza', 'gone'), 'model_missing', false],
      [new ModelInputError('texts[0] is a number'), 'invalid_input', false],
      [platform, 'rate_limited', true],
      [new PlatformError('slack', 'forbidden', 'no'), 'forbidden', false],
      [new PlatformError('slack', 'forbidden', 'no', { retryable: true }), 'forbidden', true],
    ];
    for (const [error, code, isRetryable] of errors) {
      expect(error).toBeInstanceOf(KaiwaBaseError);
      expect(error).toBeInstanceOf(Error);
      expect(KaiwaBaseError.isInstance(error)).toBe(true);
      expect({ code: error.code, isRetryable: error.isRetryable }).toEqual({ code, isRetryable });
    }
    expect(new DatabaseUnavailableError('down', { cause }).cause).toBe(cause);
    expect(new PlatformError('slack', 'unavailable', 'x', { cause }).cause).toBe(cause);
    expect(new BackendUnreachableError('x', { cause }).cause).toBe(cause);
    // The older names stay, equal to isRetryable.
    expect(platform.retryable).toBe(true);
    expect(new DatabaseBusyError('locked').retryable).toBe(true);
  });

  it('tells the families apart, so the server maps only engine errors to HTTP statuses', () => {
    expect([engine, model, platform].map((error) => KaiwaError.isInstance(error))).toEqual([
      true,
      false,
      false,
    ]);
    expect([engine, model, platform].map((error) => ModelError.isInstance(error))).toEqual([
      false,
      true,
      false,
    ]);
    expect([engine, model, platform].map((error) => PlatformError.isInstance(error))).toEqual([
      false,
      false,
      true,
    ]);
    for (const value of [new Error('plain'), { code: 'not_found' }, null, undefined, 'not_found', 42]) {
      expect(KaiwaBaseError.isInstance(value)).toBe(false);
      expect(KaiwaError.isInstance(value)).toBe(false);
      expect(ModelError.isInstance(value)).toBe(false);
      expect(PlatformError.isInstance(value)).toBe(false);
    }
  });

  it('recognises errors built by another copy of the package by their Symbol.for markers', () => {
    // What a second copy of @kaiwa/core constructs: its own classes, the same registered symbols.
    const foreign = (family: string) =>
      Object.assign(new Error('from another copy'), {
        [Symbol.for('kaiwa.error')]: true,
        [Symbol.for(`kaiwa.error.${family}`)]: true,
        code: 'x',
        isRetryable: false,
      });
    const copies = [foreign('KaiwaError'), foreign('ModelError'), foreign('PlatformError')];
    for (const copy of copies) {
      expect(copy).not.toBeInstanceOf(KaiwaBaseError);
      expect(KaiwaBaseError.isInstance(copy)).toBe(true);
    }
    expect(copies.map((copy) => KaiwaError.isInstance(copy))).toEqual([true, false, false]);
    expect(copies.map((copy) => ModelError.isInstance(copy))).toEqual([false, true, false]);
    expect(copies.map((copy) => PlatformError.isInstance(copy))).toEqual([false, false, true]);
    // A marker must be exactly true; a look-alike symbol does not count.
    expect(KaiwaBaseError.isInstance({ [Symbol.for('kaiwa.error')]: 'yes' })).toBe(false);
    expect(KaiwaBaseError.isInstance({ [Symbol('kaiwa.error')]: true })).toBe(false);
  });

  it('names each error after its class', () => {
    expect([engine.name, model.name, platform.name]).toEqual([
      'NotFoundError',
      'BackendUnreachableError',
      'PlatformError',
    ]);
  });
});
