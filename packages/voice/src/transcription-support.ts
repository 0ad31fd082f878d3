import {
  type TranscriberCapabilities,
  type TranscriptionRequest,
  type TranscriptionResult,
  type TranscriptionSegment,
  type TranscriptionStreamPart,
  VoiceError,
  type VoiceWarning,
} from '@kaiwa/core';

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
