import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/** The voices Debian's flite builds in (`flite -lv`). */
const VOICES: SynthesizerVoice[] = [
  { id: 'slt', language: 'en-US', name: 'SLT (female, 16 kHz)' },
  { id: 'kal16', language: 'en-US', name: 'Kal (male, 16 kHz)' },
  { id: 'rms', language: 'en-US', name: 'RMS (male, 16 kHz)' },
  { id: 'awb', language: 'en-GB-x-scotland', name: 'AWB (male, Scottish, 16 kHz)' },
  { id: 'kal', language: 'en-US', name: 'Kal (male, 8 kHz)' },
];

export interface FliteSynthesizerConfig {
  /** Default `flite` from PATH (`apt-get install flite`). */
  programPath?: string;
  /** Default `slt`. */
  defaultVoice?: string;
  /** Default 10 000 characters. */
  maxTextLength?: number;
  /** Default 60 000 ms. */
  timeoutMs?: number;
}

const PROVIDER = 'flite';

/**
 * Text-to-speech with CMU's flite program: English only, 16 kHz mono WAV, clear enough that pocketsphinx
 * recognises it (it does not recognise espeak-ng's voice), hence the voice of Kaiwa's recognition tests. The
 * text is passed through a file in a private temporary folder, removed on every path.
 *
 * @throws EngineMissingError naming `flite` when it is not installed.
 * @example
 * const { audio } = await createFliteSynthesizer().synthesize({ text: 'The birch canoe slid on the smooth planks.' });
 */
export class FliteSynthesizer implements Synthesizer {
  readonly specificationVersion = 'v1';
  readonly provider = PROVIDER;
  readonly modelId = 'flite';
  readonly capabilities: SynthesizerCapabilities;
  readonly #config: FliteSynthesizerConfig;

  constructor(config: FliteSynthesizerConfig = {}) {
    this.#config = config;
    this.capabilities = {
      voices: VOICES,
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
      this.#config.defaultVoice ?? 'slt',
    );
    const folder = await mkdtemp(join(tmpdir(), 'kaiwa-flite-'));
    try {
      const textFile = join(folder, 'text.txt');
      const wavFile = join(folder, 'speech.wav');
      await writeFile(textFile, request.text);
      const stretch = (1 / (request.speed ?? 1)).toFixed(3);
      await runProgram(
        this.#config.programPath ?? 'flite',
        ['-voice', voice.id, '--setf', `duration_stretch=${stretch}`, '-f', textFile, '-o', wavFile],
        { abortSignal: options.abortSignal, provider: PROVIDER, timeoutMs: this.#config.timeoutMs ?? 60_000 },
      );
      const { audio, sampleRate, durationSeconds } = finishWav(new Uint8Array(await readFile(wavFile)));
      return {
        audio,
        format: 'wav',
        mediaType: 'audio/wav',
        sampleRate,
        durationSeconds,
        voice: voice.id,
        warnings,
      };
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }
}

/**
 * Creates the flite synthesizer.
 *
 * @example
 * const synthesizer = createFliteSynthesizer({ defaultVoice: 'kal16' });
 */
export function createFliteSynthesizer(config: FliteSynthesizerConfig = {}): FliteSynthesizer {
  return new FliteSynthesizer(config);
}
