import { KaiwaBaseError } from '../errors.js';

const marker = Symbol.for('kaiwa.error.VoiceError');

/** What went wrong in speech recognition, synthesis or audio processing; callers branch on it. */
export type VoiceErrorCode =
  | 'unsupported_audio'
  | 'audio_too_long'
  | 'unsupported_language'
  | 'invalid_input'
  | 'engine_missing'
  | 'engine_failed'
  | 'backend_unreachable'
  | 'rate_limited'
  | 'backend_error'
  | 'timeout'
  | 'aborted';

/**
 * Base of every error a voice backend or the audio processing raises on purpose; one family of
 * {@link KaiwaBaseError}, so it carries `code`, `cause` and `isRetryable`. Bad input (audio that is not audio,
 * too long, a language the engine lacks) is never retryable; a busy or unreachable backend is.
 *
 * @example
 * try {
 *   await transcriber.transcribe({ audio });
 * } catch (error) {
 *   if (VoiceError.isInstance(error) && error.code === 'unsupported_audio') return reply('not an audio file');
 *   throw error;
 * }
 */
export class VoiceError extends KaiwaBaseError<VoiceErrorCode> {
  readonly [marker] = true;
  /** The backend that raised it, e.g. `'pocketsphinx'`; undefined for audio processing. @example 'flite' */
  readonly provider: string | undefined;

  constructor(
    code: VoiceErrorCode,
    message: string,
    options: { isRetryable?: boolean; provider?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, {
      ...('cause' in options ? { cause: options.cause } : {}),
      isRetryable: options.isRetryable ?? false,
    });
    this.name = 'VoiceError';
    this.provider = options.provider;
  }

  /**
   * True for any voice error, also one thrown by another copy of this package.
   *
   * @example
   * if (VoiceError.isInstance(part.error)) console.log(part.error.code);
   */
  static override isInstance(value: unknown): value is VoiceError {
    return KaiwaBaseError.hasMarker(value, marker);
  }
}

/**
 * The bytes are not audio Kaiwa can read: empty, truncated, a wrong or unknown container (a zip renamed
 * `.ogg`). Not retryable.
 *
 * @example
 * throw new UnsupportedAudioError('a zip archive, not audio');
 */
export class UnsupportedAudioError extends VoiceError {
  constructor(message: string, options: { provider?: string | undefined; cause?: unknown } = {}) {
    super('unsupported_audio', message, options);
    this.name = 'UnsupportedAudioError';
  }
}

/**
 * The recording is longer than the configured limit. Not retryable.
 *
 * @example
 * if (error instanceof AudioTooLongError) reply(`keep it under ${error.maxSeconds} s`);
 */
export class AudioTooLongError extends VoiceError {
  /** The limit in seconds. @example 3600 */
  readonly maxSeconds: number;

  constructor(maxSeconds: number, options: { provider?: string | undefined; cause?: unknown } = {}) {
    super('audio_too_long', `the audio is longer than the limit of ${maxSeconds} s`, options);
    this.name = 'AudioTooLongError';
    this.maxSeconds = maxSeconds;
  }
}

/**
 * A program the backend runs is not installed; the message names it and how to install it. Not retryable.
 *
 * @example
 * throw new EngineMissingError('ffmpeg', 'apt-get install ffmpeg');
 */
export class EngineMissingError extends VoiceError {
  /** The missing program or library. @example 'ffmpeg' */
  readonly program: string;

  constructor(
    program: string,
    installHint: string,
    options: { provider?: string | undefined; cause?: unknown } = {},
  ) {
    super('engine_missing', `${program} is not installed (${installHint})`, options);
    this.name = 'EngineMissingError';
    this.program = program;
  }
}

/**
 * Options of one call that are not part of the request.
 *
 * @example
 * await transcriber.transcribe({ audio }, { abortSignal: AbortSignal.timeout(60_000) });
 */
export interface VoiceCallOptions {
  /** @example { abortSignal: controller.signal } */
  abortSignal?: AbortSignal;
  /** Extra HTTP headers for backends that speak HTTP. @example { 'x-request-id': 'r-1' } */
  headers?: Record<string, string>;
}

/**
 * Audio to transcribe: the bytes of a file as uploaded (WAV, Ogg/Opus, WebM, MP4/AAC, MP3, FLAC).
 *
 * @example
 * const request: TranscriptionRequest = { audio: await readFile('note.webm'), mediaType: 'audio/webm', language: 'en' };
 */
export interface TranscriptionRequest {
  /** @example new Uint8Array(await file.arrayBuffer()) */
  audio: Uint8Array;
  /** The file's media type when known; backends sniff the bytes anyway. @example 'audio/webm' */
  mediaType?: string;
  /** The spoken language as a BCP 47 tag; undefined lets the backend detect it. @example 'ja' */
  language?: string;
  /** Words or context that help the recogniser (names, jargon). @example 'Kaiwa, Zulip, Rocket.Chat' */
  prompt?: string;
}

/**
 * One stretch of recognised speech, with times in seconds from the start of the audio.
 *
 * @example
 * { start: 1.16, end: 3.42, text: 'the birch canoe slid on the smooth planks', confidence: 0.61 }
 */
export interface TranscriptionSegment {
  /** @example 1.16 */
  start: number;
  /** @example 3.42 */
  end: number;
  /** @example 'the birch canoe slid on the smooth planks' */
  text: string;
  /** 0–1 where the backend says; undefined otherwise. @example 0.61 */
  confidence?: number;
}

/**
 * A request setting the backend could not honour, reported instead of silently ignored.
 *
 * @example
 * { type: 'unsupported-setting', setting: 'prompt', details: 'pocketsphinx takes no prompt' }
 */
export type VoiceWarning =
  | { type: 'unsupported-setting'; setting: string; details?: string }
  | { type: 'other'; message: string };

/**
 * The whole answer of `transcribe`.
 *
 * @example
 * const { text, segments, language } = await transcriber.transcribe({ audio });
 */
export interface TranscriptionResult {
  /** The segments' texts joined by spaces. @example 'the birch canoe slid on the smooth planks' */
  text: string;
  /** In time order, not overlapping; empty for silence. */
  segments: TranscriptionSegment[];
  /** The language recognised (or asked for), BCP 47; undefined when unknown. @example 'en' */
  language: string | undefined;
  /** Length of the audio in seconds, where known. @example 7.66 */
  durationSeconds: number | undefined;
  /** Mean confidence 0–1 over the segments, where the backend gives one. @example 0.58 */
  confidence: number | undefined;
  /** @example [] */
  warnings: VoiceWarning[];
}

/**
 * One part of a streamed transcript: one `stream-start`, then `segment`s in time order as they are decoded,
 * then one `finish`; a failure is an `error` part, after which the stream closes. Streams never throw.
 *
 * @example
 * for await (const part of transcriber.stream({ audio })) {
 *   if (part.type === 'segment') live.append(part.segment.text);
 * }
 */
export type TranscriptionStreamPart =
  | { type: 'stream-start'; warnings: VoiceWarning[] }
  | { type: 'segment'; segment: TranscriptionSegment }
  | {
      type: 'finish';
      text: string;
      language: string | undefined;
      durationSeconds: number | undefined;
      confidence: number | undefined;
    }
  | { type: 'error'; error: VoiceError };

/**
 * What a transcriber can do, so callers ask instead of guess.
 *
 * @example
 * if (transcriber.capabilities.languages !== 'any' && !transcriber.capabilities.languages.includes('ja')) hideJapanese();
 */
export interface TranscriberCapabilities {
  /** Languages it recognises (BCP 47 primary tags), or `'any'` (Whisper). @example ['en'] */
  languages: string[] | 'any';
  /** Segments carry real start and end times (not just the whole file). */
  timestamps: boolean;
  /** `stream` yields segments while the audio is still being decoded, not all at the end. */
  streaming: boolean;
  /** `prompt` reaches the recogniser. */
  prompt: boolean;
  /** Whether it is as accurate as Whisper-class models (`'standard'`) or a clearly weaker fallback (`'lower'`). */
  quality: 'standard' | 'lower';
}

/**
 * Speech-to-text: the port every backend implements — an OpenAI-compatible server (whisper.cpp, faster-whisper,
 * LocalAI, vLLM, OpenAI), Debian's pocketsphinx. Shaped like `ChatModel`.
 *
 * @example
 * const transcriber: Transcriber = createPocketsphinxTranscriber();
 * const { text, segments } = await transcriber.transcribe({ audio: await readFile('note.wav') });
 */
export interface Transcriber {
  /**
   * The version of this interface the backend implements; it changes when the port changes shape.
   *
   * @example
   * if (transcriber.specificationVersion !== 'v1') throw new Error(`unsupported transcriber ${transcriber.provider}`);
   */
  readonly specificationVersion: 'v1';
  /** The backend kind. @example 'pocketsphinx' */
  readonly provider: string;
  /** The model as the backend names it. @example 'cmusphinx-en-us' */
  readonly modelId: string;
  /** @example transcriber.capabilities.timestamps */
  readonly capabilities: TranscriberCapabilities;

  /**
   * Transcribes the whole recording.
   *
   * @throws VoiceError (a subclass of it): `unsupported_audio`, `audio_too_long`, `unsupported_language`,
   * `engine_missing`, `engine_failed`, `timeout`, `aborted`, or a backend's HTTP failure.
   * @example
   * const { text, language } = await transcriber.transcribe({ audio, language: 'en' }, { abortSignal });
   */
  transcribe(request: TranscriptionRequest, options?: VoiceCallOptions): Promise<TranscriptionResult>;

  /**
   * Streams the transcript as parts. Never rejects or throws: failures arrive as an `error` part.
   *
   * @example
   * for await (const part of transcriber.stream({ audio })) if (part.type === 'segment') show(part.segment);
   */
  stream(request: TranscriptionRequest, options?: VoiceCallOptions): ReadableStream<TranscriptionStreamPart>;
}
