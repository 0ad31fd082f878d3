import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiwaBaseError } from '../errors.js';
import { ModelError, type ModelErrorCode } from '../ports/chat-model.js';
import type { EmbeddingModel } from '../ports/embedding-model.js';

/** The tests of {@link embeddingModelContract}, by the key `skipTests` takes. */
export type EmbeddingModelContractTest =
  | 'describes-itself'
  | 'vectors'
  | 'batch-order'
  | 'deterministic'
  | 'empty-batch'
  | 'abort'
  | 'bad-input'
  | 'errors';

/** An embedding model that must fail, and the code it must fail with. */
export interface FailingEmbeddingModel {
  /** Shown in the test name: `missing model directory`, `unreachable server`. */
  name: string;
  create: () => Promise<EmbeddingModel> | EmbeddingModel;
  /** @example 'model_missing' */
  code: ModelErrorCode;
}

export interface EmbeddingModelContractOptions {
  /** Shown in the test names: `transformers.js`, `openai-compatible`. */
  name: string;
  /** The model under test, called once per test; may return the same instance each time. */
  create: () => Promise<EmbeddingModel> | EmbeddingModel;
  /** Runs once before the suite (start a server); return a teardown. */
  setup?: () => Promise<(() => Promise<void>) | undefined>;
  /** Why the whole suite is skipped (a library or tool missing here); undefined runs it. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<EmbeddingModelContractTest, string>>;
  /** Three different texts the model gives three different vectors (default: `こんにちは`, `hello world`, `会議`). */
  texts?: [string, string, string];
  /** Models that must fail (a missing model, an unreachable server), each with its error code. */
  failures?: FailingEmbeddingModel[];
}

const closeTo = (actual: number[] | undefined, expected: number[] | undefined) => {
  expect(actual).toBeDefined();
  expect(actual).toHaveLength(expected?.length ?? -1);
  for (const [index, value] of (expected ?? []).entries()) expect(actual?.[index]).toBeCloseTo(value, 5);
};

/**
 * What every `EmbeddingModel` must do, run by each backend's own test file.
 *
 * @example
 * embeddingModelContract({ name: 'transformers.js', create: () => embedder });
 */
export function embeddingModelContract(options: EmbeddingModelContractOptions): void {
  const texts = options.texts ?? ['こんにちは', 'hello world', '会議'];
  const test = (key: EmbeddingModelContractTest, title: string, body: () => Promise<void>) => {
    const reason = options.skipTests?.[key];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
  const suite = options.skip ? describe.skip : describe;

  suite(`EmbeddingModel contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let teardown: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      teardown = (await options.setup?.()) ?? undefined;
    });
    afterAll(async () => {
      await teardown?.();
    });

    test('describes-itself', 'names itself and declares its specification version', async () => {
      const model = await options.create();
      expect(model.specificationVersion).toBe('v1');
      expect(model.provider.length).toBeGreaterThan(0);
      expect(model.modelId.length).toBeGreaterThan(0);
      if (model.dimensions !== undefined) {
        expect(Number.isInteger(model.dimensions)).toBe(true);
        expect(model.dimensions).toBeGreaterThan(0);
      }
    });

    test('vectors', 'returns one finite vector per text, as long as the dimensions it declares', async () => {
      const model = await options.create();
      const declared = model.dimensions;
      const { embeddings, usage } = await model.embed(texts);
      expect(embeddings).toHaveLength(texts.length);
      const length = embeddings[0]?.length ?? 0;
      expect(length).toBeGreaterThan(0);
      for (const vector of embeddings) {
        expect(vector).toHaveLength(length);
        expect(vector.every((value) => typeof value === 'number' && Number.isFinite(value))).toBe(true);
      }
      if (declared !== undefined) expect(length).toBe(declared);
      expect(model.dimensions).toBe(length);
      if (usage.tokens !== undefined) {
        expect(Number.isInteger(usage.tokens)).toBe(true);
        expect(usage.tokens).toBeGreaterThan(0);
      }
    });

    test(
      'batch-order',
      'keeps the order of the texts: a batch gives what one call per text gives',
      async () => {
        const model = await options.create();
        const batch = (await model.embed(texts)).embeddings;
        const reversed = (await model.embed([...texts].reverse())).embeddings;
        for (const [index, text] of texts.entries()) {
          const [single] = (await model.embed([text])).embeddings;
          closeTo(batch[index], single);
          closeTo(reversed[texts.length - 1 - index], single);
        }
      },
    );

    test(
      'deterministic',
      'gives the same text the same vector and different texts different ones',
      async () => {
        const model = await options.create();
        const [first, repeated] = (await model.embed([texts[0], texts[0]])).embeddings;
        closeTo(repeated, first);
        const [again] = (await model.embed([texts[0]])).embeddings;
        closeTo(again, first);
        const [a, b, c] = (await model.embed(texts)).embeddings;
        const differ = (x: number[] | undefined, y: number[] | undefined) =>
          (x ?? []).some((value, index) => Math.abs(value - (y?.[index] ?? Number.NaN)) > 1e-6);
        expect(differ(a, b) && differ(b, c) && differ(a, c)).toBe(true);
      },
    );

    test('empty-batch', 'answers an empty batch with no vectors', async () => {
      const model = await options.create();
      const result = await model.embed([]);
      expect(result.embeddings).toEqual([]);
      expect([0, undefined]).toContain(result.usage.tokens);
    });

    test('abort', 'rejects with an aborted error when the signal is aborted', async () => {
      const model = await options.create();
      const error = await model.embed(texts, { abortSignal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect(ModelError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'aborted', isRetryable: false });
    });

    test('bad-input', 'rejects texts that are not strings with a typed invalid_input error', async () => {
      const model = await options.create();
      for (const input of [[42], ['fine', null], 'not an array']) {
        const error = await model.embed(input as unknown as string[]).catch((e: unknown) => e);
        expect(ModelError.isInstance(error), `embed(${JSON.stringify(input)})`).toBe(true);
        expect(error).toMatchObject({ code: 'invalid_input', isRetryable: false });
      }
    });

    const failures = options.failures ?? [];
    if (failures.length === 0) {
      it.skip('fails with typed errors (skipped: no failing model given)', () => {});
    }
    for (const failure of failures) {
      test('errors', `fails with a typed ${failure.code} error: ${failure.name}`, async () => {
        const model = await failure.create();
        const error = await model.embed(texts).catch((e: unknown) => e);
        expect(ModelError.isInstance(error), `expected a ModelError, got ${String(error)}`).toBe(true);
        expect(KaiwaBaseError.isInstance(error)).toBe(true);
        expect((error as ModelError).code).toBe(failure.code);
        expect((error as ModelError).provider).toBe(model.provider);
      });
    }
  });
}
