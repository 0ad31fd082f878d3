import { createRequire } from 'node:module';
import {
  EngineMissingError,
  type SpeechRequest,
  type SpeechResult,
  type Synthesizer,
  type SynthesizerCapabilities,
  type SynthesizerVoice,
  type VoiceCallOptions,
  VoiceError,
} from '@kaiwa/core';
import { throwIfAborted } from '../process/run-program.js';
import { checkSpeechRequest, finishWav } from '../synthesis-support.js';

interface MeSpeak {
  loadConfig(config: unknown): void;
  loadVoice(voice: unknown): void;
  speak(
    text: string,
    options: { voice: string; speed?: number; rawdata: 'buffer' },
  ): Buffer | null | undefined;
}

/** The voices mespeak 2 bundles: our id, the file under `mespeak/voices/`, the language it speaks. */
const VOICES: [id: string, file: string, language: string, name: string][] = [
  ['en-us', 'en/en-us', 'en-US', 'English (America)'],
  ['en', 'en/en', 'en-GB', 'English (Britain)'],
  ['en-rp', 'en/en-rp', 'en-GB-x-rp', 'English (Received Pronunciation)'],
  ['en-sc', 'en/en-sc', 'en-GB-x-scotland', 'English (Scotland)'],
  ['en-n', 'en/en-n', 'en-GB-x-north', 'English (Northern)'],
  ['en-wm', 'en/en-wm', 'en-GB-x-wmids', 'English (West Midlands)'],
  ['ca', 'ca', 'ca', 'Catalan'],
  ['cs', 'cs', 'cs', 'Czech'],
  ['de', 'de', 'de', 'German'],
  ['el', 'el', 'el', 'Greek'],
  ['eo', 'eo', 'eo', 'Esperanto'],
  ['es', 'es', 'es', 'Spanish'],
  ['es-la', 'es-la', 'es-419', 'Spanish (Latin America)'],
  ['fi', 'fi', 'fi', 'Finnish'],
  ['fr', 'fr', 'fr', 'French'],
  ['hu', 'hu', 'hu', 'Hungarian'],
  ['it', 'it', 'it', 'Italian'],
  ['kn', 'kn', 'kn', 'Kannada'],
  ['la', 'la', 'la', 'Latin'],
  ['lv', 'lv', 'lv', 'Latvian'],
  ['nl', 'nl', 'nl', 'Dutch'],
  ['pl', 'pl', 'pl', 'Polish'],
  ['pt', 'pt', 'pt-BR', 'Portuguese (Brazil)'],
  ['pt-pt', 'pt-pt', 'pt-PT', 'Portuguese (Portugal)'],
  ['ro', 'ro', 'ro', 'Romanian'],
  ['sk', 'sk', 'sk', 'Slovak'],
  ['sv', 'sv', 'sv', 'Swedish'],
  ['tr', 'tr', 'tr', 'Turkish'],
  ['zh', 'zh', 'zh', 'Chinese (Mandarin)'],
  ['zh-yue', 'zh-yue', 'yue', 'Chinese (Cantonese)'],
];

export interface MespeakSynthesizerConfig {
  /** Default `en-us`. */
  defaultVoice?: string;
  /** Default 2000 characters: mespeak speaks synchronously on the calling thread. */
  maxTextLength?: number;
}

const PROVIDER = 'mespeak';
const WORDS_PER_MINUTE = 175;

/**
 * Text-to-speech with mespeak (eSpeak compiled to JavaScript): in process, no system package, 30 voices in
 * 26 languages (no Japanese: use espeak-ng or an OpenAI-compatible server for it), 22,050 Hz mono WAV. The
 * embedded default. mespeak is loaded on first use, with its configuration and each voice loaded before the
 * first `speak` (without them it returns nothing). It speaks synchronously, blocking the event loop for about
 * 0.1 s per second of speech, hence the lower `maxTextLength`. mespeak is GPL-licensed.
 *
 * @example
 * const { audio } = await createMespeakSynthesizer().synthesize({ text: 'Guten Tag', language: 'de' });
 */
export class MespeakSynthesizer implements Synthesizer {
  readonly specificationVersion = 'v1';
  readonly provider = PROVIDER;
  readonly modelId = 'mespeak';
  readonly capabilities: SynthesizerCapabilities;
  readonly #defaultVoice: string;

  constructor(config: MespeakSynthesizerConfig = {}) {
    this.#defaultVoice = config.defaultVoice ?? 'en-us';
    this.capabilities = {
      voices: VOICES.map(([id, , language, name]): SynthesizerVoice => ({ id, language, name })),
      formats: ['wav'],
      speed: true,
      maxTextLength: config.maxTextLength ?? 2000,
    };
  }

  async synthesize(request: SpeechRequest, options: VoiceCallOptions = {}): Promise<SpeechResult> {
    throwIfAborted(options.abortSignal, PROVIDER);
    const { voice, warnings } = checkSpeechRequest(request, this.capabilities, PROVIDER, this.#defaultVoice);
    const file = VOICES.find(([id]) => id === voice.id)?.[1] ?? voice.id;
    const mespeak = this.#load(file);
    const speed = Math.round(Math.min(450, Math.max(80, WORDS_PER_MINUTE * (request.speed ?? 1))));
    const bytes = mespeak.speak(request.text, { voice: file, speed, rawdata: 'buffer' });
    if (!bytes || bytes.length <= 44) {
      throw new VoiceError('engine_failed', `mespeak returned no audio for voice ${voice.id}`, {
        provider: PROVIDER,
      });
    }
    const { audio, sampleRate, durationSeconds } = finishWav(new Uint8Array(bytes));
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

  #load(file: string): MeSpeak {
    const require = createRequire(import.meta.url);
    if (!loaded) {
      // mespeak warns "Not in browser" on the console when loaded in Node; that is expected here.
      const warn = console.warn;
      console.warn = () => {};
      try {
        const mespeak = require('mespeak') as MeSpeak;
        mespeak.loadConfig(require('mespeak/src/mespeak_config.json'));
        loaded = { mespeak, voices: new Set() };
      } catch (error) {
        throw new EngineMissingError('mespeak', 'npm install mespeak', { provider: PROVIDER, cause: error });
      } finally {
        console.warn = warn;
      }
    }
    if (!loaded.voices.has(file)) {
      loaded.mespeak.loadVoice(require(`mespeak/voices/${file}.json`));
      loaded.voices.add(file);
    }
    return loaded.mespeak;
  }
}

/**
 * mespeak itself, one per process (Node's module cache holds it), with the voices loaded into it: its
 * configuration and each voice are loaded once for every synthesizer (a second `loadConfig` throws "Can't
 * overwrite object", so a second synthesizer in the process could not speak).
 */
let loaded: { mespeak: MeSpeak; voices: Set<string> } | undefined;

/**
 * Creates the mespeak synthesizer.
 *
 * @example
 * const synthesizer = createMespeakSynthesizer({ defaultVoice: 'de' });
 */
export function createMespeakSynthesizer(config: MespeakSynthesizerConfig = {}): MespeakSynthesizer {
  return new MespeakSynthesizer(config);
}
