import { type FieldIssue, ValidationError } from '@kaiwa/core';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** Largest JSON Schema accepted, as JSON text. */
export const MAX_SCHEMA_LENGTH = 100_000;

const ajv = new Ajv({ strict: true, allErrors: true });
// A few common formats, so strict mode does not refuse schemas that use them.
ajv.addFormat('date', {
  type: 'string',
  validate: (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && isRealDate(value),
});
ajv.addFormat('date-time', {
  type: 'string',
  validate: (value: string) =>
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value)),
});
ajv.addFormat('email', /^[^\s@]+@[^\s@]+\.[^\s@]+$/);
ajv.addFormat('uri', {
  type: 'string',
  validate: (value: string) => URL.canParse(value),
});

// ajv keeps every compiled schema object itself; evicting here removes it there too, so memory stays bounded.
const compiled = new Map<string, { validate: ValidateFunction; schema: object }>();
const MAX_CACHED = 200;

function isRealDate(value: string): boolean {
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/**
 * Compiles a JSON Schema (ajv, strict, all errors), cached by its text.
 * @throws ValidationError at `field` when the schema itself is invalid or too large.
 */
export function compileJsonSchema(schema: unknown, field = 'schema'): ValidateFunction {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw ValidationError.field(field, 'must be a JSON Schema object');
  }
  const text = JSON.stringify(schema);
  if (text.length > MAX_SCHEMA_LENGTH) {
    throw ValidationError.field(field, `must be at most ${MAX_SCHEMA_LENGTH} characters as JSON`);
  }
  const cached = compiled.get(text);
  if (cached) return cached.validate;
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (error) {
    throw new ValidationError(
      [{ path: [field], message: `not a valid JSON Schema: ${(error as Error).message}` }],
      {
        cause: error,
      },
    );
  }
  if (compiled.size >= MAX_CACHED) {
    const [oldest, entry] = compiled.entries().next().value as [string, { schema: object }];
    compiled.delete(oldest);
    ajv.removeSchema(entry.schema);
  }
  compiled.set(text, { validate, schema });
  return validate;
}

/** ajv's errors as field issues under `root`: `/amount` → `['data', 'amount']`. */
export function schemaIssues(
  errors: ErrorObject[] | null | undefined,
  root: (string | number)[],
): FieldIssue[] {
  return (errors ?? []).map((error) => {
    const path = [...root, ...pointerSegments(error.instancePath)];
    if (error.keyword === 'required')
      path.push((error.params as { missingProperty: string }).missingProperty);
    if (error.keyword === 'additionalProperties') {
      path.push((error.params as { additionalProperty: string }).additionalProperty);
    }
    return { path, message: error.message ?? `breaks ${error.keyword}` };
  });
}

/** RFC 6901 pointer segments, unescaped; array indexes stay strings. */
export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
}
