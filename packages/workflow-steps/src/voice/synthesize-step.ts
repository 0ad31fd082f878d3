import { defineStepType } from '@kaiwa/workflow';
import { z } from 'zod';
import { isRetryableStepError } from '../errors.js';
import { requireBlobs, requireSynthesizer } from '../services.js';

export const SynthesizeStepInputSchema = z.object({
  /** What to say; backends cap the length (see the synthesizer's capabilities). */
  text: z.string().trim().min(1).max(20_000),
  /** A voice id of the synthesizer; unset: its default, or one speaking `language`. */
  voice: z.string().min(1).max(100).optional(),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i, 'must be a language tag such as en or ja')
    .optional(),
});
export type SynthesizeStepInput = z.infer<typeof SynthesizeStepInputSchema>;

export interface SynthesizeStepOutput {
  /** The audio in the blob store, for `store` (as a chat file) or `notify`. */
  key: string;
  mimeType: string;
  size: number;
  voice: string;
  durationSeconds: number | null;
}

/**
 * `synthesize`: text-to-speech with the workflow's synthesizer (the server's KAIWA_SYNTHESIZER); the audio is
 * written to the blob store under a key of this run and step, so a retried step overwrites its own file.
 *
 * @example
 * { "id": "spoken", "type": "synthesize", "input": { "text": "{{ steps.summary.summary }}", "language": "de" } }
 */
export const synthesizeStep = defineStepType<SynthesizeStepInput, SynthesizeStepOutput>({
  type: 'synthesize',
  description: 'Text to speech into the blob store: { text, voice?, language? } → { key, mimeType, size }',
  input: SynthesizeStepInputSchema,
  retryable: isRetryableStepError,
  async run(input, context) {
    const synthesizer = requireSynthesizer(context, 'synthesize');
    const blobs = requireBlobs(context, 'synthesize');
    const speech = await synthesizer.synthesize(
      {
        text: input.text,
        ...(input.voice ? { voice: input.voice } : {}),
        ...(input.language ? { language: input.language } : {}),
      },
      { abortSignal: context.signal },
    );
    const key = `workflows/${context.runId}/${context.stepId}.${speech.format}`;
    await blobs.put(key, speech.audio);
    return {
      key,
      mimeType: speech.mediaType,
      size: speech.audio.byteLength,
      voice: speech.voice,
      durationSeconds: speech.durationSeconds ?? null,
    };
  },
});
