import type {
  SpeechRequest,
  SpeechResult,
  Synthesizer,
  SynthesizerCapabilities,
  SynthesizerVoice,
  VoiceCallOptions,
} from '@kaiwa/core';
import { runProgram, throwIfAborted } from '../process/run-program.js';
import { checkSpeechRequest, finishWav } from '../synthesis-support.js';

/** A choice of espeak-ng's 100-odd voices; any other voice it has can be listed in the config. */
const DEFAULT_VOICES: SynthesizerVoice[] = [
  { id: 'en-us', language: 'en-US', name: 'English (America)' },
  { id: 'en-gb', language: 'en-GB', name: 'English (Britain)' },
  { id: 'ja', language: 'ja', name: 'Japanese' },
  { id: 'de', language: 'de', name: 'German' },
  { id: 'fr', language: 'fr', name: 'French' },
  { id: 'es', language: 'es', name: 'Spanish' },
  { id: 'it', language: 'it', name: 'Italian' },
  { id: 'nl', language: 'nl', name: 'Dutch' },
  { id: 'pt-br', language: 'pt-BR', name: 'Portuguese (Brazil)' },
  { id: 'ru', language: 'ru', name: 'Russian' },
  { id: 'ko', language: 'ko', name: 'Korean' },
  { id: 'cmn', language: 'zh', name: 'Chinese (Mandarin)' },
];

export interface EspeakNgSynthesizerConfig {
  /** Default `espeak-ng` from PATH (`apt-get install espeak-ng`). */
  programPath?: string;
  /** Default a dozen voices, Japanese and German among them; ids as `espeak-ng --voices` lists them. */
  voices?: SynthesizerVoice[];
  /** Default `en-us`. */
  defaultVoice?: string;
  /** Default 10 000 characters. */
  maxTextLength?: number;
  /** Default 60 000 ms. */
  timeoutMs?: number;
}

const PROVIDER = 'espeak-ng';

/**
 * Text-to-speech with the espeak-ng program: fast, robotic, many languages including Japanese, 22,050 Hz mono
 * WAV. The text goes through stdin (never the command line), the WAV comes back on stdout with its sizes fixed.
 * Note that pocketsphinx cannot recognise this voice: use flite to make recognition test audio.
 *
 * @throws EngineMissingError naming `espeak-ng` when it is not installed.
 * @example
 * const { audio } = await createEspeakNgSynthesizer().synthesize({ text: 'こんにちは', language: 'ja' });
 */
export class EspeakNgSynthesizer implements Synthesizer {
  readonly specificationVersion = 'v1';
  readonly provider = PROVIDER;
  readonly modelId = 'espeak-ng';
  readonly capabilities: SynthesizerCapabilities;
  readonly #config: EspeakNgSynthesizerConfig;

  constructor(config: EspeakNgSynthesizerConfig = {}) {
    this.#config = config;
    this.capabilities = {
      voices: config.voices ?? DEFAULT_VOICES,
      formats: ['wav'],
      speed: true,
      maxTextLength: config.maxTextLength ?? 10_000,
    };
  }

  async synthesize(request: SpeechRequest, options: VoiceCallOptions = {}): Promise<SpeechResult> {
    throwIfAborted(options.abortSignal, PROVIDER);
    const { voice, warnings } = checkSpeechRequest(
      request,
      this.capabilities,
      PROVIDER,
      this.#config.defaultVoice ?? 'en-us',
    );
    const wordsPerMinute = Math.round(Math.min(500, Math.max(80, 175 * (request.speed ?? 1))));
    const output = await runProgram(
      this.#config.programPath ?? 'espeak-ng',
      ['-v', voice.id, '-s', String(wordsPerMinute), '--stdout'],
      {
        input: request.text,
        abortSignal: options.abortSignal,
        provider: PROVIDER,
        timeoutMs: this.#config.timeoutMs ?? 60_000,
      },
    );
    const { audio, sampleRate, durationSeconds } = finishWav(new Uint8Array(output));
    return {
      audio,
      format: 'wav',
      mediaType: 'audio/wav',
      sampleRate,
      durationSeconds,
      voice: voice.id,
      warnings,
    };
  }
}

/**
 * Creates the espeak-ng synthesizer.
 *
 * @example
 * const synthesizer = createEspeakNgSynthesizer({ defaultVoice: 'ja' });
 */
export function createEspeakNgSynthesizer(config: EspeakNgSynthesizerConfig = {}): EspeakNgSynthesizer {
  return new EspeakNgSynthesizer(config);
}
