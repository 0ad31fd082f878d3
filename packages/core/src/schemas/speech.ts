import { z } from 'zod';
import { backgroundStateSchema, type DistributiveOmit } from './background-state.js';

/**
 * The spoken form of a message (so far: the assistant's answer to a voice message, in rooms whose voice
 * settings say `speakReplies`), kept by the server in `metadata.speech` and announced as `message.updated`
 * whenever it changes: `pending` while the synthesizer speaks, then `done` with the audio file, which the
 * same change adds to the message's attachments (clients play it as they play any voice message), or
 * `failed` with the reason; the text stays either way. Only the server writes it
 * (`ChatEngine.recordSpeech` as `SYSTEM_ACTOR`); a send or edit carrying one is refused.
 *
 * @example
 * { status: 'done', fileId: '01JF…', durationSeconds: 4.2, voice: 'en/en-us', truncated: false, updatedAt: '2026-12-06T17:00:00.000Z' }
 */
export const MessageSpeechSchema = backgroundStateSchema({
  /** The audio file, also in the message's attachments. */
  fileId: z.string().max(64),
  durationSeconds: z.number().min(0).optional(),
  /** The voice that spoke, as the synthesizer names it. */
  voice: z.string().max(100).optional(),
  /** The text was longer than the server speaks: the audio ends at a sentence before the text does. */
  truncated: z.boolean().default(false),
  /** The backend that spoke, e.g. `mespeak`. */
  provider: z.string().max(64).optional(),
});
export type MessageSpeech = z.infer<typeof MessageSpeechSchema>;
/** Speech as the server hands it to the engine; `updatedAt` is the engine's. */
export type MessageSpeechInput = DistributiveOmit<z.input<typeof MessageSpeechSchema>, 'updatedAt'>;

/** The metadata key the speech state lives under. */
export const SPEECH_METADATA_KEY = 'speech';

/** A message's speech state, when its metadata holds a valid one. */
export function speechOf(message: { metadata: Record<string, unknown> }): MessageSpeech | undefined {
  const parsed = MessageSpeechSchema.safeParse(message.metadata[SPEECH_METADATA_KEY]);
  return parsed.success ? parsed.data : undefined;
}
