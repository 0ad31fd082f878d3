import { parseInput, ValidationError } from '@kaiwa/core';
import { defineStepType, type StepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError } from './errors.js';
import { compileJsonSchema, schemaIssues } from './json-schema.js';

export const ValidateStepInputSchema = z
  .object({
    data: z.unknown(),
    /** A JSON Schema (ajv, strict, every error reported). */
    schema: z.record(z.string(), z.unknown()).optional(),
    /** Or a zod schema the operator registered with `createValidateStep({ schemas })`. */
    schemaName: z.string().min(1).max(100).optional(),
  })
  .strict()
  .refine((input) => (input.schema === undefined) !== (input.schemaName === undefined), {
    message: 'give either schema or schemaName',
    path: ['schema'],
  });
export type ValidateStepInput = z.infer<typeof ValidateStepInputSchema>;

/** `data` as the schema accepted it (with zod, after its transforms and defaults). */
export interface ValidateStepOutput {
  valid: true;
  data: unknown;
}

export interface ValidateStepOptions {
  /** Named zod schemas definitions may refer to by `schemaName`. */
  schemas?: Record<string, z.ZodType>;
}

/**
 * Creates the `validate` step: checks data against a JSON Schema or a registered zod schema and fails with
 * a ValidationError listing every bad path (under `data`) when it does not match.
 *
 * @example
 * const validate = createValidateStep({ schemas: { invoice: z.object({ amount: z.number().positive() }) } });
 * // { "id": "check", "type": "validate", "input": { "data": "{{ steps.invoice }}", "schemaName": "invoice" } }
 */
export function createValidateStep(
  options: ValidateStepOptions = {},
): StepType<ValidateStepInput, ValidateStepOutput> {
  const schemas = new Map(Object.entries(options.schemas ?? {}));
  return defineStepType<ValidateStepInput, ValidateStepOutput>({
    type: 'validate',
    description:
      'Checks data against a JSON Schema or a registered zod schema: { data, schema | schemaName }',
    input: ValidateStepInputSchema,
    retryable: isRetryableStepError,
    async run(input) {
      if (input.schemaName !== undefined) {
        const schema = schemas.get(input.schemaName);
        if (!schema) {
          throw ValidationError.field(
            'schemaName',
            `no schema named "${input.schemaName}"${schemas.size ? `; known: ${[...schemas.keys()].join(', ')}` : ''}`,
          );
        }
        try {
          return { valid: true, data: parseInput(schema, input.data) };
        } catch (error) {
          if (!(error instanceof ValidationError)) throw error;
          throw new ValidationError(
            error.issues.map((issue) => ({ path: ['data', ...issue.path], message: issue.message })),
            { cause: error },
          );
        }
      }
      const validate = compileJsonSchema(input.schema, 'schema');
      if (!validate(input.data)) throw new ValidationError(schemaIssues(validate.errors, ['data']));
      return { valid: true, data: input.data };
    },
  });
}

/** The `validate` step with no named schemas: JSON Schema only. */
export const validateStep = createValidateStep();
