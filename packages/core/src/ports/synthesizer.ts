import type { VoiceCallOptions, VoiceWarning } from './transcriber.js';

/** Encodings a synthesizer can return. */
export type SpeechFormat = 'wav' | 'mp3' | 'opus' | 'flac' | 'aac' | 'pcm';

/**
 * One voice of a synthesizer.
 *
 * @example
 * { id: 'ja', language: 'ja', name: 'Japanese' }
 */
export interface SynthesizerVoice {
  /** What `SpeechRequest.voice` takes. @example 'en-us' */
  id: string;
  /** BCP 47 tag of the language it speaks; `'mul'` for a voice that speaks many. @example 'en-US' */
  language: string;
  /** @example 'English (America)' */
  name?: string;
}

/**
 * What to say.
 *
 * @example
 * const request: SpeechRequest = { text: '会議は三時からです。', language: 'ja' };
 */
export interface SpeechRequest {
  /** @example 'The meeting starts at three.' */
  text: string;
  /** A voice id from `capabilities.voices`; undefined picks one for `language`, else the default. @example 'de' */
  voice?: string;
  /** BCP 47; picks a voice of that language when `voice` is unset. @example 'de' */
  language?: string;
  /** Speaking rate, 1 is normal. @example 1.25 */
  speed?: number;
  /** Wanted encoding; a backend that cannot give it returns its own and a warning. @example 'wav' */
  format?: SpeechFormat;
}

/**
 * Synthesized speech.
 *
 * @example
 * const { audio, mediaType } = await synthesizer.synthesize({ text: 'hello' });
 * reply.type(mediaType).send(audio);
 */
export interface SpeechResult {
  /** The encoded audio file. @example new Uint8Array([0x52, 0x49, 0x46, 0x46, …]) */
  audio: Uint8Array;
  /** @example 'wav' */
  format: SpeechFormat;
  /** @example 'audio/wav' */
  mediaType: string;
  /** @example 22050 */
  sampleRate: number;
  /** Length in seconds, where known. @example 1.8 */
  durationSeconds: number | undefined;
  /** The voice that spoke. @example 'en-us' */
  voice: string;
  /** @example [] */
  warnings: VoiceWarning[];
}

/**
 * What a synthesizer can do.
 *
 * @example
 * const japanese = synthesizer.capabilities.voices.find((voice) => voice.language.startsWith('ja'));
 */
export interface SynthesizerCapabilities {
  /** The voices it offers; never empty. */
  voices: SynthesizerVoice[];
  /** Encodings it returns without conversion; the first is its default. @example ['wav'] */
  formats: SpeechFormat[];
  /** `speed` changes the rate. */
  speed: boolean;
  /** Longest text one call takes, in characters. @example 4096 */
  maxTextLength: number;
}

/**
 * Text-to-speech: the port every backend implements — mespeak in process, espeak-ng and flite binaries, an
 * OpenAI-compatible `/v1/audio/speech` server.
 *
 * @example
 * const synthesizer: Synthesizer = createMespeakSynthesizer();
 * const { audio } = await synthesizer.synthesize({ text: 'Guten Tag', language: 'de' });
 */
export interface Synthesizer {
  /** @example if (synthesizer.specificationVersion !== 'v1') throw new Error('unsupported synthesizer'); */
  readonly specificationVersion: 'v1';
  /** The backend kind. @example 'espeak-ng' */
  readonly provider: string;
  /** The model or engine as the backend names it. @example 'espeak-ng' */
  readonly modelId: string;
  /** @example synthesizer.capabilities.voices */
  readonly capabilities: SynthesizerCapabilities;

  /**
   * Speaks the text.
   *
   * @throws VoiceError (a subclass of it): `invalid_input` (empty or too long text, an unknown voice),
   * `unsupported_language`, `engine_missing`, `engine_failed`, `timeout`, `aborted`, or a backend's HTTP failure.
   * @example
   * const { audio, mediaType, durationSeconds } = await synthesizer.synthesize({ text }, { abortSignal });
   */
  synthesize(request: SpeechRequest, options?: VoiceCallOptions): Promise<SpeechResult>;
}
