import { type EmbeddingModel, type EmbedOptions, type EmbedResult, ModelAbortedError } from '@kaiwa/core';
import OpenAI from 'openai';
import { asModelError, assertTexts, throwIfAborted } from '../stream-parts.js';
import { toModelError } from './openai-errors.js';

export interface OpenAICompatibleEmbeddingModelConfig {
  /** The server's OpenAI-compatible root, e.g. `http://127.0.0.1:11434/v1`. */
  baseURL: string;
  apiKey?: string;
  model: string;
  /** Asks the server for shorter vectors (OpenAI's text-embedding-3 models); otherwise learned on first call. */
  dimensions?: number;
  timeoutMs?: number;
  maxRetries?: number;
  provider?: string;
  headers?: Record<string, string>;
  fetch?: typeof fetch;
}

/** An embedding model on any server that speaks the OpenAI embeddings API. */
export class OpenAICompatibleEmbeddingModel implements EmbeddingModel {
  readonly specificationVersion = 'v1';
  readonly provider: string;
  readonly modelId: string;
  #dimensions: number | undefined;
  readonly #client: OpenAI;
  readonly #config: OpenAICompatibleEmbeddingModelConfig;

  constructor(config: OpenAICompatibleEmbeddingModelConfig) {
    this.provider = config.provider ?? 'openai-compatible';
    this.modelId = config.model;
    this.#dimensions = config.dimensions;
    this.#config = config;
    this.#client = new OpenAI({
      baseURL: config.baseURL,
      apiKey: config.apiKey ?? 'not-needed',
      timeout: config.timeoutMs ?? 60_000,
      maxRetries: config.maxRetries ?? 2,
      ...(config.headers ? { defaultHeaders: config.headers } : {}),
      ...(config.fetch ? { fetch: config.fetch } : {}),
    });
  }

  get dimensions(): number | undefined {
    return this.#dimensions;
  }

  async embed(texts: string[], options: EmbedOptions = {}): Promise<EmbedResult> {
    assertTexts(texts, this.provider);
    if (texts.length === 0) return { embeddings: [], usage: { tokens: 0 } };
    try {
      throwIfAborted(options.abortSignal, this.provider);
      const response = await this.#client.embeddings.create(
        {
          model: this.#config.model,
          input: texts,
          // Explicit floats: several local servers do not implement the client's base64 default.
          encoding_format: 'float',
          ...(this.#config.dimensions ? { dimensions: this.#config.dimensions } : {}),
        },
        {
          ...(options.abortSignal ? { signal: options.abortSignal } : {}),
          ...(options.headers ? { headers: options.headers } : {}),
        },
      );
      const embeddings = [...response.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
      this.#dimensions ??= embeddings[0]?.length;
      return { embeddings, usage: { tokens: response.usage?.prompt_tokens } };
    } catch (error) {
      if (options.abortSignal?.aborted)
        throw new ModelAbortedError(undefined, { provider: this.provider, cause: error });
      throw asModelError(error, (cause) =>
        toModelError(cause, { provider: this.provider, model: this.modelId, baseURL: this.#config.baseURL }),
      );
    }
  }
}

/**
 * Creates an embedding model on an OpenAI-compatible server.
 *
 * @example
 * const embedder = createOpenAICompatibleEmbeddingModel({ baseURL: 'http://127.0.0.1:11434/v1', model: 'nomic-embed-text' });
 * const { embeddings } = await embedder.embed(['会議', 'meeting']);
 */
export function createOpenAICompatibleEmbeddingModel(
  config: OpenAICompatibleEmbeddingModelConfig,
): OpenAICompatibleEmbeddingModel {
  return new OpenAICompatibleEmbeddingModel(config);
}
