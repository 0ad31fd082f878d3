import { createHash } from 'node:crypto';
import {
  type BlobStore,
  type ChatEngine,
  createId,
  type Message,
  SYSTEM_ACTOR,
  type Synthesizer,
  transcriptOf,
  VoiceError,
  voiceAttachmentOf,
} from '@kaiwa/core';
import type { FastifyBaseLogger } from 'fastify';
import type { RoomVoiceSettings } from './voice-composition.js';

/**
 * Most characters of an answer the server speaks. Longer answers are spoken up to the last sentence end
 * before it (`truncated: true` in the speech state); the text reply keeps every word. At mespeak's rate
 * this is about a minute and a half of speech, some 300 KB as Opus.
 */
export const MAX_SPOKEN_REPLY_CHARS = 1_200;

/** How long one answer may take to speak before it fails with `timeout`. */
const SPEAK_TIMEOUT_MS = 60_000;

export interface SpokenRepliesConfig {
  engine: ChatEngine;
  blobs: BlobStore;
  synthesizer: Synthesizer;
  /** The assistant's bot user: its answers to voice messages are spoken. */
  botUserId: string;
  /** The room's voice settings (`speakReplies`, `language`). */
  settingsOf: (roomId: string) => Promise<RoomVoiceSettings>;
  /** Turns the synthesizer's audio into what is stored (Opus through ffmpeg); a failure stores it as it is. */
  encode?: (audio: Uint8Array) => Promise<{ bytes: Uint8Array; mediaType: string }>;
  logger: FastifyBaseLogger;
}

/**
 * Speaks the assistant's answers to voice messages in rooms whose voice settings say `speakReplies`.
 *
 * The text answer is posted as always; this hears it (`message.created` by the bot user, replying to a
 * message with an audio attachment), claims it once with `metadata.speech: pending` (with several instances
 * on one bus, one speaks), synthesizes its speakable text (markdown marks, code blocks and links dropped; at
 * most {@link MAX_SPOKEN_REPLY_CHARS}), stores the audio through the blob store as a file of the room uploaded
 * by the bot, and records `done`, which adds the file to the answer's attachments: clients play it with their
 * voice message player. A failure is logged and recorded as `failed` with the reason; the text stays.
 */
export class SpokenReplies {
  readonly #config: SpokenRepliesConfig;
  readonly #running = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #stopListening: (() => void) | undefined;

  constructor(config: SpokenRepliesConfig) {
    this.#config = config;
  }

  start(): void {
    if (this.#stopListening) return;
    this.#stopListening = this.#config.engine.subscribe((event) => {
      if (event.type !== 'message.created') return;
      const message = event.payload.message;
      if (message.authorId !== this.#config.botUserId || !message.replyToId || message.deletedAt) return;
      // Refusals ("still answering…") carry no `assistant` metadata: only answers are spoken.
      if (typeof message.metadata.assistant !== 'object' || message.metadata.assistant === null) return;
      this.#track(this.#consider(message));
    });
  }

  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  async close(): Promise<void> {
    this.#stopListening?.();
    this.#abort.abort();
    await Promise.allSettled(this.#running);
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) =>
      this.#config.logger.error({ err: error }, 'voice: spoken reply bookkeeping failed'),
    );
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }

  async #consider(reply: Message): Promise<void> {
    const { engine } = this.#config;
    const asking = await engine.getMessage(SYSTEM_ACTOR, reply.replyToId!).catch(() => undefined);
    if (!asking || !voiceAttachmentOf(asking)) return;
    const settings = await this.#config.settingsOf(reply.roomId);
    if (!settings.speakReplies) return;
    const limit = Math.min(MAX_SPOKEN_REPLY_CHARS, this.#config.synthesizer.capabilities.maxTextLength);
    const { text, truncated } = speakableReply(reply.text, limit);
    if (!text) return;
    const claimed = await engine.recordSpeech(
      SYSTEM_ACTOR,
      reply.id,
      { status: 'pending' },
      { onlyIfAbsent: true },
    );
    if (!claimed) return;
    const transcript = transcriptOf(asking);
    const language =
      (transcript?.status === 'done' ? transcript.language : undefined) ?? settings.language ?? undefined;
    await this.#speak(reply, text, truncated, language);
  }

  async #speak(
    reply: Message,
    text: string,
    truncated: boolean,
    language: string | undefined,
  ): Promise<void> {
    const { engine, blobs, synthesizer, logger } = this.#config;
    let storedKey: string | undefined;
    try {
      const speech = await synthesizer.synthesize(
        { text, ...(language && speaksLanguage(synthesizer, language) ? { language } : {}) },
        { abortSignal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(SPEAK_TIMEOUT_MS)]) },
      );
      const stored = await this.#encoded(speech.audio, speech.mediaType);
      const key = `${storagePrefix()}/${createId()}`;
      await blobs.put(key, stored.bytes);
      storedKey = key;
      const file = await engine.createFileRecord(this.#config.botUserId, {
        roomId: reply.roomId,
        name: `spoken-reply.${extensionOf(stored.mediaType)}`,
        mimeType: stored.mediaType,
        size: stored.bytes.byteLength,
        sha256: createHash('sha256').update(stored.bytes).digest('hex'),
        storageKey: key,
      });
      const done = await engine.recordSpeech(SYSTEM_ACTOR, reply.id, {
        status: 'done',
        fileId: file.id,
        ...(speech.durationSeconds !== undefined ? { durationSeconds: speech.durationSeconds } : {}),
        voice: speech.voice.slice(0, 100),
        truncated,
        provider: synthesizer.provider,
      });
      // The answer was deleted meanwhile: its audio goes too.
      if (!done) {
        await engine.deleteFileRecord(this.#config.botUserId, file.id);
        await blobs.delete(key);
      }
    } catch (error) {
      if (storedKey) await blobs.delete(storedKey).catch(() => undefined);
      if (this.#abort.signal.aborted) return;
      const reason = VoiceError.isInstance(error)
        ? { error: error.message.slice(0, 500), code: error.code }
        : { error: 'the answer could not be spoken', code: 'internal' };
      logger.warn(
        { err: error, messageId: reply.id, code: reason.code },
        'voice: a reply could not be spoken',
      );
      await engine.recordSpeech(SYSTEM_ACTOR, reply.id, { status: 'failed', ...reason });
    }
  }

  async #encoded(audio: Uint8Array, mediaType: string): Promise<{ bytes: Uint8Array; mediaType: string }> {
    const { encode, logger } = this.#config;
    if (!encode || !mediaType.startsWith('audio/wav')) return { bytes: audio, mediaType };
    try {
      return await encode(audio);
    } catch (error) {
      logger.warn({ err: error }, 'voice: a spoken reply is stored as WAV (Opus encoding failed)');
      return { bytes: audio, mediaType };
    }
  }
}

function storagePrefix(now = new Date()): string {
  return `${now.getUTCFullYear()}/${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
}

function extensionOf(mediaType: string): string {
  const subtype = mediaType.split(';')[0]!.split('/')[1] ?? 'audio';
  return subtype === 'mpeg' ? 'mp3' : subtype.replace(/^x-/, '');
}

/** Whether a voice of the synthesizer speaks `language` (else its default voice speaks). */
function speaksLanguage(synthesizer: Synthesizer, language: string): boolean {
  const wanted = language.toLowerCase().split('-')[0]!;
  return synthesizer.capabilities.voices.some(
    (voice) => voice.language.toLowerCase().split('-')[0] === wanted,
  );
}

/**
 * An answer (markdown) as it is spoken: no code blocks, link targets, bare URLs, emphasis, heading, quote or
 * list markers; at most `maxLength` characters, cut after the last sentence that fits (at a word when no
 * sentence does). The same rules as the web client's "Read aloud".
 *
 * @example speakableReply('**Yes.** See [the docs](https://x.test).', 100) // { text: 'Yes. See the docs.', truncated: false }
 */
export function speakableReply(markdown: string, maxLength: number): { text: string; truncated: boolean } {
  const text = markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/^\s{0,3}(?:#{1,6}|>|[-*+]|\d+[.)])\s+/gm, '')
    .replace(/(\*\*|__|~~|\*|_)(?=\S)([\s\S]*?\S)\1/g, '$2')
    .replace(/\s+/g, ' ')
    .trim();
  if (text.length <= maxLength) return { text, truncated: false };
  const cut = text.slice(0, maxLength);
  const sentenceEnd = Math.max(
    ...['. ', '! ', '? ', '。', '！', '？'].map((mark) => {
      const at = cut.lastIndexOf(mark);
      return at < 0 ? -1 : at + mark.trimEnd().length;
    }),
  );
  if (sentenceEnd > maxLength / 3) return { text: cut.slice(0, sentenceEnd).trim(), truncated: true };
  const space = cut.lastIndexOf(' ');
  return { text: (space > maxLength / 2 ? cut.slice(0, space) : cut).trim(), truncated: true };
}
