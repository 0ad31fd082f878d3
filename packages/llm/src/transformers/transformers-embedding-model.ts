import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import type { EmbeddingModel, EmbedOptions, EmbedResult } from '@kaiwa/core';
import { asLocalModelError, assertTexts, throwIfAborted } from '../stream-parts.js';
import {
  assertModelFiles,
  loadTransformers,
  pickDevice,
  TRANSFORMERS_PROVIDER,
  type TransformersModelConfig,
} from './load-transformers.js';

export interface TransformersEmbeddingModelConfig extends TransformersModelConfig {
  /** How token vectors become one sentence vector (default `'mean'`, over the attention mask). */
  pooling?: 'mean' | 'cls';
  /** L2-normalise the vectors (default true), so a dot product is the cosine similarity. */
  normalize?: boolean;
}

/** An embedding model run in-process by transformers.js from a local directory. */
export class TransformersEmbeddingModel implements EmbeddingModel {
  readonly specificationVersion = 'v1';
  readonly provider = TRANSFORMERS_PROVIDER;
  readonly modelId: string;
  #dimensions: number | undefined;
  readonly #config: TransformersEmbeddingModelConfig;
  #extractor: Promise<FeatureExtractionPipeline> | undefined;

  constructor(config: TransformersEmbeddingModelConfig) {
    this.modelId = config.model;
    this.#config = config;
  }

  get dimensions(): number | undefined {
    return this.#dimensions;
  }

  #load(): Promise<FeatureExtractionPipeline> {
    this.#extractor ??= (async () => {
      assertModelFiles(this.#config);
      const transformers = await loadTransformers(this.#config);
      const device = pickDevice(this.#config);
      return (await transformers.pipeline('feature-extraction', this.#config.model, {
        dtype: this.#config.dtype ?? 'fp32',
        device,
      })) as FeatureExtractionPipeline;
    })();
    this.#extractor.catch(() => {
      this.#extractor = undefined;
    });
    return this.#extractor;
  }

  async embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    try {
      assertTexts(texts, this.provider);
      throwIfAborted(options.abortSignal, this.provider);
      if (texts.length === 0) return { embeddings: [], usage: { tokens: 0 } };
      const extractor = await this.#load();
      throwIfAborted(options.abortSignal, this.provider);
      const output = await extractor(texts, {
        pooling: this.#config.pooling ?? 'mean',
        normalize: this.#config.normalize ?? true,
      });
      const embeddings = output.tolist() as number[][];
      this.#dimensions ??= embeddings[0]?.length;
      const tokens = texts.reduce(
        (sum, text) => sum + (extractor.tokenizer(text).input_ids.dims.at(-1) as number),
        0,
      );
      return { embeddings, usage: { tokens } };
    } catch (error) {
      throw asLocalModelError(error, this.provider);
    }
  }
}

/**
 * Creates an embedding model that runs a local ONNX model with transformers.js; nothing is downloaded.
 *
 * @example
 * const embedder = createTransformersEmbeddingModel({ localModelPath: '/models', model: 'multilingual-e5-small', dtype: 'q8' });
 * const { embeddings } = await embedder.embed(['query: 会議', 'passage: 明日の会議は10時から']);
 */
export function createTransformersEmbeddingModel(
  config: TransformersEmbeddingModelConfig,
): TransformersEmbeddingModel {
  return new TransformersEmbeddingModel(config);
}
