import {
  type KnowledgeChunk,
  type KnowledgeSourceType,
  NotFoundError,
  searchDocument,
  type TextMatch,
  type TextSearchQuery,
  ValidationError,
  type VectorChunk,
  type VectorIndex,
  type VectorIndexDefinition,
  VectorIndexMismatchError,
  type VectorMatch,
  type VectorQuery,
  type VectorStore,
  type VectorStoreCapabilities,
} from '@kaiwa/core';
import type { Kysely, Selectable } from 'kysely';
import type { KaiwaDatabase, KnowledgeChunksTable, KnowledgeIndexesTable } from '../../database.js';
import type { StoreDialectAdapter } from '../../dialect/index.js';
import type { RepositoryContext } from '../repository-context.js';
import type { ChunkSelection, ChunkTextSearch } from './text-search.js';
import { type VectorSearch, vectorBytes } from './vector-search.js';

type Db = Kysely<KaiwaDatabase>;

/** Rows per INSERT: under SQLite's and MariaDB's limits on bound values (12 columns a row). */
const INSERT_BATCH = 200;

/**
 * `VectorStore` on the kysely store's own database: chunks and their vectors live in `knowledge_chunks`,
 * beside the chat data they came from, so one backup holds both. Nearest-neighbour search is the
 * database's own where it has one (sqlite-vec, pgvector) and an exact scan in the application otherwise
 * (`VectorSearch`). The permission filter is a WHERE condition of the search itself: a chunk outside it is
 * never a candidate. Each document chunk's text is also in the database's full-text index (`ChunkTextSearch`),
 * written and deleted in the same statements' transaction; message chunks are not (`searchText` never finds
 * them). Writes of several rows are one transaction (or run inside the caller's).
 */
export class KyselyVectorStore implements VectorStore {
  readonly #db: Db;
  readonly #search: VectorSearch;
  readonly #text: ChunkTextSearch;
  readonly #adapter: StoreDialectAdapter;

  constructor(context: RepositoryContext, search: VectorSearch, text: ChunkTextSearch) {
    this.#db = context.db;
    this.#adapter = context.adapter;
    this.#search = search;
    this.#text = text;
  }

  capabilities(): Promise<VectorStoreCapabilities> {
    return this.#search.capabilities(this.#db);
  }

  async ensureIndex(definition: VectorIndexDefinition): Promise<VectorIndex> {
    if (
      typeof definition.name !== 'string' ||
      definition.name.length === 0 ||
      definition.name.length > 128 ||
      !Number.isInteger(definition.dimensions) ||
      definition.dimensions < 1 ||
      definition.dimensions > 16_000 ||
      !definition.model
    ) {
      throw ValidationError.field('index', 'give a name of 1–128 characters, a model and 1–16000 dimensions');
    }
    let index = await this.getIndex(definition.name);
    if (!index) {
      const row = {
        name: definition.name,
        model: definition.model,
        dimensions: definition.dimensions,
        created_at: new Date().toISOString(),
      };
      // Two racing creators: the second inserts nothing and reads the first one's index.
      await this.#adapter.insertOnce(this.#db, {
        table: 'knowledge_indexes',
        row,
        key: { name: 'knowledge_indexes_pkey', columns: ['name'] },
      });
      index = (await this.getIndex(definition.name)) as VectorIndex;
    }
    if (index.model !== definition.model || index.dimensions !== definition.dimensions)
      throw new VectorIndexMismatchError(index, {
        model: definition.model,
        dimensions: definition.dimensions,
      });
    await this.#search.prepareIndex(this.#db, index);
    return index;
  }

  async getIndex(name: string): Promise<VectorIndex | undefined> {
    const row = await this.#db
      .selectFrom('knowledge_indexes')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? indexFromRow(row) : undefined;
  }

  upsert(index: string, chunks: readonly VectorChunk[]): Promise<void> {
    return this.#atomically(async (db) => {
      const definition = await this.#index(db, index);
      await this.#write(db, definition, chunks, true);
    });
  }

  replaceSource(
    index: string,
    source: { sourceType: KnowledgeSourceType; sourceId: string },
    chunks: readonly VectorChunk[],
  ): Promise<void> {
    return this.#atomically(async (db) => {
      const definition = await this.#index(db, index);
      await this.#deleteSource(db, index, source);
      await this.#write(db, definition, chunks, false);
    });
  }

  async deleteBySource(
    index: string,
    source: { sourceType: KnowledgeSourceType; sourceId: string },
  ): Promise<number> {
    return this.#atomically(async (db) => {
      await this.#index(db, index);
      return this.#deleteSource(db, index, source);
    });
  }

  deleteByRoom(index: string, room: { roomId: string; sourceType?: KnowledgeSourceType }): Promise<number> {
    return this.#atomically(async (db) => {
      const definition = await this.#index(db, index);
      let select = db
        .selectFrom('knowledge_chunks')
        .select('id')
        .where('index_name', '=', index)
        .where('room_id', '=', room.roomId);
      if (room.sourceType) select = select.where('source_type', '=', room.sourceType);
      const ids = (await select.execute()).map((row) => row.id);
      for (let start = 0; start < ids.length; start += INSERT_BATCH) {
        const batch = ids.slice(start, start + INSERT_BATCH);
        await this.#forget(db, definition, { ids: batch });
        await db
          .deleteFrom('knowledge_chunks')
          .where('index_name', '=', index)
          .where('id', 'in', batch)
          .execute();
      }
      return ids.length;
    });
  }

  async query(query: VectorQuery): Promise<VectorMatch[]> {
    const index = await this.#index(this.#db, query.index);
    if (query.model !== index.model || query.vector.length !== index.dimensions)
      throw new VectorIndexMismatchError(index, { model: query.model, dimensions: query.vector.length });
    if (!Number.isInteger(query.k) || query.k < 1 || query.k > 1000)
      throw ValidationError.field('k', 'must be an integer from 1 to 1000');
    const neighbours = await this.#search.nearest(
      this.#db,
      index,
      Float32Array.from(query.vector),
      query.k,
      query.filter,
    );
    const byId = await this.#chunks(
      index,
      neighbours.map((neighbour) => neighbour.id),
    );
    return neighbours.flatMap(({ id, distance }) => {
      const chunk = byId.get(id);
      return chunk ? [{ chunk, distance }] : [];
    });
  }

  async searchText(query: TextSearchQuery): Promise<TextMatch[]> {
    const index = await this.#index(this.#db, query.index);
    if (!Number.isInteger(query.k) || query.k < 1 || query.k > 1000)
      throw ValidationError.field('k', 'must be an integer from 1 to 1000');
    if (typeof query.text !== 'string' || query.text.length > 10_000)
      throw ValidationError.field('text', 'give a text of at most 10000 characters');
    const hits = await this.#text.search(this.#db, index, query.text, query.k, query.filter);
    const byId = await this.#chunks(
      index,
      hits.map((hit) => hit.id),
    );
    return hits.flatMap(({ id, score }) => {
      const chunk = byId.get(id);
      return chunk ? [{ chunk, score }] : [];
    });
  }

  async listIndexes(): Promise<VectorIndex[]> {
    const rows = await this.#db
      .selectFrom('knowledge_indexes')
      .selectAll()
      .orderBy('created_at')
      .orderBy('name')
      .execute();
    return rows.map(indexFromRow);
  }

  dropIndex(name: string): Promise<boolean> {
    return this.#atomically(async (db) => {
      const row = await db
        .selectFrom('knowledge_indexes')
        .selectAll()
        .where('name', '=', name)
        .executeTakeFirst();
      if (!row) return false;
      const index = indexFromRow(row);
      await this.#text.deleting(db, index, { all: true });
      await db.deleteFrom('knowledge_chunks').where('index_name', '=', name).execute();
      await db.deleteFrom('knowledge_indexes').where('name', '=', name).execute();
      await this.#search.dropping(db, index);
      return true;
    });
  }

  /** The chunks of these ids, by id. */
  async #chunks(index: VectorIndex, ids: readonly string[]): Promise<Map<string, KnowledgeChunk>> {
    if (ids.length === 0) return new Map();
    const rows = await this.#db
      .selectFrom('knowledge_chunks')
      .select([
        'id',
        'source_type',
        'source_id',
        'room_id',
        'project_id',
        'file_id',
        'page',
        'text',
        'metadata',
      ])
      .where('index_name', '=', index.name)
      .where('id', 'in', [...ids])
      .execute();
    return new Map(rows.map((row) => [row.id, chunkFromRow(row)]));
  }

  async count(index: string): Promise<number> {
    const row = await this.#db
      .selectFrom('knowledge_chunks')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('index_name', '=', index)
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async #index(db: Db, name: string): Promise<VectorIndex> {
    const row = await db
      .selectFrom('knowledge_indexes')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('vector index', name);
    return indexFromRow(row);
  }

  async #deleteSource(
    db: Db,
    index: string,
    source: { sourceType: KnowledgeSourceType; sourceId: string },
  ): Promise<number> {
    await this.#forget(db, await this.#index(db, index), source);
    const result = await db
      .deleteFrom('knowledge_chunks')
      .where('index_name', '=', index)
      .where('source_type', '=', source.sourceType)
      .where('source_id', '=', source.sourceId)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async #write(db: Db, index: VectorIndex, chunks: readonly VectorChunk[], replace: boolean): Promise<void> {
    const rows = chunks.map((chunk) => {
      if (chunk.vector.length !== index.dimensions)
        throw new VectorIndexMismatchError(index, { dimensions: chunk.vector.length });
      return { chunk, vector: Float32Array.from(chunk.vector) };
    });
    if (rows.length === 0) return;
    if (replace) {
      const ids = rows.map(({ chunk }) => chunk.id);
      await this.#forget(db, index, { ids });
      for (let start = 0; start < ids.length; start += INSERT_BATCH) {
        await db
          .deleteFrom('knowledge_chunks')
          .where('index_name', '=', index.name)
          .where('id', 'in', ids.slice(start, start + INSERT_BATCH))
          .execute();
      }
    }
    const vectorColumns = await this.#search.vectorColumns(db);
    for (let start = 0; start < rows.length; start += INSERT_BATCH) {
      const batch = rows.slice(start, start + INSERT_BATCH);
      // Only document chunks are searched by text: retrieval finds messages through the chat's own search.
      const documents = batch.map(({ chunk }) =>
        chunk.sourceType === 'message' ? '' : searchDocument(chunk.fullText ?? chunk.text),
      );
      const searchValues = await this.#text.rowValues(db, documents);
      await db
        .insertInto('knowledge_chunks')
        .values(
          batch.map(({ chunk, vector }, position) => ({
            index_name: index.name,
            id: chunk.id,
            source_type: chunk.sourceType,
            source_id: chunk.sourceId,
            room_id: chunk.roomId ?? null,
            project_id: chunk.projectId ?? null,
            file_id: chunk.fileId ?? null,
            page: chunk.page ?? null,
            text: chunk.text,
            metadata: JSON.stringify(chunk.metadata ?? {}),
            embedding: vectorBytes(vector),
            ...vectorColumns?.(vector),
            ...searchValues[position],
          })),
        )
        .execute();
      await this.#text.written(
        db,
        documents.map((document, position) => ({ document, values: searchValues[position] ?? {} })),
      );
      await this.#search.written(
        db,
        index,
        batch.map(({ chunk, vector }) => ({
          id: chunk.id,
          sourceType: chunk.sourceType,
          roomId: chunk.roomId ?? null,
          fileId: chunk.fileId ?? null,
          projectId: chunk.projectId ?? null,
          vector,
        })),
      );
    }
  }

  /** Takes chunks about to be deleted out of the vector search's and the text search's own structures. */
  async #forget(db: Db, index: VectorIndex, which: Exclude<ChunkSelection, { all: true }>): Promise<void> {
    await this.#search.deleting(db, index, which);
    await this.#text.deleting(db, index, which);
  }

  #atomically<T>(work: (db: Db) => Promise<T>): Promise<T> {
    return this.#db.isTransaction ? work(this.#db) : this.#db.transaction().execute(work);
  }
}

function indexFromRow(row: Selectable<KnowledgeIndexesTable>): VectorIndex {
  return {
    name: row.name,
    model: row.model,
    dimensions: Number(row.dimensions),
    createdAt: row.created_at,
  };
}

function chunkFromRow(
  row: Pick<
    Selectable<KnowledgeChunksTable>,
    'id' | 'source_type' | 'source_id' | 'room_id' | 'project_id' | 'file_id' | 'page' | 'text' | 'metadata'
  >,
): KnowledgeChunk {
  return {
    id: row.id,
    sourceType: row.source_type as KnowledgeSourceType,
    sourceId: row.source_id,
    roomId: row.room_id,
    projectId: row.project_id,
    fileId: row.file_id,
    page: row.page === null ? null : Number(row.page),
    text: row.text,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
  };
}
