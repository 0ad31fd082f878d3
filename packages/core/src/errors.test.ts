import { describe, expect, it } from 'vitest';
import { ConflictError, KaiwaError, NotFoundError, ValidationError } from './errors.js';
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
