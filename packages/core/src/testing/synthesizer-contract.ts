import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiwaBaseError } from '../errors.js';
import type { Synthesizer } from '../ports/synthesizer.js';
import { VoiceError, type VoiceErrorCode } from '../ports/transcriber.js';

/** The tests of {@link synthesizerContract}, by the key `skipTests` takes. */
export type SynthesizerContractTest =
  | 'describes-itself'
  | 'speaks'
  | 'voices'
  | 'speed'
  | 'bad-input'
  | 'abort'
  | 'errors';

/** A synthesizer that must fail, and the code it must fail with. */
export interface FailingSynthesizer {
  /** Shown in the test name: `flite not installed`. */
  name: string;
  create: () => Promise<Synthesizer> | Synthesizer;
  /** @example 'engine_missing' */
  code: VoiceErrorCode;
}

export interface SynthesizerContractOptions {
  /** Shown in the test names: `mespeak`, `espeak-ng`. */
  name: string;
  /** The synthesizer under test, called once per test; may return the same instance each time. */
  create: () => Promise<Synthesizer> | Synthesizer;
  /** Runs once before the suite (start a server); return a teardown. */
  setup?: () => Promise<(() => Promise<void>) | undefined>;
  /** Why the whole suite is skipped (a program missing here); undefined runs it. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<SynthesizerContractTest, string>>;
  /** Languages whose voices the suite speaks with (default: each declared voice's language, at most 3). */
  languages?: string[];
  /** Synthesizers that must fail (a missing program, an unreachable server), each with its error code. */
  failures?: FailingSynthesizer[];
}

/** Reads a PCM WAV file: its sample rate and mono samples (the first channel) as numbers in −1…1. */
function readWav(bytes: Uint8Array): { sampleRate: number; samples: number[] } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  expect(tag(0), 'RIFF header').toBe('RIFF');
  expect(tag(8), 'WAVE header').toBe('WAVE');
  let offset = 12;
  let sampleRate = 0;
  let channels = 1;
  let bits = 16;
  let format = 1;
  const samples: number[] = [];
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    // Streamed WAV (espeak-ng --stdout) writes 0x7fffffff as the data size: read to the end.
    const size = Math.min(view.getUint32(offset + 4, true), bytes.length - offset - 8);
    if (id === 'fmt ') {
      format = view.getUint16(offset + 8, true);
      channels = view.getUint16(offset + 10, true);
      sampleRate = view.getUint32(offset + 12, true);
      bits = view.getUint16(offset + 22, true);
    } else if (id === 'data') {
      const step = (bits / 8) * channels;
      for (let at = offset + 8; at + step <= offset + 8 + size; at += step) {
        if (format === 3 && bits === 32) samples.push(view.getFloat32(at, true));
        else if (bits === 16) samples.push(view.getInt16(at, true) / 32768);
        else if (bits === 8) samples.push((view.getUint8(at) - 128) / 128);
        else if (bits === 32) samples.push(view.getInt32(at, true) / 2147483648);
      }
    }
    offset += 8 + size + (size % 2);
  }
  return { sampleRate, samples };
}

const rms = (samples: number[]) =>
  Math.sqrt(samples.reduce((sum, value) => sum + value * value, 0) / samples.length);

/**
 * What every `Synthesizer` must do, run by each backend's own test file. Audio is checked as WAV: asked for
 * `format: 'wav'`, the backend must give a readable file whose header matches `sampleRate`, with audible sound.
 *
 * @example
 * synthesizerContract({ name: 'mespeak', create: () => createMespeakSynthesizer() });
 */
export function synthesizerContract(options: SynthesizerContractOptions): void {
  const test = (key: SynthesizerContractTest, title: string, body: () => Promise<void>) => {
    const reason = options.skipTests?.[key];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
  const suite = options.skip ? describe.skip : describe;
  const text = 'The meeting starts at three o clock.';

  suite(`Synthesizer contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let teardown: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      teardown = (await options.setup?.()) ?? undefined;
    });
    afterAll(async () => {
      await teardown?.();
    });

    test('describes-itself', 'names itself and declares voices with languages', async () => {
      const synthesizer = await options.create();
      expect(synthesizer.specificationVersion).toBe('v1');
      expect(synthesizer.provider.length).toBeGreaterThan(0);
      expect(synthesizer.modelId.length).toBeGreaterThan(0);
      const { voices, formats, maxTextLength } = synthesizer.capabilities;
      expect(voices.length).toBeGreaterThan(0);
      for (const voice of voices) {
        expect(voice.id.length).toBeGreaterThan(0);
        expect(voice.language).toMatch(/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/);
      }
      expect(new Set(voices.map((voice) => voice.id)).size).toBe(voices.length);
      expect(formats).toContain('wav');
      expect(maxTextLength).toBeGreaterThan(0);
    });

    test('speaks', 'returns a WAV file with audible speech of a plausible length', async () => {
      const synthesizer = await options.create();
      const result = await synthesizer.synthesize({ text, format: 'wav' });
      expect(result.format).toBe('wav');
      expect(result.mediaType).toMatch(/^audio\/(wav|x-wav|wave)$/);
      const { sampleRate, samples } = readWav(result.audio);
      expect(sampleRate).toBe(result.sampleRate);
      const seconds = samples.length / sampleRate;
      expect(seconds).toBeGreaterThan(0.8);
      expect(seconds).toBeLessThan(10);
      if (result.durationSeconds !== undefined) expect(result.durationSeconds).toBeCloseTo(seconds, 1);
      expect(rms(samples)).toBeGreaterThan(0.005);
      expect(synthesizer.capabilities.voices.map((voice) => voice.id)).toContain(result.voice);
    });

    test('voices', 'speaks with a voice of each language asked for, and reports the voice used', async () => {
      const synthesizer = await options.create();
      const { voices } = synthesizer.capabilities;
      const languages = options.languages ?? [...new Set(voices.map((voice) => voice.language))].slice(0, 3);
      for (const language of languages) {
        const result = await synthesizer.synthesize({ text: 'One two three.', language, format: 'wav' });
        const voice = voices.find((candidate) => candidate.id === result.voice);
        expect(voice, `voice ${result.voice} for ${language}`).toBeDefined();
        const primary = (tag: string | undefined) => tag?.split('-')[0]?.toLowerCase();
        expect([primary(language), 'mul']).toContain(primary(voice?.language));
        expect(rms(readWav(result.audio).samples)).toBeGreaterThan(0.005);
      }
      const first = voices[0];
      if (first) {
        const result = await synthesizer.synthesize({
          text: 'One two three.',
          voice: first.id,
          format: 'wav',
        });
        expect(result.voice).toBe(first.id);
      }
    });

    test('speed', 'speaks faster with a higher speed when it declares speed, else warns', async () => {
      const synthesizer = await options.create();
      const normal = await synthesizer.synthesize({ text, format: 'wav' });
      const fast = await synthesizer.synthesize({ text, speed: 2, format: 'wav' });
      const length = (audio: Uint8Array) => readWav(audio).samples.length;
      if (synthesizer.capabilities.speed) {
        expect(length(fast.audio)).toBeLessThan(length(normal.audio) * 0.85);
      } else {
        expect(fast.warnings).toContainEqual(
          expect.objectContaining({ type: 'unsupported-setting', setting: 'speed' }),
        );
      }
    });

    test(
      'bad-input',
      'rejects empty text, too long text and an unknown voice with invalid_input',
      async () => {
        const synthesizer = await options.create();
        const tooLong = 'a '.repeat(synthesizer.capabilities.maxTextLength);
        const cases: [string, Parameters<Synthesizer['synthesize']>[0]][] = [
          ['empty text', { text: '' }],
          ['blank text', { text: '  \n ' }],
          ['text that is not a string', { text: 42 as unknown as string }],
          ['too long text', { text: tooLong }],
          ['an unknown voice', { text, voice: 'no-such-voice-xyz' }],
        ];
        for (const [label, request] of cases) {
          const error = await synthesizer.synthesize(request).catch((e: unknown) => e);
          expect(VoiceError.isInstance(error), `${label}: ${String(error)}`).toBe(true);
          expect(error, label).toMatchObject({ code: 'invalid_input', isRetryable: false });
        }
      },
    );

    test('abort', 'rejects with an aborted error when the signal is aborted', async () => {
      const synthesizer = await options.create();
      const error = await synthesizer
        .synthesize({ text }, { abortSignal: AbortSignal.abort() })
        .catch((e: unknown) => e);
      expect(VoiceError.isInstance(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: 'aborted', isRetryable: false });
    });

    const failures = options.failures ?? [];
    if (failures.length === 0) {
      it.skip('fails with typed errors (skipped: no failing synthesizer given)', () => {});
    }
    for (const failure of failures) {
      test('errors', `fails with a typed ${failure.code} error: ${failure.name}`, async () => {
        const synthesizer = await failure.create();
        const error = await synthesizer.synthesize({ text }).catch((e: unknown) => e);
        expect(VoiceError.isInstance(error), `expected a VoiceError, got ${String(error)}`).toBe(true);
        expect(KaiwaBaseError.isInstance(error)).toBe(true);
        expect((error as VoiceError).code).toBe(failure.code);
        expect((error as VoiceError).provider).toBe(synthesizer.provider);
      });
    }
  });
}
