import { VoiceError } from '@kaiwa/core';

type OpenAIModule = typeof import('openai');

const badAudio = /audio|decode|format|file|ffmpeg|invalid.*(wav|mp3|ogg)/i;

/** Maps an error of the `openai` client (or anything else) to a Kaiwa `VoiceError`. */
export function toVoiceError(
  error: unknown,
  openai: OpenAIModule,
  context: { provider: string; baseURL: string },
): VoiceError {
  const { provider } = context;
  if (VoiceError.isInstance(error)) return error;
  if (error instanceof openai.APIUserAbortError) {
    return new VoiceError('aborted', 'the voice call was aborted', { provider, cause: error });
  }
  if (error instanceof openai.APIConnectionTimeoutError) {
    return new VoiceError('timeout', `no answer from ${context.baseURL} in time`, {
      provider,
      cause: error,
      isRetryable: true,
    });
  }
  if (error instanceof openai.APIConnectionError) {
    return new VoiceError('backend_unreachable', `cannot reach ${context.baseURL}: ${error.message}`, {
      provider,
      cause: error,
      isRetryable: true,
    });
  }
  if (error instanceof openai.APIError) {
    const status = error.status;
    if (status === 429) {
      return new VoiceError('rate_limited', `${context.baseURL} is rate limiting: ${error.message}`, {
        provider,
        cause: error,
        isRetryable: true,
      });
    }
    if (status === 413) return new VoiceError('audio_too_long', error.message, { provider, cause: error });
    if ((status === 400 || status === 415) && badAudio.test(error.message)) {
      return new VoiceError('unsupported_audio', error.message, { provider, cause: error });
    }
    const isRetryable = status !== undefined && (status >= 500 || status === 408 || status === 409);
    return new VoiceError('backend_error', error.message, { provider, cause: error, isRetryable });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new VoiceError('aborted', 'the voice call was aborted', { provider, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new VoiceError('backend_error', message, { provider, cause: error });
}

/** Settings both OpenAI-compatible backends share. */
export interface OpenAICompatibleVoiceConfig {
  /** The server's OpenAI-compatible root, e.g. `http://127.0.0.1:8080/v1`. */
  baseURL: string;
  apiKey?: string;
  /** @example 'whisper-1' */
  model: string;
  /** Default 120 000 ms. */
  timeoutMs?: number;
  /** Default 2. */
  maxRetries?: number;
  /** Default `openai-compatible`. */
  provider?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** Loads `openai` on first use (importing `@kaiwa/voice` stays cheap) and builds one client. */
export function lazyClient(config: OpenAICompatibleVoiceConfig) {
  let loaded: Promise<{ openai: OpenAIModule; client: InstanceType<OpenAIModule['default']> }> | undefined;
  return () => {
    loaded ??= import('openai').then((openai) => ({
      openai,
      client: new openai.default({
        baseURL: config.baseURL,
        apiKey: config.apiKey ?? 'not-needed',
        timeout: config.timeoutMs ?? 120_000,
        maxRetries: config.maxRetries ?? 2,
        ...(config.headers ? { defaultHeaders: config.headers } : {}),
        ...(config.fetch ? { fetch: config.fetch } : {}),
      }),
    }));
    return loaded;
  };
}
