import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError } from './errors.js';
import { type Conversion, convertValue } from './parse-values.js';

const ConversionSchema: z.ZodType<Conversion> = z.union([
  z.enum(['string', 'number', 'integer', 'boolean', 'date']),
  z.object({ type: z.enum(['number', 'integer']), decimal: z.enum(['.', ',', 'auto']).optional() }).strict(),
  z.object({ type: z.literal('date'), order: z.enum(['dmy', 'mdy']).optional() }).strict(),
]);

const MapInputSchema = z
  .object({
    mode: z.literal('map'),
    /** Output field → value; the engine has already rendered its `{{ … }}` templates. */
    map: z.record(z.string().min(1).max(100), z.unknown()),
    /** Field → conversion applied after rendering: `"amount": "number"`, `"date": { "type": "date", "order": "mdy" }`. */
    convert: z.record(z.string().min(1).max(100), ConversionSchema).optional(),
  })
  .strict();

const TemplateInputSchema = z
  .object({
    mode: z.literal('template'),
    /** Text with `{{ … }}` placeholders, rendered by the engine before the step runs. */
    template: z.string().max(100_000),
    trim: z.boolean().default(false),
  })
  .strict();

export const TransformStepInputSchema = z.discriminatedUnion('mode', [MapInputSchema, TemplateInputSchema]);
export type TransformStepInput = z.infer<typeof TransformStepInputSchema>;
export type TransformStepOutput = Record<string, unknown>;

/**
 * `transform`: shapes data for later steps. `map` builds an object from templates and converts fields
 * (numbers as invoices write them, dates to `YYYY-MM-DD`); `template` yields `{ text }`.
 * Templates are rendered by the workflow engine with the expression language before the step runs, so a
 * value that is exactly one `{{ expression }}` keeps its type (number, object…).
 *
 * @example
 * { "id": "invoice", "type": "transform", "input": { "mode": "map",
 *   "map": { "amount": "{{ steps.fields.fields.amount }}", "date": "{{ steps.fields.fields.date }}" },
 *   "convert": { "amount": "number", "date": "date" } } }
 */
export const transformStep = defineStepType<TransformStepInput, TransformStepOutput>({
  type: 'transform',
  description: 'Builds an object from templates with number/date conversion (map), or text from a template',
  input: TransformStepInputSchema,
  retryable: isRetryableStepError,
  async run(input) {
    if (input.mode === 'template') return { text: input.trim ? input.template.trim() : input.template };
    const output: Record<string, unknown> = { ...input.map };
    for (const [field, conversion] of Object.entries(input.convert ?? {})) {
      output[field] = convertValue(output[field], conversion, ['map', field]);
    }
    return output;
  },
});
