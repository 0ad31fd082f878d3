import { KaiwaError } from '../errors.js';

/** Where a chunk came from: a chat message (or a group of messages in a thread) or an uploaded file. */
export type KnowledgeSourceType = 'message' | 'file';

/**
 * A vector index: one embedding model, one dimension. Every vector written to it and every query vector
 * must come from that model, so one ranking never mixes the vectors of two models.
 *
 * @example
 * await vectors.ensureIndex({ name: 'knowledge', model: 'transformers:Xenova/multilingual-e5-small', dimensions: 384 });
 */
export interface VectorIndexDefinition {
  /** Unique per store; 1–128 characters. @example 'knowledge' */
  name: string;
  /** The embedding model, as `provider:modelId`. @example 'openai-compatible:nomic-embed-text' */
  model: string;
  /** Length of every vector in the index. @example 384 */
  dimensions: number;
}

export interface VectorIndex extends VectorIndexDefinition {
  createdAt: string;
}

/** A chunk's text and where it came from, for citations and for the permission filter. */
export interface KnowledgeChunk {
  /** Unique within its index; a second upsert of the same id replaces it. @example 'file:01J…:3' */
  id: string;
  sourceType: KnowledgeSourceType;
  /** The message id (the first message of a group) or the file id. */
  sourceId: string;
  /** The room it was said or uploaded in. A chunk is readable by whoever reads this room. */
  roomId?: string | null;
  /** The project of a project file. */
  projectId?: string | null;
  /** The file, for file chunks. */
  fileId?: string | null;
  /** 1-based page of a paged document (PDF). */
  page?: number | null;
  text: string;
  /** Anything the caller wants back with a match (heading path, message ids…): JSON. */
  metadata: Record<string, unknown>;
}

/** A chunk with its vector, as written. */
export interface VectorChunk extends KnowledgeChunk {
  vector: readonly number[];
  /**
   * What the full-text search indexes when it is more than `text`, e.g. the document's name and the
   * chunk's headings in front of it; `text` when absent. Not returned with the chunk. Only a document
   * chunk's is indexed (see `VectorStore.searchText`).
   */
  fullText?: string;
}

/**
 * What a query may see. A chunk passes when its `roomId`, `fileId` or `projectId` is in the matching list;
 * chunks that pass nothing are never ranked. Empty or missing lists allow nothing, so forgetting the filter
 * returns nothing rather than everything.
 */
export interface VectorFilter {
  roomIds?: readonly string[];
  fileIds?: readonly string[];
  projectIds?: readonly string[];
  /** Only chunks of this kind of source. */
  sourceType?: KnowledgeSourceType;
}

export interface VectorQuery {
  index: string;
  /** The model that embedded `vector`; must be the index's. */
  model: string;
  vector: readonly number[];
  /** How many neighbours, 1–1000. */
  k: number;
  filter: VectorFilter;
}

export interface VectorMatch {
  chunk: KnowledgeChunk;
  /** Cosine distance, 0 (same direction) to 2 (opposite). */
  distance: number;
}

/** A full-text query over an index's document chunks: any of its words, best matches first. */
export interface TextSearchQuery {
  index: string;
  /**
   * The words to look for, tokenised as the chat's message search does (core's `searchTerms`): a chunk
   * matches when it holds any of them, and ranks higher the more (and the rarer) it holds.
   */
  text: string;
  /** How many chunks, 1–1000. */
  k: number;
  filter: VectorFilter;
}

export interface TextMatch {
  chunk: KnowledgeChunk;
  /** The database's relevance (BM25 on SQLite, `ts_rank` on PostgreSQL, InnoDB's on MariaDB): higher is better, comparable only within one answer. */
  score: number;
}

/** What a vector store can do, so callers and the contract suite know what to expect. */
export interface VectorStoreCapabilities {
  /**
   * `exact` ranks every allowed vector; `approximate` uses an index (HNSW) and may miss a true neighbour
   * (never returns a chunk outside the filter).
   */
  readonly search: 'exact' | 'approximate';
  /** How the search runs, for logs and docs. @example 'sqlite-vec' */
  readonly engine: string;
}

/**
 * Vectors of knowledge chunks, with their text and source, and nearest-neighbour search over them. The
 * permission filter is applied before ranking: a chunk outside it is never a candidate, however near.
 *
 * @example
 * await vectors.ensureIndex({ name: 'knowledge', model: 'test:hashed', dimensions: 64 });
 * await vectors.replaceSource('knowledge', { sourceType: 'file', sourceId: file.id }, chunks);
 * const matches = await vectors.query({ index: 'knowledge', model: 'test:hashed', vector, k: 10,
 *   filter: { roomIds: readableRoomIds } });
 */
export interface VectorStore {
  /** What this store can do on its database. @example const { search } = await vectors.capabilities(); */
  capabilities(): Promise<VectorStoreCapabilities>;

  /**
   * Creates the index, or returns it when it exists with the same model and dimension.
   *
   * @throws VectorIndexMismatchError when it exists with another model or dimension.
   * @example
   * const index = await vectors.ensureIndex({ name: 'knowledge', model, dimensions: 384 });
   */
  ensureIndex(definition: VectorIndexDefinition): Promise<VectorIndex>;

  /** @example const index = await vectors.getIndex('knowledge'); */
  getIndex(name: string): Promise<VectorIndex | undefined>;

  /**
   * Writes the chunks, replacing chunks of the same id.
   *
   * @throws NotFoundError when the index does not exist; VectorIndexMismatchError when a vector's length is
   * not the index's dimension.
   * @example
   * await vectors.upsert('knowledge', [{ id: 'm:1', sourceType: 'message', sourceId, roomId, text, metadata: {}, vector }]);
   */
  upsert(index: string, chunks: readonly VectorChunk[]): Promise<void>;

  /**
   * Replaces every chunk of one source with `chunks`, all or nothing: a reader sees the old chunks or the
   * new ones, never a half-indexed source.
   *
   * @example
   * await vectors.replaceSource('knowledge', { sourceType: 'file', sourceId: file.id }, chunks);
   */
  replaceSource(
    index: string,
    source: { sourceType: KnowledgeSourceType; sourceId: string },
    chunks: readonly VectorChunk[],
  ): Promise<void>;

  /**
   * Deletes every chunk of one source and returns how many there were.
   *
   * @example
   * await vectors.deleteBySource('knowledge', { sourceType: 'message', sourceId: message.id });
   */
  deleteBySource(
    index: string,
    source: { sourceType: KnowledgeSourceType; sourceId: string },
  ): Promise<number>;

  /**
   * Deletes every chunk said or uploaded in one room (of one source type when given) and returns how many
   * there were: what a room's knowledge being turned off, or the room being deleted, leaves behind.
   *
   * @example
   * await vectors.deleteByRoom('knowledge', { roomId: room.id, sourceType: 'message' });
   */
  deleteByRoom(index: string, room: { roomId: string; sourceType?: KnowledgeSourceType }): Promise<number>;

  /**
   * The `k` chunks nearest to `vector` among those `filter` allows, nearest first.
   *
   * @throws VectorIndexMismatchError when `model` or the vector's length is not the index's;
   * NotFoundError when the index does not exist.
   * @example
   * const matches = await vectors.query({ index: 'knowledge', model, vector, k: 10, filter: { roomIds } });
   */
  query(query: VectorQuery): Promise<VectorMatch[]>;

  /**
   * The `k` document chunks whose text best matches `query.text` among those `filter` allows, best first:
   * the database's own full-text search (FTS5 on SQLite, tsvector on PostgreSQL, FULLTEXT on MariaDB/MySQL)
   * over each document chunk's `fullText` (or `text`). Only document chunks (`sourceType: 'file'`) are
   * searched by text: a message chunk is never returned, whatever its words and the filter, so a store need
   * not index its text (retrieval searches messages with the chat's own message search, which sees an edit
   * at once). The filter is part of the search: a chunk outside it is never ranked. A query with no words
   * finds nothing.
   *
   * @throws NotFoundError when the index does not exist.
   * @example
   * const matches = await vectors.searchText({ index: 'knowledge', text: 'backup schedule', k: 20, filter: { roomIds } });
   */
  searchText(query: TextSearchQuery): Promise<TextMatch[]>;

  /** How many chunks the index holds. @example await vectors.count('knowledge') */
  count(index: string): Promise<number>;

  /** Every index of the store, oldest first. @example const old = (await vectors.listIndexes()).filter((index) => index.model !== model); */
  listIndexes(): Promise<VectorIndex[]>;

  /**
   * Deletes an index with its chunks and whatever the database kept for searching them, all or nothing:
   * what is left once every source has been indexed again with a new embedding model.
   *
   * @returns whether there was such an index.
   * @example
   * await vectors.dropIndex('knowledge:openai-compatible:old-model');
   */
  dropIndex(name: string): Promise<boolean>;
}

/** Storage that holds knowledge vectors: what `@kaiwa/store-kysely`'s `knowledge` module provides. */
export interface KnowledgeStorage {
  knowledge: VectorStore;
}

/**
 * A vector or query from another embedding model (or of another length) than the index was made for.
 * Vectors of two models are not comparable: re-index with the new model instead.
 *
 * @example
 * if (VectorIndexMismatchError.isInstance(error)) await reindex(error.index.model);
 */
export class VectorIndexMismatchError extends KaiwaError {
  readonly index: VectorIndexDefinition;
  readonly given: { model?: string; dimensions: number };

  constructor(index: VectorIndexDefinition, given: { model?: string; dimensions: number }) {
    const what =
      given.model !== undefined && given.model !== index.model
        ? `model ${given.model}`
        : `${given.dimensions} dimensions`;
    super(
      'conflict',
      `vector index '${index.name}' holds ${index.dimensions}-dimension vectors of ${index.model}, not ${what}: query with the index's model or re-index`,
    );
    this.name = 'VectorIndexMismatchError';
    this.index = index;
    this.given = given;
  }

  static override isInstance(value: unknown): value is VectorIndexMismatchError {
    return KaiwaError.isInstance(value) && (value as Error).name === 'VectorIndexMismatchError';
  }
}
