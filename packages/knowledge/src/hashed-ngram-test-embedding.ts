import type { EmbeddingModel, EmbedResult } from '@kaiwa/core';

/**
 * A **test embedding, not a model**: each text becomes the normalised counts of its character trigrams
 * (and, for Chinese, Japanese and Korean, bigrams), hashed into `dimensions` buckets. It is a real function
 * of the text — texts that share words are near, unrelated texts are far — so retrieval can be tested end
 * to end without model weights, but it knows no meaning: synonyms and translations are far apart. Use a
 * real embedding model (OpenAI-compatible, transformers.js) for anything but tests and benchmarks.
 *
 * @example
 * const embedder = createHashedNgramTestEmbedding({ dimensions: 256 });
 * const { embeddings } = await embedder.embed(['database backup', 'backing up the database']);
 */
export function createHashedNgramTestEmbedding(options: { dimensions?: number } = {}): EmbeddingModel {
  const dimensions = options.dimensions ?? 256;
  return {
    specificationVersion: 'v1',
    provider: 'test',
    modelId: `hashed-ngrams-${dimensions}`,
    dimensions,
    async embed(texts: string[]): Promise<EmbedResult> {
      return { embeddings: texts.map((text) => embedText(text, dimensions)), usage: { tokens: undefined } };
    },
  };
}

function embedText(text: string, dimensions: number): number[] {
  const vector = new Float64Array(dimensions);
  const normalised = ` ${text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()} `;
  const characters = [...normalised];
  const add = (gram: string) => {
    let hash = 0x811c9dc5;
    for (let index = 0; index < gram.length; index++)
      hash = Math.imul(hash ^ gram.charCodeAt(index), 0x01000193);
    // The top bit picks a sign, so collisions cancel out on average instead of piling up.
    const bucket = (hash >>> 1) % dimensions;
    vector[bucket] = (vector[bucket] as number) + (hash & 1 ? 1 : -1);
  };
  for (let index = 0; index + 3 <= characters.length; index++)
    add(characters.slice(index, index + 3).join(''));
  for (let index = 0; index + 2 <= characters.length; index++) {
    const pair = characters.slice(index, index + 2).join('');
    if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(pair)) add(pair);
  }
  let norm = 0;
  for (const value of vector) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  return Array.from(vector, (value) => value / norm);
}
