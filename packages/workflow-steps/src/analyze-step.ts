import type { ChatMessage } from '@kaiwa/core';
import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError, ModelOutputError } from './errors.js';
import { requireChatModel } from './services.js';

const LabelSchema = z.string().trim().min(1).max(100);

export const AnalyzeStepInputSchema = z
  .object({
    text: z.string().min(1).max(200_000),
    task: z.enum(['summarize', 'classify']),
    /** For `classify`: the answer is exactly one of these. */
    labels: z
      .array(LabelSchema)
      .min(2)
      .max(50)
      .refine((labels) => new Set(labels.map((label) => label.toLowerCase())).size === labels.length, {
        message: 'labels must not repeat',
      })
      .optional(),
    /** Extra guidance for the model (audience, language, length). */
    instructions: z.string().max(4_000).optional(),
    maxTokens: z.number().int().min(1).max(8_192).optional(),
  })
  .refine((input) => input.task !== 'classify' || input.labels !== undefined, {
    message: 'classify needs labels',
    path: ['labels'],
  });
export type AnalyzeStepInput = z.infer<typeof AnalyzeStepInputSchema>;

export type AnalyzeStepOutput = { task: 'summarize'; summary: string } | { task: 'classify'; label: string };

/**
 * `analyze`: summarises or classifies text with the workflow's chat model. A classification is always one
 * of the given labels: an answer that is none of them gets one stricter second try, then the step fails
 * with a {@link ModelOutputError} at `label`.
 *
 * @example
 * { "id": "kind", "type": "analyze",
 *   "input": { "task": "classify", "text": "{{ steps.ocr.text }}", "labels": ["invoice", "receipt", "other"] } }
 */
export const analyzeStep = defineStepType<AnalyzeStepInput, AnalyzeStepOutput>({
  type: 'analyze',
  description: 'Summarises or classifies text with the chat model: { text, task, labels?, instructions? }',
  input: AnalyzeStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    const model = requireChatModel(context, 'analyze');
    const call = { abortSignal: context.signal };
    const extra = input.instructions ? `\n${input.instructions}` : '';
    if (input.task === 'summarize') {
      const { text } = await model.generate(
        {
          messages: [
            {
              role: 'system',
              content: `Summarise the text the user gives. Reply with the summary only.${extra}`,
            },
            { role: 'user', content: input.text },
          ],
          maxTokens: input.maxTokens ?? 512,
          temperature: 0,
        },
        call,
      );
      return { task: 'summarize', summary: text.trim() };
    }

    const labels = input.labels as string[];
    const list = labels.map((label) => `- ${label}`).join('\n');
    const messages: ChatMessage[] = [
      {
        role: 'system',
        content: `Classify the text the user gives into exactly one of these labels:\n${list}\nReply with the label only.${extra}`,
      },
      { role: 'user', content: input.text },
    ];
    const request = { maxTokens: input.maxTokens ?? 32, temperature: 0 };
    const first = await model.generate({ messages, ...request }, call);
    const label = matchLabel(first.text, labels);
    if (label) return { task: 'classify', label };

    const second = await model.generate(
      {
        messages: [
          ...messages,
          { role: 'assistant', content: first.text },
          {
            role: 'user',
            content: `That is not one of the labels. Answer with exactly one of: ${labels.join(', ')}. Nothing else.`,
          },
        ],
        ...request,
      },
      call,
    );
    const retried = matchLabel(second.text, labels);
    if (retried) return { task: 'classify', label: retried };
    throw new ModelOutputError(
      'label',
      `the model answered "${second.text.trim().slice(0, 80)}", which is none of the labels ${labels.join(', ')}`,
      second.text,
    );
  },
});

/**
 * The label a reply names: the reply itself (ignoring case, quotes and punctuation around it), or else the
 * only label that occurs in it as a word. Two labels in one reply is no answer.
 */
export function matchLabel(reply: string, labels: readonly string[]): string | undefined {
  const cleaned = reply
    .trim()
    .replace(/^["'`「『\s]+|["'`」』.。!！\s]+$/gu, '')
    .toLowerCase();
  const exact = labels.find((label) => label.toLowerCase() === cleaned);
  if (exact) return exact;
  const text = reply.toLowerCase();
  const found = labels.filter((label) => {
    const lower = label.toLowerCase();
    const escaped = lower.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // Word boundaries only make sense for labels written in letters with spaces between words.
    return /^[\p{Script=Latin}\p{N}_ -]+$/u.test(lower)
      ? new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'u').test(text)
      : text.includes(lower);
  });
  return found.length === 1 ? found[0] : undefined;
}
