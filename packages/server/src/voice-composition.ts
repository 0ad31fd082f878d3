import {
  type BlobStore,
  type ChatEngine,
  type JsonValue,
  MAX_TRANSCRIPT_CHARS,
  MAX_TRANSCRIPT_SEGMENTS,
  type Message,
  SYSTEM_ACTOR,
  type Synthesizer,
  type Transcriber,
  type TranscriptionResult,
  VoiceError,
  voiceAttachmentOf,
} from '@kaiwa/core';
import type { FastifyBaseLogger } from 'fastify';
import { z } from 'zod';
import type { SynthesizerSettings, TranscriberSettings, VoiceSettings } from './config.js';
import { SpokenReplies } from './spoken-replies.js';

/** Where a room's voice settings live in the room settings (`{ language, speakReplies }`). */
export const VOICE_SETTINGS_KEY = 'voice';

export const RoomVoiceSettingsSchema = z.object({
  /** The language spoken in the room's voice messages (BCP 47); unset: the server's default or detection. */
  language: z
    .string()
    .trim()
    .regex(/^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$/i, 'must be a language tag such as en or ja')
    .optional(),
  /**
   * The assistant's answers to voice messages also come as speech (an audio attachment of the answer, see
   * `metadata.speech`), where the server has a synthesizer. Default false.
   */
  speakReplies: z
    .boolean()
    .optional()
    .describe(
      "the assistant's answers to voice messages also come as speech: an audio attachment of the answer (metadata.speech)",
    ),
});
export type RoomVoiceSettings = z.infer<typeof RoomVoiceSettingsSchema>;

/** What clients learn from `GET /api/v1/voice`. */
export interface VoiceInfo {
  transcriber: {
    provider: string;
    model: string;
    quality: 'standard' | 'lower';
    languages: string[] | 'any';
  } | null;
  synthesizer: {
    provider: string;
    voices: { id: string; language: string; name?: string | undefined }[];
    maxTextLength: number;
  } | null;
}

export interface VoiceCompositionConfig {
  engine: ChatEngine;
  blobs: BlobStore;
  settings: VoiceSettings;
  logger: FastifyBaseLogger;
  /** Largest recording read into memory for transcription; larger ones fail with a clear error. */
  maxAudioBytes: number;
  /** Backends instead of the configured ones (tests). */
  transcriber?: Transcriber;
  synthesizer?: Synthesizer;
}

/**
 * Voice in the server: the configured transcriber and synthesizer, and the background transcription of voice
 * messages.
 *
 * Guarantees: every message with an `audio/*` attachment that this instance hears being sent is claimed once
 * (`recordTranscript` with `onlyIfAbsent`, so of several instances on one bus normally only one transcribes)
 * and ends `done` or `failed`, each state announced as `message.updated`. A failing or missing engine, bad
 * audio or a crash inside a backend becomes a `failed` transcript with the reason, never an unhandled
 * rejection. Work still running at `close()` is aborted; its message stays `pending` until a retry
 * (`POST /api/v1/messages/:messageId/transcript`).
 */
export class VoiceService {
  readonly transcriber: Transcriber | undefined;
  readonly synthesizer: Synthesizer | undefined;
  readonly #config: VoiceCompositionConfig;
  readonly #running = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  #stopListening: (() => void) | undefined;
  #spokenReplies: SpokenReplies | undefined;
  readonly #encodeOpus: VoiceModule['encodeOpus'] | undefined;

  constructor(
    config: VoiceCompositionConfig,
    backends: {
      transcriber: Transcriber | undefined;
      synthesizer: Synthesizer | undefined;
      /** `@kaiwa/voice`'s Opus encoder, where the package is loaded: spoken replies are stored as Opus. */
      encodeOpus?: VoiceModule['encodeOpus'] | undefined;
    },
  ) {
    this.#config = config;
    this.transcriber = backends.transcriber;
    this.synthesizer = backends.synthesizer;
    this.#encodeOpus = backends.encodeOpus;
  }

  /**
   * Speaks the answers of the assistant whose bot user this is to voice messages, in rooms whose voice
   * settings say `speakReplies` (see {@link SpokenReplies}). Call before `start()`; nothing without a
   * synthesizer.
   */
  speakRepliesOf(botUserId: string): void {
    const synthesizer = this.synthesizer;
    if (!synthesizer || this.#spokenReplies) return;
    const encodeOpus = this.#encodeOpus;
    this.#spokenReplies = new SpokenReplies({
      engine: this.#config.engine,
      blobs: this.#config.blobs,
      synthesizer,
      botUserId,
      logger: this.#config.logger,
      settingsOf: async (roomId) =>
        roomVoiceSettings(await this.#config.engine.getRoomSetting(SYSTEM_ACTOR, roomId, VOICE_SETTINGS_KEY)),
      ...(encodeOpus ? { encode: (audio: Uint8Array) => encodeOpus(audio) } : {}),
    });
  }

  /** Starts transcribing voice messages as they are sent, and speaking replies (`speakRepliesOf`). */
  start(): void {
    this.#spokenReplies?.start();
    if (!this.transcriber || this.#stopListening) return;
    this.#stopListening = this.#config.engine.subscribe((event) => {
      if (event.type !== 'message.created') return;
      const message = event.payload.message;
      if (!voiceAttachmentOf(message)) return;
      this.#track(this.#claimAndTranscribe(message));
    });
  }

  /** For `GET /api/v1/voice`. */
  info(): VoiceInfo {
    const { transcriber, synthesizer } = this;
    return {
      transcriber: transcriber
        ? {
            provider: transcriber.provider,
            model: transcriber.modelId,
            quality: transcriber.capabilities.quality,
            languages: transcriber.capabilities.languages,
          }
        : null,
      synthesizer: synthesizer
        ? {
            provider: synthesizer.provider,
            voices: synthesizer.capabilities.voices.map(({ id, language, name }) => ({
              id,
              language,
              ...(name ? { name } : {}),
            })),
            maxTextLength: synthesizer.capabilities.maxTextLength,
          }
        : null,
    };
  }

  /** Transcribes `message` in the background (after `requestTranscript` set it pending). */
  transcribeInBackground(message: Message): void {
    this.#track(this.#transcribe(message));
  }

  /** Waits for the transcriptions in progress (tests; shutdown aborts them instead). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
    await this.#spokenReplies?.idle();
  }

  async close(): Promise<void> {
    this.#stopListening?.();
    this.#abort.abort();
    await this.#spokenReplies?.close();
    await Promise.allSettled(this.#running);
    // A backend with a process of its own (whisper.cpp's child) ends it.
    const closable = this.transcriber as { close?: () => Promise<void> } | undefined;
    await closable?.close?.();
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) =>
      this.#config.logger.error({ err: error }, 'voice: transcription bookkeeping failed'),
    );
    this.#running.add(tracked);
    void tracked.finally(() => this.#running.delete(tracked));
  }

  async #claimAndTranscribe(message: Message): Promise<void> {
    const claimed = await this.#config.engine.recordTranscript(
      SYSTEM_ACTOR,
      message.id,
      { status: 'pending' },
      { onlyIfAbsent: true },
    );
    if (claimed) await this.#transcribe(claimed);
  }

  async #transcribe(message: Message): Promise<void> {
    const { engine, logger } = this.#config;
    const transcriber = this.transcriber;
    if (!transcriber) return;
    let result: TranscriptionResult;
    try {
      const attachment = voiceAttachmentOf(message);
      if (!attachment) throw new VoiceError('invalid_input', 'the message has no audio attachment');
      if (attachment.size > this.#config.maxAudioBytes) {
        throw new VoiceError(
          'audio_too_long',
          `the recording is larger than the ${this.#config.maxAudioBytes} bytes the server transcribes`,
        );
      }
      const file = await engine.getFileRecord(SYSTEM_ACTOR, attachment.fileId);
      const audio = await readAll(await this.#config.blobs.get(file.storageKey), this.#config.maxAudioBytes);
      const language = await this.#languageOf(message.roomId);
      result = await transcriber.transcribe(
        { audio, mediaType: file.mimeType, ...(language ? { language } : {}) },
        { abortSignal: this.#abort.signal },
      );
    } catch (error) {
      if (this.#abort.signal.aborted) return;
      const reason = describeFailure(error);
      logger.warn(
        { err: error, messageId: message.id, code: reason.code },
        'voice: a voice message could not be transcribed',
      );
      await engine.recordTranscript(SYSTEM_ACTOR, message.id, { status: 'failed', ...reason });
      return;
    }
    await engine.recordTranscript(SYSTEM_ACTOR, message.id, {
      status: 'done',
      text: result.text.slice(0, MAX_TRANSCRIPT_CHARS),
      ...(result.language ? { language: result.language } : {}),
      segments: result.segments.slice(0, MAX_TRANSCRIPT_SEGMENTS).map(({ start, end, text }) => ({
        start: Math.max(0, start),
        end: Math.max(0, end),
        text: text.slice(0, MAX_TRANSCRIPT_CHARS),
      })),
      provider: transcriber.provider,
    });
  }

  async #languageOf(roomId: string): Promise<string | undefined> {
    const saved = await this.#config.engine.getRoomSetting(SYSTEM_ACTOR, roomId, VOICE_SETTINGS_KEY);
    const parsed = RoomVoiceSettingsSchema.safeParse(saved ?? {});
    const transcriberSettings = this.#config.settings.transcriber;
    return (parsed.success ? parsed.data.language : undefined) ?? transcriberSettings?.language;
  }
}

/** What a failed transcript tells people: the voice error's own words, or a generic line for anything else. */
function describeFailure(error: unknown): { error: string; code?: string } {
  if (VoiceError.isInstance(error)) return { error: error.message.slice(0, 500), code: error.code };
  return {
    error: 'the transcriber failed unexpectedly; ask for a new transcript to try again',
    code: 'internal',
  };
}

async function readAll(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.byteLength;
    if (size > maxBytes)
      throw new VoiceError('audio_too_long', `the recording is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Builds the configured voice backends, loading `@kaiwa/voice` only when one is configured (it stays out
 * of a server that uses none). Undefined when neither KAIWA_TRANSCRIBER nor KAIWA_SYNTHESIZER is set.
 *
 * @example
 * const voice = await composeVoice({ engine, blobs, settings: config.voice, logger: app.log, maxAudioBytes });
 * voice?.start();
 */
export async function composeVoice(config: VoiceCompositionConfig): Promise<VoiceService | undefined> {
  const { settings } = config;
  const wanted =
    settings.transcriber !== undefined ||
    settings.synthesizer !== undefined ||
    config.transcriber !== undefined ||
    config.synthesizer !== undefined;
  if (!wanted) return undefined;
  const needsPackage =
    (settings.transcriber && !config.transcriber) || (settings.synthesizer && !config.synthesizer);
  const voice = needsPackage ? await import('@kaiwa/voice') : undefined;
  const transcriber =
    config.transcriber ??
    (settings.transcriber && voice ? createTranscriber(voice, settings.transcriber) : undefined);
  const synthesizer =
    config.synthesizer ??
    (settings.synthesizer && voice ? createSynthesizer(voice, settings.synthesizer) : undefined);
  return new VoiceService(config, { transcriber, synthesizer, encodeOpus: voice?.encodeOpus });
}

type VoiceModule = typeof import('@kaiwa/voice');

function createTranscriber(voice: VoiceModule, settings: TranscriberSettings): Transcriber {
  if (settings.kind === 'pocketsphinx') return voice.createPocketsphinxTranscriber();
  // whisper.cpp runs in a child process that loads the model on the first voice message.
  if (settings.kind === 'whisper.cpp')
    return voice.createWhisperCppTranscriber({ modelPath: settings.modelPath });
  return voice.createOpenAICompatibleTranscriber({
    baseURL: settings.baseUrl,
    model: settings.model,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  });
}

function createSynthesizer(voice: VoiceModule, settings: SynthesizerSettings): Synthesizer {
  const defaultVoice = settings.voice ? { defaultVoice: settings.voice } : {};
  switch (settings.kind) {
    case 'mespeak':
      return voice.createMespeakSynthesizer(defaultVoice);
    case 'espeak-ng':
      return voice.createEspeakNgSynthesizer(defaultVoice);
    case 'flite':
      return voice.createFliteSynthesizer(defaultVoice);
    case 'openai-compatible':
      return voice.createOpenAICompatibleSynthesizer({
        baseURL: settings.baseUrl,
        model: settings.model,
        ...defaultVoice,
        ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
      });
  }
}

/** A room's voice settings as stored, or none. */
export function roomVoiceSettings(value: JsonValue | undefined): RoomVoiceSettings {
  const parsed = RoomVoiceSettingsSchema.safeParse(value ?? {});
  return parsed.success ? parsed.data : {};
}
