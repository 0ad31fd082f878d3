import {
  type TranscriberCapabilities,
  type TranscriptionRequest,
  type TranscriptionResult,
  type TranscriptionSegment,
  type TranscriptionStreamPart,
  type VoiceCallOptions,
  VoiceError,
  type VoiceWarning,
} from '@kaiwa/core';
import { durationOf, type MonoAudio } from './audio/audio-buffer.js';
import { decodeAudio } from './audio/decode.js';
import { toSpeechAudio } from './audio/processing.js';
import { throwIfAborted } from './process/run-program.js';

/** Runs one transcription, calling `onSegment` for each segment as soon as it is known. */
export type TranscriptionRun = (
  onSegment: (segment: TranscriptionSegment) => void,
) => Promise<TranscriptionResult>;

/** Any error as a `VoiceError` (an unexpected one becomes `engine_failed`). */
export function asVoiceError(error: unknown, provider: string): VoiceError {
  if (VoiceError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new VoiceError('engine_failed', message, { provider, cause: error });
}

/**
 * Checks the request against the capabilities: a language the backend lacks is an `unsupported_language`
 * error, a prompt it ignores a warning.
 */
export function checkTranscriptionRequest(
  request: TranscriptionRequest,
  capabilities: TranscriberCapabilities,
  provider: string,
): VoiceWarning[] {
  if (typeof request !== 'object' || request === null || !(request.audio instanceof Uint8Array)) {
    throw new VoiceError('invalid_input', 'request.audio must be a Uint8Array', { provider });
  }
  const language = request.language?.split('-')[0]?.toLowerCase();
  if (language && capabilities.languages !== 'any' && !capabilities.languages.includes(language)) {
    throw new VoiceError(
      'unsupported_language',
      `${provider} recognises ${capabilities.languages.join(', ')}, not ${request.language}`,
      { provider },
    );
  }
  const warnings: VoiceWarning[] = [];
  if (request.prompt && !capabilities.prompt) {
    warnings.push({ type: 'unsupported-setting', setting: 'prompt', details: `${provider} takes no prompt` });
  }
  return warnings;
}

/** The result of a list of segments: their texts joined, their mean confidence. */
export function resultOf(
  segments: TranscriptionSegment[],
  fields: { language: string | undefined; durationSeconds: number | undefined; warnings: VoiceWarning[] },
): TranscriptionResult {
  const confidences = segments.flatMap((segment) =>
    segment.confidence === undefined ? [] : [segment.confidence],
  );
  return {
    text: segments.map((segment) => segment.text).join(' '),
    segments,
    language: fields.language,
    durationSeconds: fields.durationSeconds,
    confidence:
      confidences.length > 0
        ? confidences.reduce((sum, value) => sum + value, 0) / confidences.length
        : undefined,
    warnings: fields.warnings,
  };
}

/**
 * A transcript stream over one run: `stream-start` (with the request's warnings), each segment as the run
 * reports it, then `finish`; any failure, the request check's included, is an `error` part. Cancelling the
 * stream aborts the run.
 */
export function transcriptionStream(
  provider: string,
  check: () => VoiceWarning[],
  run: (signal: AbortSignal) => TranscriptionRun,
  abortSignal: AbortSignal | undefined,
): ReadableStream<TranscriptionStreamPart> {
  const controller = new AbortController();
  const forward = () => controller.abort(abortSignal?.reason);
  if (abortSignal?.aborted) forward();
  else abortSignal?.addEventListener('abort', forward, { once: true });
  return new ReadableStream<TranscriptionStreamPart>({
    start: async (stream) => {
      try {
        if (controller.signal.aborted)
          throw new VoiceError('aborted', 'the voice call was aborted', { provider });
        const warnings = check();
        stream.enqueue({ type: 'stream-start', warnings });
        const result = await run(controller.signal)((segment) =>
          stream.enqueue({ type: 'segment', segment }),
        );
        stream.enqueue({
          type: 'finish',
          text: result.text,
          language: result.language,
          durationSeconds: result.durationSeconds,
          confidence: result.confidence,
        });
      } catch (error) {
        stream.enqueue({ type: 'error', error: asVoiceError(error, provider) });
      } finally {
        abortSignal?.removeEventListener('abort', forward);
        stream.close();
      }
    },
    cancel: () => controller.abort(),
  });
}

/** One transcription of a checked request: its warnings, and the call's options with the run's abort signal. */
export type CheckedTranscription = (
  request: TranscriptionRequest,
  warnings: VoiceWarning[],
  options: VoiceCallOptions,
) => TranscriptionRun;

/**
 * A transcriber's `transcribe` and `stream` over one run: the request is checked against the capabilities
 * first (a failed check is a thrown error, or the stream's `error` part), then run.
 */
export function transcriptionCalls(
  provider: string,
  capabilities: TranscriberCapabilities,
  run: CheckedTranscription,
): {
  transcribe(request: TranscriptionRequest, options?: VoiceCallOptions): Promise<TranscriptionResult>;
  stream(request: TranscriptionRequest, options?: VoiceCallOptions): ReadableStream<TranscriptionStreamPart>;
} {
  return {
    async transcribe(request, options = {}) {
      throwIfAborted(options.abortSignal, provider);
      const warnings = checkTranscriptionRequest(request, capabilities, provider);
      return run(request, warnings, options)(() => {});
    },
    stream(request, options = {}) {
      let warnings: VoiceWarning[] = [];
      return transcriptionStream(
        provider,
        () => {
          warnings = checkTranscriptionRequest(request, capabilities, provider);
          return warnings;
        },
        (signal) => run(request, warnings, { ...options, abortSignal: signal }),
        options.abortSignal,
      );
    },
  };
}

/** How a transcriber that decodes audio itself does so. */
export interface SpeechDecodingConfig {
  /** Longer audio is a `too_long` error. Default 3,600 s. */
  maxDurationSeconds?: number;
  /** ffmpeg for everything but WAV. Default `ffmpeg` on the PATH. */
  ffmpegPath?: string;
}

/**
 * The audio as speech for a recogniser: decoded (WAV in TypeScript, the rest through ffmpeg), mono, 16 kHz,
 * loudness-normalised; with its length in seconds.
 */
export async function speechInputOf(
  audio: Uint8Array,
  config: SpeechDecodingConfig,
  abortSignal: AbortSignal | undefined,
): Promise<{ speech: MonoAudio; durationSeconds: number }> {
  const decoded = await decodeAudio(audio, {
    maxDurationSeconds: config.maxDurationSeconds ?? 3600,
    ...(config.ffmpegPath ? { ffmpegPath: config.ffmpegPath } : {}),
    abortSignal,
  });
  const speech = toSpeechAudio(decoded);
  return { speech, durationSeconds: durationOf(speech) };
}
