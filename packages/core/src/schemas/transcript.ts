import { z } from 'zod';
import { backgroundStateSchema, type DistributiveOmit } from './background-state.js';
import type { Attachment } from './message.js';

/** Longest transcript text kept in a message's metadata, in characters (metadata holds at most 16 KiB). */
export const MAX_TRANSCRIPT_CHARS = 8_000;
/** Most segments kept with a transcript; longer recordings keep the text and drop the timings past it. */
export const MAX_TRANSCRIPT_SEGMENTS = 100;

export const TranscriptSegmentSchema = z.object({
  /** Seconds from the start of the audio. */
  start: z.number().min(0),
  end: z.number().min(0),
  text: z.string().max(MAX_TRANSCRIPT_CHARS),
});
export type TranscriptSegment = z.infer<typeof TranscriptSegmentSchema>;

/**
 * The transcript of a voice message (a message with an `audio/*` attachment), kept by the server in
 * `metadata.transcript` and announced as `message.updated` whenever it changes: `pending` while the
 * transcriber runs, then `done` with the text (which full-text search finds) or `failed` with the reason.
 * Only the server writes it (`ChatEngine.recordTranscript` as `SYSTEM_ACTOR`); a send or edit carrying one is
 * refused.
 *
 * @example
 * { status: 'done', text: 'the quick brown fox', language: 'en', segments: [{ start: 0.2, end: 1.9, text: 'the quick brown fox' }], updatedAt: '2026-12-06T17:00:00.000Z' }
 */
export const MessageTranscriptSchema = backgroundStateSchema({
  text: z.string().max(MAX_TRANSCRIPT_CHARS),
  /** BCP 47, where the transcriber said. */
  language: z.string().max(35).optional(),
  segments: z.array(TranscriptSegmentSchema).max(MAX_TRANSCRIPT_SEGMENTS).default([]),
  /** The backend that made it, e.g. `pocketsphinx`. */
  provider: z.string().max(64).optional(),
});
export type MessageTranscript = z.infer<typeof MessageTranscriptSchema>;
/** A transcript as the server hands it to the engine; `updatedAt` is the engine's. */
export type MessageTranscriptInput = DistributiveOmit<z.input<typeof MessageTranscriptSchema>, 'updatedAt'>;

/** The metadata key the transcript lives under. */
export const TRANSCRIPT_METADATA_KEY = 'transcript';

/** The first audio attachment of a message: what makes it a voice message. */
export function voiceAttachmentOf(message: { attachments: Attachment[] }): Attachment | undefined {
  return message.attachments.find((attachment) => attachment.mimeType.toLowerCase().startsWith('audio/'));
}

/** A message's transcript, when its metadata holds a valid one. */
export function transcriptOf(message: { metadata: Record<string, unknown> }): MessageTranscript | undefined {
  const parsed = MessageTranscriptSchema.safeParse(message.metadata[TRANSCRIPT_METADATA_KEY]);
  return parsed.success ? parsed.data : undefined;
}
