import { z } from 'zod';

/**
 * The schema of a result the server works out in the background and keeps in a message's metadata:
 * `pending` while it works, then `done` with the fields of `done`, or `failed` with the reason; each state
 * says when it was set (`updatedAt`). Transcripts and speech share this shape, so clients read both alike.
 *
 * @example
 * const SummarySchema = backgroundStateSchema({ text: z.string().max(2000) });
 * SummarySchema.parse({ status: 'failed', error: 'the model is not reachable', updatedAt: '2026-12-06T17:00:00.000Z' });
 */
export function backgroundStateSchema<Done extends z.ZodRawShape>(done: Done) {
  return z.discriminatedUnion('status', [
    z.object({ status: z.literal('pending'), updatedAt: z.string() }),
    z.object({ status: z.literal('done'), ...done, updatedAt: z.string() }),
    z.object({
      status: z.literal('failed'),
      /** What went wrong, for people: `the audio is not audio Kaiwa can read`. */
      error: z.string().max(500),
      /** The voice error code (`unsupported_audio`, `engine_missing`, `timeout`…), for clients that branch on it. */
      code: z.string().max(64).optional(),
      updatedAt: z.string(),
    }),
  ]);
}

/** `Omit` applied to each member of a union, so a state's own fields survive. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
