import type {
  SpeechFormat,
  SpeechRequest,
  SpeechResult,
  Synthesizer,
  SynthesizerCapabilities,
  SynthesizerVoice,
  VoiceCallOptions,
} from '@kaiwa/core';
import { throwIfAborted } from '../process/run-program.js';
import { checkSpeechRequest, finishWav } from '../synthesis-support.js';
import { lazyClient, type OpenAICompatibleVoiceConfig, toVoiceError } from './openai-voice-errors.js';

export interface OpenAICompatibleSynthesizerConfig extends OpenAICompatibleVoiceConfig {
  /** The server's voices; default OpenAI's, which speak many languages (`mul`). */
  voices?: SynthesizerVoice[];
  /** Default the first voice. */
  defaultVoice?: string;
  /** Default 4096 (OpenAI's limit). */
  maxTextLength?: number;
  /** Sample rate of formats without a header (mp3, opus…). Default 24 000 (OpenAI's). */
  sampleRate?: number;
}

const OPENAI_VOICES = ['alloy', 'ash', 'coral', 'echo', 'fable', 'nova', 'onyx', 'sage', 'shimmer'];
const MEDIA_TYPES: Record<SpeechFormat, string> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  flac: 'audio/flac',
  aac: 'audio/aac',
  pcm: 'audio/L16',
};

/**
 * Text-to-speech on any server that speaks OpenAI's `/v1/audio/speech` (OpenAI, LocalAI, Kokoro and Piper
 * servers, openedai-speech). Asks for WAV unless told otherwise; `openai` is loaded on first use.
 *
 * @example
 * const synthesizer = createOpenAICompatibleSynthesizer({ baseURL: 'http://127.0.0.1:8880/v1', model: 'kokoro' });
 * const { audio } = await synthesizer.synthesize({ text: 'こんにちは', language: 'ja' });
 */
export class OpenAICompatibleSynthesizer implements Synthesizer {
  readonly specificationVersion = 'v1';
  readonly provider: string;
  readonly modelId: string;
  readonly capabilities: SynthesizerCapabilities;
  readonly #config: OpenAICompatibleSynthesizerConfig;
  readonly #client: ReturnType<typeof lazyClient>;

  constructor(config: OpenAICompatibleSynthesizerConfig) {
    this.#config = config;
    this.provider = config.provider ?? 'openai-compatible';
    this.modelId = config.model;
    this.capabilities = {
      voices: config.voices ?? OPENAI_VOICES.map((id) => ({ id, language: 'mul' })),
      formats: ['wav', 'mp3', 'opus', 'flac', 'aac', 'pcm'],
      speed: true,
      maxTextLength: config.maxTextLength ?? 4096,
    };
    this.#client = lazyClient(config);
  }

  async synthesize(request: SpeechRequest, options: VoiceCallOptions = {}): Promise<SpeechResult> {
    throwIfAborted(options.abortSignal, this.provider);
    const defaultVoice = this.#config.defaultVoice ?? this.capabilities.voices[0]?.id ?? 'alloy';
    const { voice, warnings } = checkSpeechRequest(request, this.capabilities, this.provider, defaultVoice);
    const format = request.format ?? 'wav';
    const { openai, client } = await this.#client();
    let bytes: Uint8Array;
    try {
      const response = await client.audio.speech.create(
        {
          model: this.#config.model,
          voice: voice.id,
          input: request.text,
          response_format: format,
          ...(request.speed !== undefined ? { speed: request.speed } : {}),
        },
        {
          ...(options.abortSignal ? { signal: options.abortSignal } : {}),
          ...(options.headers ? { headers: options.headers } : {}),
        },
      );
      bytes = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw toVoiceError(error, openai, { provider: this.provider, baseURL: this.#config.baseURL });
    }
    const base = { format, mediaType: MEDIA_TYPES[format], voice: voice.id, warnings };
    if (format === 'wav') {
      const { audio, sampleRate, durationSeconds } = finishWav(bytes);
      return { ...base, audio, sampleRate, durationSeconds };
    }
    return {
      ...base,
      audio: bytes,
      sampleRate: this.#config.sampleRate ?? 24_000,
      durationSeconds: undefined,
    };
  }
}

/**
 * Creates a synthesizer on an OpenAI-compatible server.
 *
 * @example
 * const synthesizer = createOpenAICompatibleSynthesizer({ baseURL: 'https://api.openai.com/v1', apiKey, model: 'tts-1' });
 */
export function createOpenAICompatibleSynthesizer(
  config: OpenAICompatibleSynthesizerConfig,
): OpenAICompatibleSynthesizer {
  return new OpenAICompatibleSynthesizer(config);
}
