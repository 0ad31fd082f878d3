import type { z } from 'zod';
import { ValidationError } from './errors.js';

/**
 * Parses `input` with `schema`, or throws a ValidationError that names every bad field.
 *
 * @example const input = parseInput(SendMessageInputSchema, raw);
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      path: issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
      message: issue.message,
    })),
    { cause: result.error },
  );
}
