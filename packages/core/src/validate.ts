import type { z } from 'zod';
import { ValidationError } from './errors.js';

/**
 * Parses `input` with `schema`, or throws a ValidationError that names every bad field (under `prefix`, when
 * `input` is one field of something larger).
 *
 * @example const input = parseInput(SendMessageInputSchema, raw);
 * @example const key = parseInput(KeySchema, raw, ['key']);
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix: (string | number)[] = [],
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      path: [
        ...prefix,
        ...issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment)),
      ],
      message: issue.message,
    })),
    { cause: result.error },
  );
}
