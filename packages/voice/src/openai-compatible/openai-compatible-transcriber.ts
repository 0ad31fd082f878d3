import type {
  Transcriber,
  TranscriberCapabilities,
  TranscriptionRequest,
  TranscriptionResult,
  TranscriptionSegment,
  TranscriptionStreamPart,
  VoiceCallOptions,
} from '@kaiwa/core';
import { checkAudio } from '../audio/decode.js';
import { resultOf, type TranscriptionRun, transcriptionCalls } from '../transcription-support.js';
import { lazyClient, type OpenAICompatibleVoiceConfig, toVoiceError } from './openai-voice-errors.js';

export interface OpenAICompatibleTranscriberConfig extends OpenAICompatibleVoiceConfig {
  /** Languages the served model recognises; default `'any'` (Whisper). */
  languages?: string[] | 'any';
  /** Default `'standard'`; say `'lower'` for a tiny model. */
  quality?: 'standard' | 'lower';
}

const EXTENSIONS: Record<string, [string, string]> = {
  wav: ['wav', 'audio/wav'],
  ogg: ['ogg', 'audio/ogg'],
  webm: ['webm', 'audio/webm'],
  mp4: ['m4a', 'audio/mp4'],
  flac: ['flac', 'audio/flac'],
  mp3: ['mp3', 'audio/mpeg'],
};

// OpenAI's verbose_json names the language in English ("english"); whisper.cpp and others give the code.
const LANGUAGE_NAMES: Record<string, string> = {
  english: 'en',
  japanese: 'ja',
  german: 'de',
  french: 'fr',
  spanish: 'es',
  chinese: 'zh',
  korean: 'ko',
  italian: 'it',
  portuguese: 'pt',
  russian: 'ru',
  dutch: 'nl',
};

interface VerboseTranscription {
  text?: string;
  language?: string;
  duration?: number;
  segments?: { start: number; end: number; text: string; avg_logprob?: number }[];
}

/**
 * Speech recognition on any server that speaks OpenAI's `/v1/audio/transcriptions`: whisper.cpp's server,
 * faster-whisper servers, LocalAI, vLLM, OpenAI. Asks for `verbose_json` with segment timestamps, and reads a
 * plain `{ text }` answer too (one segment). The audio is checked here first (empty, not audio, an unknown
 * container) so a bad upload never reaches the server; `openai` is loaded on first use.
 *
 * @example
 * const transcriber = createOpenAICompatibleTranscriber({ baseURL: 'http://127.0.0.1:8080/v1', model: 'whisper-1' });
 * const { text, language } = await transcriber.transcribe({ audio, language: 'ja' });
 */
export class OpenAICompatibleTranscriber implements Transcriber {
  readonly specificationVersion = 'v1';
  readonly provider: string;
  readonly modelId: string;
  readonly capabilities: TranscriberCapabilities;
  readonly #config: OpenAICompatibleTranscriberConfig;
  readonly #client: ReturnType<typeof lazyClient>;
  readonly #calls: ReturnType<typeof transcriptionCalls>;

  constructor(config: OpenAICompatibleTranscriberConfig) {
    this.#config = config;
    this.provider = config.provider ?? 'openai-compatible';
    this.modelId = config.model;
    this.capabilities = {
      languages: config.languages ?? 'any',
      timestamps: true,
      streaming: false,
      prompt: true,
      quality: config.quality ?? 'standard',
    };
    this.#client = lazyClient(config);
    this.#calls = transcriptionCalls(this.provider, this.capabilities, (request, warnings, options) =>
      this.#run(request, warnings, options),
    );
  }

  transcribe(request: TranscriptionRequest, options?: VoiceCallOptions): Promise<TranscriptionResult> {
    return this.#calls.transcribe(request, options);
  }

  stream(request: TranscriptionRequest, options?: VoiceCallOptions): ReadableStream<TranscriptionStreamPart> {
    return this.#calls.stream(request, options);
  }

  #run(
    request: TranscriptionRequest,
    warnings: TranscriptionResult['warnings'],
    options: VoiceCallOptions,
  ): TranscriptionRun {
    return async (onSegment) => {
      const container = checkAudio(request.audio);
      const [extension, type] = EXTENSIONS[container] ?? [
        container,
        request.mediaType ?? 'application/octet-stream',
      ];
      const { openai, client } = await this.#client();
      let response: VerboseTranscription;
      try {
        const file = await openai.toFile(request.audio, `audio.${extension}`, { type });
        response = (await client.audio.transcriptions.create(
          {
            file,
            model: this.#config.model,
            response_format: 'verbose_json',
            timestamp_granularities: ['segment'],
            ...(request.language ? { language: request.language.split('-')[0] } : {}),
            ...(request.prompt ? { prompt: request.prompt } : {}),
          },
          {
            ...(options.abortSignal ? { signal: options.abortSignal } : {}),
            ...(options.headers ? { headers: options.headers } : {}),
          },
        )) as VerboseTranscription;
      } catch (error) {
        throw toVoiceError(error, openai, { provider: this.provider, baseURL: this.#config.baseURL });
      }
      const durationSeconds = typeof response.duration === 'number' ? response.duration : undefined;
      const segments: TranscriptionSegment[] = (response.segments ?? [])
        .map((segment) => ({
          start: segment.start,
          end: segment.end,
          text: segment.text.trim(),
          ...(typeof segment.avg_logprob === 'number'
            ? { confidence: Math.round(Math.min(1, Math.exp(segment.avg_logprob)) * 1000) / 1000 }
            : {}),
        }))
        .filter((segment) => segment.text.length > 0);
      const text = response.text?.trim() ?? '';
      if (segments.length === 0 && text.length > 0) {
        segments.push({ start: 0, end: durationSeconds ?? 0, text });
      }
      for (const segment of segments) onSegment(segment);
      const named = response.language?.toLowerCase();
      const language = (named && (LANGUAGE_NAMES[named] ?? named)) || request.language;
      return resultOf(segments, { language, durationSeconds, warnings });
    };
  }
}

/**
 * Creates a transcriber on an OpenAI-compatible server.
 *
 * @example
 * const transcriber = createOpenAICompatibleTranscriber({ baseURL: 'https://api.openai.com/v1', apiKey, model: 'whisper-1' });
 */
export function createOpenAICompatibleTranscriber(
  config: OpenAICompatibleTranscriberConfig,
): OpenAICompatibleTranscriber {
  return new OpenAICompatibleTranscriber(config);
}
