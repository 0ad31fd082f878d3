import { ValidationError } from '@kaiwa/core';
import { defineStepType, evaluateExpression } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError } from './errors.js';

export const ConditionStepInputSchema = z
  .object({
    /** An expression in Kaiwa's condition language over `values`: `amount > 1000 and currency == "EUR"`. */
    expression: z.string().min(1).max(4_000).optional(),
    /** The names the expression sees; templates here are rendered by the engine (`"{{ steps.invoice.amount }}"`). */
    values: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'), z.unknown())
      .default({}),
    /** Or a value the engine already computed, such as `"{{ steps.invoice.amount > 1000 }}"`; must be a boolean. */
    value: z.unknown().optional(),
  })
  .strict()
  .refine((input) => (input.expression === undefined) !== (input.value === undefined), {
    message: 'give either expression or value',
    path: ['expression'],
  });
export type ConditionStepInput = z.infer<typeof ConditionStepInputSchema>;

export interface ConditionStepOutput {
  result: boolean;
}

/**
 * `condition`: evaluates a condition (never with `eval`) to `{ result }`, for later steps'
 * `when: "steps.big.result"`. A result that is not a boolean is an error, not a guess.
 *
 * @example
 * { "id": "big", "type": "condition",
 *   "input": { "expression": "amount > 1000", "values": { "amount": "{{ steps.invoice.amount }}" } } }
 */
export const conditionStep = defineStepType<ConditionStepInput, ConditionStepOutput>({
  type: 'condition',
  description: 'Evaluates a condition expression over values to { result: boolean }',
  input: ConditionStepInputSchema,
  retryable: isRetryableStepError,
  async run(input) {
    const result =
      input.expression !== undefined ? evaluateExpression(input.expression, input.values) : input.value;
    if (typeof result !== 'boolean') {
      throw ValidationError.field(
        input.expression !== undefined ? 'expression' : 'value',
        `must give true or false, not ${result === null ? 'null' : typeof result}`,
      );
    }
    return { result };
  },
});
