import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiwaBaseError } from '../errors.js';
import {
  type Transcriber,
  type TranscriptionStreamPart,
  VoiceError,
  type VoiceErrorCode,
} from '../ports/transcriber.js';

/** The tests of {@link transcriberContract}, by the key `skipTests` takes. */
export type TranscriberContractTest =
  | 'describes-itself'
  | 'transcribes'
  | 'accuracy'
  | 'stream'
  | 'abort'
  | 'bad-audio'
  | 'unsupported-language'
  | 'errors';

/** A transcriber that must fail, and the code it must fail with. */
export interface FailingTranscriber {
  /** Shown in the test name: `pocketsphinx not installed`, `unreachable server`. */
  name: string;
  create: () => Promise<Transcriber> | Transcriber;
  /** @example 'engine_missing' */
  code: VoiceErrorCode;
}

export interface TranscriberContractOptions {
  /** Shown in the test names: `pocketsphinx`, `openai-compatible`. */
  name: string;
  /** The transcriber under test, called once per test; may return the same instance each time. */
  create: () => Promise<Transcriber> | Transcriber;
  /** Runs once before the suite (make audio, start a server); return a teardown. */
  setup?: () => Promise<(() => Promise<void>) | undefined>;
  /** Why the whole suite is skipped (a program missing here); undefined runs it. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<TranscriberContractTest, string>>;
  /**
   * Speech to transcribe (read after `setup`), what is said, and the word error rate the backend must stay
   * within on it (default 0.5).
   */
  sample: () => { audio: Uint8Array; text: string; language?: string; maxWordErrorRate?: number };
  /** Transcribers that must fail (a missing program, an unreachable server), each with its error code. */
  failures?: FailingTranscriber[];
}

const words = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}' ]+/gu, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 0);

/**
 * Word error rate of `hypothesis` against `reference`: (substitutions + deletions + insertions) / reference
 * words, by edit distance over lower-cased words without punctuation.
 *
 * @example
 * wordErrorRate('the quick brown fox', 'the quick brown box'); // 0.25
 */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const expected = words(reference);
  const actual = words(hypothesis);
  if (expected.length === 0) return actual.length === 0 ? 0 : 1;
  let previous = Array.from({ length: actual.length + 1 }, (_, index) => index);
  for (let row = 1; row <= expected.length; row++) {
    const current = [row];
    for (let column = 1; column <= actual.length; column++) {
      const substitution = (previous[column - 1] ?? 0) + (expected[row - 1] === actual[column - 1] ? 0 : 1);
      current[column] = Math.min(substitution, (previous[column] ?? 0) + 1, (current[column - 1] ?? 0) + 1);
    }
    previous = current;
  }
  return (previous[actual.length] ?? 0) / expected.length;
}

const zipHeader = [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00];

/**
 * What every `Transcriber` must do, run by each backend's own test file.
 *
 * @example
 * transcriberContract({ name: 'pocketsphinx', create: () => transcriber, sample: () => ({ audio, text }) });
 */
export function transcriberContract(options: TranscriberContractOptions): void {
  const test = (key: TranscriberContractTest, title: string, body: () => Promise<void>) => {
    const reason = options.skipTests?.[key];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
  const suite = options.skip ? describe.skip : describe;

  suite(`Transcriber contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let teardown: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      teardown = (await options.setup?.()) ?? undefined;
    });
    afterAll(async () => {
      await teardown?.();
    });

    test(
      'describes-itself',
      'names itself and declares its specification version and capabilities',
      async () => {
        const transcriber = await options.create();
        expect(transcriber.specificationVersion).toBe('v1');
        expect(transcriber.provider.length).toBeGreaterThan(0);
        expect(transcriber.modelId.length).toBeGreaterThan(0);
        const { languages, quality } = transcriber.capabilities;
        expect(languages === 'any' || (Array.isArray(languages) && languages.length > 0)).toBe(true);
        expect(['standard', 'lower']).toContain(quality);
      },
    );

    test('transcribes', 'returns text and ordered segments inside the audio', async () => {
      const transcriber = await options.create();
      const sample = options.sample();
      const result = await transcriber.transcribe({
        audio: sample.audio,
        ...(sample.language ? { language: sample.language } : {}),
      });
      expect(result.text.trim().length).toBeGreaterThan(0);
      expect(result.segments.length).toBeGreaterThan(0);
      expect(result.text).toBe(result.segments.map((segment) => segment.text).join(' '));
      let previousEnd = 0;
      for (const segment of result.segments) {
        expect(segment.start).toBeGreaterThanOrEqual(previousEnd - 1e-6);
        expect(segment.end).toBeGreaterThan(segment.start);
        if (segment.confidence !== undefined) {
          expect(segment.confidence).toBeGreaterThanOrEqual(0);
          expect(segment.confidence).toBeLessThanOrEqual(1);
        }
        previousEnd = segment.end;
      }
      if (result.durationSeconds !== undefined) {
        expect(previousEnd).toBeLessThanOrEqual(result.durationSeconds + 0.05);
      }
      if (sample.language) expect(result.language?.split('-')[0]).toBe(sample.language.split('-')[0]);
      expect(Array.isArray(result.warnings)).toBe(true);
    });

    test('accuracy', 'recognises what was said within its word error rate', async () => {
      const transcriber = await options.create();
      const sample = options.sample();
      const { text } = await transcriber.transcribe({ audio: sample.audio });
      const rate = wordErrorRate(sample.text, text);
      expect(rate, `heard "${text}" for "${sample.text}"`).toBeLessThanOrEqual(
        sample.maxWordErrorRate ?? 0.5,
      );
    });

    test(
      'stream',
      'streams stream-start, segments in order, then one finish with the same text',
      async () => {
        const transcriber = await options.create();
        const sample = options.sample();
        const parts: TranscriptionStreamPart[] = [];
        for await (const part of transcriber.stream({ audio: sample.audio })) parts.push(part);
        expect(parts[0]?.type).toBe('stream-start');
        const last = parts.at(-1);
        expect(last?.type, JSON.stringify(last)).toBe('finish');
        const segments = parts.flatMap((part) => (part.type === 'segment' ? [part.segment] : []));
        expect(segments.length).toBeGreaterThan(0);
        expect(parts.filter((part) => part.type === 'finish')).toHaveLength(1);
        if (last?.type === 'finish')
          expect(last.text).toBe(segments.map((segment) => segment.text).join(' '));
        const { text } = await transcriber.transcribe({ audio: sample.audio });
        if (last?.type === 'finish') expect(last.text).toBe(text);
      },
    );

    test('abort', 'rejects with an aborted error, and streams one, when the signal is aborted', async () => {
      const transcriber = await options.create();
      const { audio } = options.sample();
      const error = await transcriber
        .transcribe({ audio }, { abortSignal: AbortSignal.abort() })
        .catch((e: unknown) => e);
      expect(VoiceError.isInstance(error), String(error)).toBe(true);
      expect(error).toMatchObject({ code: 'aborted', isRetryable: false });
      const parts: TranscriptionStreamPart[] = [];
      for await (const part of transcriber.stream({ audio }, { abortSignal: AbortSignal.abort() })) {
        parts.push(part);
      }
      const last = parts.at(-1);
      expect(last?.type).toBe('error');
      if (last?.type === 'error') expect(last.error.code).toBe('aborted');
    });

    test('bad-audio', 'rejects empty, truncated and non-audio bytes with unsupported_audio', async () => {
      const transcriber = await options.create();
      const { audio } = options.sample();
      const cases: [string, Uint8Array][] = [
        ['zero bytes', new Uint8Array(0)],
        ['a zip renamed .ogg', Uint8Array.from([...zipHeader, ...new Array(200).fill(7)])],
        ['a truncated WAV header', audio.subarray(0, 30)],
        ['text', new TextEncoder().encode('this is not audio at all, just a sentence in a text file')],
      ];
      for (const [label, bytes] of cases) {
        const error = await transcriber
          .transcribe({ audio: bytes, mediaType: 'audio/ogg' })
          .catch((e: unknown) => e);
        expect(VoiceError.isInstance(error), `${label}: ${String(error)}`).toBe(true);
        expect(error, label).toMatchObject({ code: 'unsupported_audio', isRetryable: false });
      }
    });

    test(
      'unsupported-language',
      'rejects a language it does not recognise with unsupported_language',
      async () => {
        const transcriber = await options.create();
        const { languages } = transcriber.capabilities;
        if (languages === 'any') return;
        const missing = ['ja', 'de', 'xh', 'en'].find((language) => !languages.includes(language)) ?? 'zz';
        const error = await transcriber
          .transcribe({ audio: options.sample().audio, language: missing })
          .catch((e: unknown) => e);
        expect(VoiceError.isInstance(error), String(error)).toBe(true);
        expect(error).toMatchObject({ code: 'unsupported_language', isRetryable: false });
      },
    );

    const failures = options.failures ?? [];
    if (failures.length === 0) {
      it.skip('fails with typed errors (skipped: no failing transcriber given)', () => {});
    }
    for (const failure of failures) {
      test('errors', `fails with a typed ${failure.code} error: ${failure.name}`, async () => {
        const transcriber = await failure.create();
        const error = await transcriber
          .transcribe({ audio: options.sample().audio })
          .catch((e: unknown) => e);
        expect(VoiceError.isInstance(error), `expected a VoiceError, got ${String(error)}`).toBe(true);
        expect(KaiwaBaseError.isInstance(error)).toBe(true);
        expect((error as VoiceError).code).toBe(failure.code);
        expect((error as VoiceError).provider).toBe(transcriber.provider);
      });
    }
  });
}
