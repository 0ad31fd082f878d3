/**
 * Per-call options of `embed`.
 *
 * @example
 * await embedder.embed(texts, { abortSignal: AbortSignal.timeout(5_000) });
 */
export interface EmbedOptions {
  /** @example { abortSignal: controller.signal } */
  abortSignal?: AbortSignal;
  /** Extra HTTP headers for backends that speak HTTP. @example { 'x-request-id': 'r-1' } */
  headers?: Record<string, string>;
}

/**
 * The vectors of one `embed` call, in the order of the texts.
 *
 * @example
 * const { embeddings: [query] } = await embedder.embed(['会議の議事録']);
 */
export interface EmbedResult {
  /** One vector per input text. @example [[0.12, -0.03, …]] */
  embeddings: number[][];
  /** Tokens the backend counted over all texts, `undefined` when it did not say. @example { tokens: 9 } */
  usage: { tokens: number | undefined };
}

/**
 * A text embedding model: turns texts into vectors for semantic search.
 *
 * @example
 * const embedder: EmbeddingModel = createOpenAICompatibleEmbeddingModel({ baseURL, model: 'nomic-embed-text' });
 * const { embeddings } = await embedder.embed(['こんにちは', 'hello']);
 */
export interface EmbeddingModel {
  /**
   * The version of this interface the backend implements; it changes when the port changes shape.
   *
   * @example
   * if (embedder.specificationVersion !== 'v1') throw new Error(`unsupported embedder ${embedder.provider}`);
   */
  readonly specificationVersion: 'v1';
  /** The backend kind. @example 'transformers' */
  readonly provider: string;
  /** The model as the backend names it. @example 'intfloat/multilingual-e5-small' */
  readonly modelId: string;
  /**
   * Length of each vector; `undefined` until the first call when the backend does not say in advance.
   *
   * @example
   * await vectorIndex.create({ dimensions: embedder.dimensions ?? 384 });
   */
  readonly dimensions: number | undefined;

  /**
   * Embeds the texts, one vector each, in their order; the same text gives the same vector. An empty list
   * gives an empty result without asking the backend.
   *
   * @throws ModelError (a subclass of it) when the call fails or is aborted; `ModelInputError` when a text is
   * not a string.
   * @example
   * const { embeddings, usage } = await embedder.embed(['first', 'second']);
   */
  embed(texts: string[], options?: EmbedOptions): Promise<EmbedResult>;
}
