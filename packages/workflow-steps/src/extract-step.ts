import { type ChatMessage, ValidationError } from '@kaiwa/core';
import { defineStepType, type StepContext } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError, ModelOutputError } from './errors.js';
import { compileJsonSchema, pointerSegments, schemaIssues } from './json-schema.js';
import { parseModelJson } from './model-json.js';
import { requireChatModel } from './services.js';

/** Longest regular expression accepted; together with the nested-quantifier check this bounds backtracking. */
export const MAX_PATTERN_LENGTH = 500;
/** Longest text searched. */
export const MAX_EXTRACT_TEXT_LENGTH = 1_000_000;

/** `(a+)+`, `(\w*)*`, `(x+){2,}`: a quantified group whose body is itself quantified can backtrack exponentially. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

const PatternSchema = z
  .string()
  .min(1)
  .max(MAX_PATTERN_LENGTH)
  .refine((pattern) => !NESTED_QUANTIFIER.test(pattern), {
    message: 'nested quantifiers such as (a+)+ are refused: they can take exponential time',
  });

const RegexInputSchema = z
  .object({
    mode: z.literal('regex'),
    text: z.string().max(MAX_EXTRACT_TEXT_LENGTH),
    /** Named groups become fields: `Total\s+(?<amount>[\d.,]+)`. */
    pattern: PatternSchema,
    /** Any of `i`, `m`, `s`, `u` (`g` and `y` are implied by `all`). */
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'may hold only i, m, s and u')
      .refine((flags) => new Set(flags).size === flags.length, 'must not repeat a flag')
      .default(''),
    /** Every match instead of the first. */
    all: z.boolean().default(false),
    /** Fail when nothing matches (default); false gives `matched: false`. */
    required: z.boolean().default(true),
  })
  .strict();

const JsonPointerInputSchema = z
  .object({
    mode: z.literal('jsonPointer'),
    /** A JSON value, or JSON text. */
    json: z.unknown(),
    /** Field name → RFC 6901 pointer, such as `/invoice/total`. */
    pointers: z.record(
      z.string().min(1).max(100),
      z
        .string()
        .max(1_000)
        .refine((pointer) => pointer === '' || pointer.startsWith('/'), {
          message: 'a JSON pointer is empty or starts with /',
        }),
    ),
    required: z.boolean().default(true),
  })
  .strict();

const LlmInputSchema = z
  .object({
    mode: z.literal('llm'),
    text: z.string().min(1).max(200_000),
    /** JSON Schema the answer must match; usually an object with the fields wanted. */
    schema: z.record(z.string(), z.unknown()),
    instructions: z.string().max(4_000).optional(),
    maxTokens: z.number().int().min(1).max(8_192).optional(),
  })
  .strict();

export const ExtractStepInputSchema = z.discriminatedUnion('mode', [
  RegexInputSchema,
  JsonPointerInputSchema,
  LlmInputSchema,
]);
export type ExtractStepInput = z.infer<typeof ExtractStepInputSchema>;

export interface ExtractStepOutput {
  /** Named groups, pointer values or the model's JSON. */
  fields: Record<string, unknown>;
  /** Regex mode: whether anything matched, the whole first match, and every match with `all`. */
  matched?: boolean;
  match?: string;
  matches?: { match: string; fields: Record<string, string | undefined> }[];
}

/**
 * `extract`: pulls fields out of text or JSON — regex named groups, RFC 6901 JSON pointers, or JSON from the
 * chat model validated against a JSON Schema (one repair try, then a {@link ModelOutputError}).
 *
 * @example
 * { "id": "fields", "type": "extract", "input": { "mode": "regex", "text": "{{ steps.ocr.text }}",
 *   "pattern": "Total\\s+(?<amount>[\\d.,]+)\\s*(?<currency>[A-Z]{3})" } }
 */
export const extractStep = defineStepType<ExtractStepInput, ExtractStepOutput>({
  type: 'extract',
  description: 'Extracts fields by regex named groups, JSON pointers, or schema-checked LLM output',
  input: ExtractStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    switch (input.mode) {
      case 'regex':
        return extractRegex(input);
      case 'jsonPointer':
        return { fields: extractPointers(input) };
      case 'llm':
        return { fields: await extractWithModel(input, context) };
    }
  },
});

function extractRegex(input: z.infer<typeof RegexInputSchema>): ExtractStepOutput {
  let expression: RegExp;
  try {
    expression = new RegExp(input.pattern, `${input.flags}${input.all ? 'g' : ''}`);
  } catch (error) {
    throw new ValidationError([{ path: ['pattern'], message: (error as Error).message }], { cause: error });
  }
  const found = input.all
    ? [...input.text.matchAll(expression)].slice(0, 1_000)
    : [expression.exec(input.text)];
  const matches = found
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ match: match[0], fields: { ...match.groups } }));
  if (matches.length === 0 && input.required) {
    throw ValidationError.field('pattern', 'the pattern does not match the text');
  }
  const first = matches[0];
  return {
    fields: first?.fields ?? {},
    matched: first !== undefined,
    ...(first ? { match: first.match } : {}),
    ...(input.all ? { matches } : {}),
  };
}

function extractPointers(input: z.infer<typeof JsonPointerInputSchema>): Record<string, unknown> {
  let document = input.json;
  if (typeof document === 'string') {
    try {
      document = JSON.parse(document);
    } catch (error) {
      throw new ValidationError(
        [{ path: ['json'], message: `not valid JSON: ${(error as Error).message}` }],
        {
          cause: error,
        },
      );
    }
  }
  const fields: Record<string, unknown> = {};
  for (const [name, pointer] of Object.entries(input.pointers)) {
    const value = resolvePointer(document, pointer);
    if (value === undefined && input.required) {
      throw ValidationError.field(['pointers', name], `nothing at ${pointer || '(the whole document)'}`);
    }
    fields[name] = value;
  }
  return fields;
}

/** RFC 6901: the value `pointer` names in `document`, or undefined when there is none. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const segment of pointerSegments(pointer)) {
    if (Array.isArray(current)) {
      // Array indexes are decimal without leading zeros; `-` (past the end) names nothing to read.
      if (!/^(0|[1-9]\d*)$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

async function extractWithModel(
  input: z.infer<typeof LlmInputSchema>,
  context: StepContext,
): Promise<Record<string, unknown>> {
  const model = requireChatModel(context, 'extract');
  const validate = compileJsonSchema(input.schema, 'schema');
  const messages: ChatMessage[] = [
    {
      role: 'system',
      content:
        'Extract data from the text the user gives. Reply with one JSON value that matches this JSON Schema, ' +
        `and nothing else:\n${JSON.stringify(input.schema)}${input.instructions ? `\n${input.instructions}` : ''}`,
    },
    { role: 'user', content: input.text },
  ];
  const request = { maxTokens: input.maxTokens ?? 1_024, temperature: 0 };
  let reply = '';
  let problem = '';
  for (let attempt = 1; attempt <= 2; attempt += 1) {
    const result = await model.generate({ messages, ...request }, { abortSignal: context.signal });
    reply = result.text;
    const parsed = parseModelJson(reply);
    if (!parsed) {
      problem = 'the answer is not JSON';
    } else if (!validate(parsed.value)) {
      problem = schemaIssues(validate.errors, [])
        .map((issue) => `${issue.path.length ? `/${issue.path.join('/')}` : '(root)'} ${issue.message}`)
        .join('; ');
    } else {
      const value = parsed.value;
      return typeof value === 'object' && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : { value };
    }
    // One repair try: show the model its answer and what is wrong with it.
    messages.push(
      { role: 'assistant', content: reply },
      { role: 'user', content: `That answer is invalid: ${problem}. Reply with only the corrected JSON.` },
    );
  }
  throw new ModelOutputError('schema', `the model's answer does not match the schema: ${problem}`, reply);
}
