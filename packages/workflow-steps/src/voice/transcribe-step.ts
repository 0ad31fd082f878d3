import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { readBlob } from '../blob-bytes.js';
import { isRetryableStepError } from '../errors.js';
import { requireBlobs, requireTranscriber } from '../services.js';

/** Largest recording a `transcribe` step reads (about an hour of Opus at 24 kb/s, many minutes of WAV). */
export const MAX_TRANSCRIBE_BYTES = 100 * 1024 * 1024;

export const TranscribeStepInputSchema = z.object({
  /** The recording in the blob store, e.g. `{{ steps.upload.key }}`. */
  key: z.string().min(1).max(512),
  /** Its media type when known, e.g. `{{ steps.upload.mimeType }}`; backends sniff the bytes anyway. */
  mimeType: z.string().min(1).max(255).optional(),
  /** The spoken language (BCP 47); unset: the backend detects it. */
  language: z
    .string()
    .regex(/^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i, 'must be a language tag such as en or ja')
    .optional(),
  /** Words that help the recogniser (names, jargon), where the backend takes a prompt. */
  prompt: z.string().max(1_000).optional(),
});
export type TranscribeStepInput = z.infer<typeof TranscribeStepInputSchema>;

export interface TranscribeStepOutput {
  text: string;
  language: string | null;
  durationSeconds: number | null;
  segments: { start: number; end: number; text: string }[];
  /** The backend that heard it, e.g. `pocketsphinx`. */
  provider: string;
}

/**
 * `transcribe`: speech-to-text with the workflow's transcriber (the server's KAIWA_TRANSCRIBER) on a recording
 * in the blob store. Bad audio fails the step at once (not retried); a busy or unreachable backend is retried.
 *
 * @example
 * { "id": "heard", "type": "transcribe", "input": { "key": "{{ steps.upload.key }}", "language": "en" } }
 */
export const transcribeStep = defineStepType<TranscribeStepInput, TranscribeStepOutput>({
  type: 'transcribe',
  description:
    'Speech to text on a recording in the blob store: { key, mimeType?, language? } → { text, segments }',
  input: TranscribeStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    const transcriber = requireTranscriber(context, 'transcribe');
    const blobs = requireBlobs(context, 'transcribe');
    const audio = await readBlob(blobs, input.key, {
      maxBytes: MAX_TRANSCRIBE_BYTES,
      field: 'key',
      signal: context.signal,
    });
    const result = await transcriber.transcribe(
      {
        audio,
        ...(input.mimeType ? { mediaType: input.mimeType } : {}),
        ...(input.language ? { language: input.language } : {}),
        ...(input.prompt ? { prompt: input.prompt } : {}),
      },
      { abortSignal: context.signal },
    );
    return {
      text: result.text,
      language: result.language ?? null,
      durationSeconds: result.durationSeconds ?? null,
      segments: result.segments.map(({ start, end, text }) => ({ start, end, text })),
      provider: transcriber.provider,
    };
  },
});
