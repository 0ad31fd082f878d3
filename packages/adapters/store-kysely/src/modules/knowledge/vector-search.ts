import type { StoreDialect, VectorFilter, VectorIndex, VectorStoreCapabilities } from '@kaiwa/core';
import { type Expression, type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { KaiwaDatabase } from '../../database.js';

type Db = Kysely<KaiwaDatabase>;

/** A neighbour found by a search: the chunk's id and its cosine distance. */
export interface Neighbour {
  id: string;
  distance: number;
}

/**
 * How one database finds nearest neighbours: one object per database, chosen once (see `vectorSearchFor`),
 * so the repository never asks which database it is on.
 */
export interface VectorSearch {
  /** What this database can do, found out once per store. */
  capabilities(db: Db): Promise<VectorStoreCapabilities>;
  /** Makes what a new index needs (pgvector's HNSW index); called by `ensureIndex`. */
  prepareIndex(db: Db, index: VectorIndex): Promise<void>;
  /**
   * The database's own vector column for a row being inserted, when it has one (pgvector's
   * `embedding_vector`); `undefined` when the portable bytes are all there is.
   */
  vectorColumns(
    db: Db,
  ): Promise<((vector: Float32Array) => { embedding_vector: RawBuilder<string> }) | undefined>;
  /** Mirrors chunks just written (after an insert) where the database keeps vectors apart (sqlite-vec's vec0). */
  written(db: Db, index: VectorIndex, rows: readonly WrittenVector[]): Promise<void>;
  /** Forgets chunks about to be deleted: by id, or every chunk of one source. */
  deleting(
    db: Db,
    index: VectorIndex,
    which: { ids: readonly string[] } | { sourceType: string; sourceId: string },
  ): Promise<void>;
  /** Removes what the database kept apart for an index being dropped (vec0 table, HNSW index). */
  dropping(db: Db, index: VectorIndex): Promise<void>;
  /** The `k` nearest allowed chunks, nearest first. */
  nearest(
    db: Db,
    index: VectorIndex,
    vector: Float32Array,
    k: number,
    filter: VectorFilter,
  ): Promise<Neighbour[]>;
}

/** A chunk as the vector search needs it. */
export interface WrittenVector {
  id: string;
  sourceType: string;
  roomId: string | null;
  fileId: string | null;
  projectId: string | null;
  vector: Float32Array;
}

/** The vector as stored on every database: little-endian float32 bytes. */
export function vectorBytes(vector: Float32Array): Buffer {
  // A Buffer: better-sqlite3 binds Buffers, not plain Uint8Arrays.
  const bytes = Buffer.alloc(vector.length * 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let index = 0; index < vector.length; index++)
    view.setFloat32(index * 4, vector[index] as number, true);
  return bytes;
}

function vectorFromBytes(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vector = new Float32Array(bytes.byteLength / 4);
  for (let index = 0; index < vector.length; index++) vector[index] = view.getFloat32(index * 4, true);
  return vector;
}

/**
 * The permission filter as a WHERE condition: a chunk passes when its room, file or project is listed.
 * `undefined` when nothing is listed: the caller then returns nothing without asking the database.
 */
export function filterCondition(filter: VectorFilter): Expression<SqlBool> | undefined {
  const allowed: Expression<SqlBool>[] = [];
  const list = (column: string, ids: readonly string[] | undefined) => {
    if (ids && ids.length > 0)
      allowed.push(
        sql<SqlBool>`${sql.ref(`knowledge_chunks.${column}`)} in (${sql.join(ids.map((id) => sql.val(id)))})`,
      );
  };
  list('room_id', filter.roomIds);
  list('file_id', filter.fileIds);
  list('project_id', filter.projectIds);
  if (allowed.length === 0) return undefined;
  const any = sql<SqlBool>`(${sql.join(allowed, sql` or `)})`;
  return filter.sourceType
    ? sql<SqlBool>`(${any} and knowledge_chunks.source_type = ${filter.sourceType})`
    : any;
}

/**
 * Exact search in the application: reads the allowed chunks' vectors and ranks them with a dot product.
 * Every allowed vector crosses the wire on each query (1.5 KB per 384-dimension chunk), so it suits a few
 * tens of thousands of allowed chunks; MariaDB before 11.7 has no vector type, and it is the fallback
 * where no vector extension is loaded.
 */
export class ApplicationExactSearch implements VectorSearch {
  readonly #engine: string;

  constructor(engine = 'application exact') {
    this.#engine = engine;
  }

  async capabilities(): Promise<VectorStoreCapabilities> {
    return { search: 'exact', engine: this.#engine };
  }

  async prepareIndex(): Promise<void> {}

  async vectorColumns(): Promise<undefined> {
    return undefined;
  }

  async written(): Promise<void> {}

  async deleting(): Promise<void> {}

  async dropping(): Promise<void> {}

  async nearest(db: Db, index: VectorIndex, vector: Float32Array, k: number, filter: VectorFilter) {
    const condition = filterCondition(filter);
    if (!condition) return [];
    const rows = await db
      .selectFrom('knowledge_chunks')
      .select(['id', 'embedding'])
      .where('index_name', '=', index.name)
      .where(condition)
      .execute();
    const queryNorm = Math.sqrt(dot(vector, vector)) || 1;
    const best: Neighbour[] = [];
    for (const row of rows) {
      const candidate = vectorFromBytes(toBytes(row.embedding));
      const distance = 1 - dot(candidate, vector) / ((Math.sqrt(dot(candidate, candidate)) || 1) * queryNorm);
      if (best.length < k || distance < (best.at(-1) as Neighbour).distance) {
        // Insertion into a short sorted list: k is small next to the corpus.
        let position = best.length;
        while (position > 0 && (best[position - 1] as Neighbour).distance > distance) position--;
        best.splice(position, 0, { id: row.id, distance });
        if (best.length > k) best.pop();
      }
    }
    return best;
  }
}

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] as number) * (b[index] as number);
  return sum;
}

function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw new TypeError(`unexpected vector column of type ${typeof value}`);
}

/** Per store, whether its vector extension is usable: found out once, forgotten when an index is prepared. */
const probes = new WeakMap<object, Promise<unknown>>();

/** A store and its transactions share their kysely dialect adapter; each store has its own. */
const storeKey = (db: Db) => db.getExecutor().adapter;

function probeOnce<T>(db: Db, probe: () => Promise<T>, otherwise: T): Promise<T> {
  let answer = probes.get(storeKey(db)) as Promise<T> | undefined;
  if (!answer) {
    answer = probe().catch(() => otherwise);
    probes.set(storeKey(db), answer);
  }
  return answer;
}

/**
 * SQLite with sqlite-vec loaded into the connection (`createSqliteStore` loads it when the `sqlite-vec`
 * package is installed). A selective filter is an exact scan with `vec_distance_cosine` over the allowed
 * rows; a broad one, by default, a coarse Hamming pass over the vectors' signs (one bit per dimension in a
 * table of their own beside the float vec0 table, for indexes of 64 dimensions or more) and an exact rerank
 * of its candidates, which may miss a true neighbour (recall 1.000 at k = 10 and 32 in
 * bench:rag:sqlite-quantized); with `quantized: false`, or for an index made before the signs table came,
 * an exact vec0 KNN. Without sqlite-vec it falls back to the exact search in the application.
 */
export class SqliteVecSearch implements VectorSearch {
  readonly #fallback = new ApplicationExactSearch('application exact (sqlite-vec not loaded)');
  readonly #selectiveFilterRows: number;
  readonly #quantized: boolean;
  readonly #quantizedMinDimensions: number;

  /**
   * @param options.selectiveFilterRows up to this many allowed chunks, scan them instead of asking vec0.
   * @param options.quantized whether a broad filter searches the binary-quantized table first (default on).
   * @param options.quantizedMinDimensions indexes of fewer dimensions get no signs table (tests lower it).
   */
  constructor(options: SqliteVecSearchOptions = {}) {
    this.#selectiveFilterRows = options.selectiveFilterRows ?? SELECTIVE_FILTER_ROWS;
    this.#quantized = options.quantized ?? true;
    this.#quantizedMinDimensions = options.quantizedMinDimensions ?? QUANTIZED_MIN_DIMENSIONS;
  }

  #loaded(db: Db): Promise<boolean> {
    return probeOnce(
      db,
      async () => {
        await sql`select vec_version()`.execute(db);
        return true;
      },
      false,
    );
  }

  /**
   * The index's vector tables that exist, when sqlite-vec is loaded (one cheap catalogue read): the float
   * vectors' vec0 table (`exact`) and the table of their signs (`quantized`, made by `prepareIndex` since
   * the quantized search came; an index prepared before has none until its next `ensureIndex`, and is
   * searched exactly meanwhile).
   */
  async #tables(db: Db, index: VectorIndex): Promise<{ exact?: string; quantized?: string }> {
    if (!(await this.#loaded(db))) return {};
    const exact = vec0TableName(index);
    const quantized = quantizedTableName(index);
    const { rows } = await sql<{ name: string }>`select name from sqlite_master
      where type = 'table' and name in (${exact}, ${quantized})`.execute(db);
    const names = new Set(rows.map((row) => row.name));
    return {
      ...(names.has(exact) ? { exact } : {}),
      ...(names.has(quantized) ? { quantized } : {}),
    };
  }

  async capabilities(db: Db): Promise<VectorStoreCapabilities> {
    if (!(await this.#loaded(db))) return this.#fallback.capabilities();
    return this.#quantized
      ? { search: 'approximate', engine: 'sqlite-vec (binary quantized, exact rerank)' }
      : { search: 'exact', engine: 'sqlite-vec' };
  }

  /**
   * Makes the index's vec0 table (vectors stored contiguously, with the filter's columns as metadata) and
   * fills in chunks written while sqlite-vec was not loaded.
   */
  async prepareIndex(db: Db, index: VectorIndex): Promise<void> {
    if (!(await this.#loaded(db))) return;
    const table = sql.id(vec0TableName(index));
    await sql`create virtual table if not exists ${table} using vec0(chunk_id text primary key,
      embedding float[${sql.raw(String(Math.trunc(index.dimensions)))}] distance_metric=cosine,
      source_type text, room_id text, file_id text, project_id text)`.execute(db);
    await sql`insert into ${table} (chunk_id, embedding, source_type, room_id, file_id, project_id)
      select id, embedding, source_type, coalesce(room_id, ''), coalesce(file_id, ''), coalesce(project_id, '')
      from knowledge_chunks where index_name = ${index.name}
      and id not in (select chunk_id from ${table})`.execute(db);
    if (index.dimensions < this.#quantizedMinDimensions) return;
    // One bit per dimension (its sign), 48 bytes for 384 dimensions: the coarse pass of a broad search. A
    // plain table, scanned in full: SQLite's sorter keeps the best candidates at a cost that hardly grows
    // with their number, where vec0's KNN grows with its k (measured in bench:rag:sqlite-quantized).
    const name = quantizedTableName(index);
    const existed = (await this.#tables(db, index)).quantized !== undefined;
    await sql`create table if not exists ${sql.id(name)} (chunk_id text primary key, source_type text not null,
      room_id text, file_id text, project_id text, signs blob not null)`.execute(db);
    // Rows of chunks deleted while sqlite-vec was not loaded (this object then sees no tables).
    if (existed)
      await sql`delete from ${sql.id(name)} where chunk_id not in
        (select id from knowledge_chunks where index_name = ${index.name})`.execute(db);
    // Chunks written before the table existed (every chunk of an index made by an earlier version), in
    // batches in key order.
    let after: string | undefined;
    for (;;) {
      const { rows } = await sql<WrittenVector & { embedding: Uint8Array }>`select id, embedding,
        source_type as "sourceType", room_id as "roomId", file_id as "fileId", project_id as "projectId"
        from knowledge_chunks where index_name = ${index.name}
        ${after === undefined ? sql`` : sql`and id > ${after}`}
        ${existed ? sql`and id not in (select chunk_id from ${sql.id(name)})` : sql``}
        order by id limit ${QUANTIZED_FILL_BATCH}`.execute(db);
      if (rows.length === 0) return;
      await this.#insertSigns(
        db,
        name,
        rows.map((row) => ({ ...row, vector: vectorFromBytes(toBytes(row.embedding)) })),
      );
      after = rows.at(-1)?.id;
    }
  }

  async vectorColumns(): Promise<undefined> {
    return undefined;
  }

  async written(db: Db, index: VectorIndex, rows: readonly WrittenVector[]): Promise<void> {
    // Replaced chunks were forgotten first (`deleting`), so these ids are new to the tables.
    if (rows.length === 0) return;
    const tables = await this.#tables(db, index);
    if (tables.exact !== undefined) {
      const values = rows.map(
        (row) =>
          sql`(${row.id}, ${vectorBytes(row.vector)}, ${row.sourceType}, ${row.roomId ?? ''}, ${row.fileId ?? ''}, ${row.projectId ?? ''})`,
      );
      await sql`insert into ${sql.id(tables.exact)} (chunk_id, embedding, source_type, room_id, file_id, project_id)
        values ${sql.join(values)}`.execute(db);
    }
    if (tables.quantized !== undefined) await this.#insertSigns(db, tables.quantized, rows);
  }

  /** The chunks' ids as they are in `knowledge_chunks` (nulls kept: the filter is the same condition). */
  async #insertSigns(db: Db, table: string, rows: readonly WrittenVector[]): Promise<void> {
    const values = rows.map(
      (row) =>
        sql`(${row.id}, ${row.sourceType}, ${row.roomId}, ${row.fileId}, ${row.projectId}, ${signs(row.vector)})`,
    );
    await sql`insert into ${sql.id(table)} (chunk_id, source_type, room_id, file_id, project_id, signs)
      values ${sql.join(values)}`.execute(db);
  }

  async deleting(
    db: Db,
    index: VectorIndex,
    which: { ids: readonly string[] } | { sourceType: string; sourceId: string },
  ): Promise<void> {
    const tables = await this.#tables(db, index);
    for (const table of [tables.exact, tables.quantized]) {
      if (table === undefined) continue;
      if ('ids' in which) {
        if (which.ids.length > 0)
          await sql`delete from ${sql.id(table)} where chunk_id in (${sql.join([...which.ids])})`.execute(db);
        continue;
      }
      await sql`delete from ${sql.id(table)} where chunk_id in (select id from knowledge_chunks
        where index_name = ${index.name} and source_type = ${which.sourceType} and source_id = ${which.sourceId})`.execute(
        db,
      );
    }
  }

  async dropping(db: Db, index: VectorIndex): Promise<void> {
    await sql`drop table if exists ${sql.id(quantizedTableName(index))}`.execute(db);
    // SQLite cannot drop a vec0 table without sqlite-vec; with it unloaded, the table stays behind unused.
    if (await this.#loaded(db)) await sql`drop table if exists ${sql.id(vec0TableName(index))}`.execute(db);
  }

  /**
   * With the vec0 table: a selective filter (up to `selectiveFilterRows` chunks) scans the allowed rows only
   * (vec0 would still read every vector); a broader one searches the signs table first where there is one
   * (`#quantizedSearch`), or runs one exact KNN query per kind of id the filter
   * lists (vec0 filters metadata with AND only, and skips the distance of rows its metadata excludes), merged:
   * each is exact within its subset, so the merged top k is the top k of their union.
   *
   * Tried and measured neutral (docs/benchmarks.md): over-fetching the unfiltered KNN and filtering here;
   * it saves vec0's metadata check but computes the distance of every vector instead of the allowed ones.
   */
  async nearest(db: Db, index: VectorIndex, vector: Float32Array, k: number, filter: VectorFilter) {
    const tables = await this.#tables(db, index);
    const table = tables.exact;
    if (table === undefined) return this.#scan(db, index, vector, k, filter);
    const kinds = filterKinds(filter);
    if (kinds.length === 0) return [];
    // Counted per kind of id through its own index: the sum is at least the allowed chunks, and only the
    // strategy depends on it, never the answer. (An OR of the kinds may be planned as a read of every row.)
    const counted = await sql<{ allowed: number }>`select ${sql.join(
      kinds.map(
        ([column, ids]) =>
          sql`(select count(*) from knowledge_chunks where index_name = ${index.name}
            and ${sql.ref(column)} in (${sql.join(ids)}))`,
      ),
      sql` + `,
    )} as allowed`.execute(db);
    if (Number(counted.rows[0]?.allowed ?? 0) <= this.#selectiveFilterRows)
      return this.#scan(db, index, vector, k, filter);
    if (this.#quantized && tables.quantized !== undefined)
      return this.#quantizedSearch(db, index, tables.quantized, vector, k, filter);
    const bytes = vectorBytes(vector);
    const found = new Map<string, number>();
    for (const [column, ids] of kinds) {
      const { rows } = await sql<Neighbour>`select chunk_id as id, distance from ${sql.id(table)}
        where embedding match ${bytes} and k = ${k}
        and ${sql.id(column)} in (${sql.join(ids)})
        ${filter.sourceType ? sql`and source_type = ${filter.sourceType}` : sql``}
        order by distance`.execute(db);
      for (const row of rows) found.set(row.id, row.distance);
    }
    return [...found]
      .map(([id, distance]) => ({ id, distance }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, k);
  }

  /**
   * A broad filter's search in two passes: the `candidates` allowed chunks nearest by Hamming distance between
   * the vectors' signs (48 bytes per 384-dimension chunk, one scan of the signs table with the filter as its
   * WHERE condition), then the exact cosine distance of those candidates only, from the float vectors, best
   * `k` kept. The distances returned are exact; a true neighbour is missed only when its signs differ from the
   * query's more than those of `candidates` other allowed chunks (recall@k in bench:rag:sqlite-quantized).
   * Both passes apply the filter, each to the chunks' own copies of the ids.
   */
  async #quantizedSearch(
    db: Db,
    index: VectorIndex,
    table: string,
    vector: Float32Array,
    k: number,
    filter: VectorFilter,
  ) {
    const condition = filterCondition(filter);
    if (!condition) return [];
    const candidates = Math.max(QUANTIZED_MIN_CANDIDATES, k * QUANTIZED_OVERSAMPLING);
    // The signs table under the name the filter's condition qualifies its columns with.
    const { rows: nearest } = await sql<{ id: string }>`select chunk_id as id
      from ${sql.id(table)} as knowledge_chunks where ${condition}
      order by vec_distance_hamming(vec_bit(signs), vec_bit(${signs(vector)})) limit ${candidates}`.execute(
      db,
    );
    if (nearest.length === 0) return [];
    // The candidates by primary key, materialized: given the filter's columns, SQLite may otherwise plan a
    // read of every allowed row through the room index, a distance computed for each.
    const { rows } = await sql<Neighbour>`with candidates as materialized (select * from knowledge_chunks
        where index_name = ${index.name} and id in (${sql.join(nearest.map((row) => row.id))}))
      select id, vec_distance_cosine(embedding, ${vectorBytes(vector)}) as distance
      from candidates as knowledge_chunks where ${condition} order by distance limit ${k}`.execute(db);
    return rows;
  }

  /**
   * The allowed rows only (a selective filter, or no vec0 table: an index made before sqlite-vec was
   * loaded), ranked with sqlite-vec's distance. The rows are found by rowid through one index per kind of
   * id: an OR of the kinds in the WHERE clause may be planned as a read of every row, vectors included.
   */
  async #scan(db: Db, index: VectorIndex, vector: Float32Array, k: number, filter: VectorFilter) {
    if (!(await this.#loaded(db))) return this.#fallback.nearest(db, index, vector, k, filter);
    const kinds = filterKinds(filter);
    if (kinds.length === 0) return [];
    const rowids = sql.join(
      kinds.map(
        ([column, ids]) =>
          sql`select rowid from knowledge_chunks where index_name = ${index.name} and ${sql.ref(column)} in (${sql.join(ids)})`,
      ),
      sql` union all `,
    );
    const { rows } =
      await sql<Neighbour>`select id, vec_distance_cosine(embedding, ${vectorBytes(vector)}) as distance
      from knowledge_chunks where rowid in (${rowids})
      ${filter.sourceType ? sql`and source_type = ${filter.sourceType}` : sql``}
      order by distance limit ${k}`.execute(db);
    return rows;
  }
}

/** The kinds of id a filter lists, with their column: the permission filter's parts. */
export function filterKinds(filter: VectorFilter): [column: string, ids: string[]][] {
  const kinds: [string, string[]][] = [];
  for (const [column, ids] of [
    ['room_id', filter.roomIds],
    ['file_id', filter.fileIds],
    ['project_id', filter.projectIds],
  ] as const)
    if (ids && ids.length > 0) kinds.push([column, [...ids]]);
  return kinds;
}

/** Up to this many allowed chunks, SQLite scans them instead of asking vec0 (measured in bench:rag). */
const SELECTIVE_FILTER_ROWS = 20_000;

/** Below this many dimensions a vector's signs say too little: such indexes get no quantized table. */
const QUANTIZED_MIN_DIMENSIONS = 64;

/**
 * Candidates of the quantized pass per neighbour asked for, and at least: recall@10 0.97 at 100 candidates
 * and 1.000 at 200 in bench:rag; the scan costs about the same for any number of them.
 */
const QUANTIZED_OVERSAMPLING = 20;
const QUANTIZED_MIN_CANDIDATES = 200;

/** Chunks per INSERT while filling a signs table (6 bound values a row, under SQLite's limit). */
const QUANTIZED_FILL_BATCH = 500;

/**
 * A vector's signs, one bit per dimension (1 where the value is above zero), least significant bit first:
 * the same bits as sqlite-vec's `vec_quantize_binary`, computed here so that writing needs no SQL function.
 */
function signs(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(Math.ceil(vector.length / 8));
  for (let index = 0; index < vector.length; index++)
    if ((vector[index] as number) > 0) bytes[index >> 3] = (bytes[index >> 3] as number) | (1 << (index & 7));
  return bytes;
}

/** Options of the SQLite search, tuned by tests and the benchmark. */
export interface SqliteVecSearchOptions {
  selectiveFilterRows?: number;
  quantized?: boolean;
  quantizedMinDimensions?: number;
}

/** A short table name per knowledge index. */
function vec0TableName(index: VectorIndex): string {
  return `knowledge_vec_${fnv(index.name)}_${Math.trunc(index.dimensions)}`;
}

/** The index's table of vector signs (binary quantization). */
function quantizedTableName(index: VectorIndex): string {
  return `knowledge_vecbit_${fnv(index.name)}_${Math.trunc(index.dimensions)}`;
}

/**
 * PostgreSQL with pgvector: a `vector` column beside the portable bytes and one HNSW index per knowledge
 * index (a partial index on the index's name, over the column cast to the index's dimension), searched with
 * pgvector's iterative scan so a selective permission filter still fills `k`. The column and the extension
 * are added when pgvector is first needed (`CREATE EXTENSION` needs a privileged role once); without
 * pgvector it falls back to the exact search in the application.
 */
export class PgvectorSearch implements VectorSearch {
  readonly #fallback = new ApplicationExactSearch('application exact (pgvector not installed)');

  /**
   * Read-only: the schema pgvector is installed in when the `embedding_vector` column is there (prepareIndex
   * adds it). Every pgvector name is qualified with it, so any search_path works.
   */
  #schema(db: Db): Promise<string | undefined> {
    return probeOnce(
      db,
      async () => {
        const { rows } = await sql<{ schema: string }>`select n.nspname as schema from pg_extension e
          join pg_namespace n on n.oid = e.extnamespace
          where e.extname = 'vector' and exists (select 1 from information_schema.columns
            where table_schema = current_schema() and table_name = 'knowledge_chunks' and column_name = 'embedding_vector')`.execute(
          db,
        );
        return rows[0]?.schema;
      },
      undefined,
    );
  }

  async capabilities(db: Db): Promise<VectorStoreCapabilities> {
    return (await this.#schema(db)) !== undefined
      ? { search: 'approximate', engine: 'pgvector hnsw' }
      : this.#fallback.capabilities();
  }

  async prepareIndex(db: Db, index: VectorIndex): Promise<void> {
    const available = await sql<{
      n: number;
    }>`select 1 as n from pg_available_extensions where name = 'vector'`.execute(db);
    if (available.rows.length === 0) return;
    try {
      // Idempotent DDL. CREATE EXTENSION needs a privileged role the first time on a database; it goes into
      // public, not the first schema of the search_path, which may be dropped with its tables.
      await sql`create extension if not exists vector schema public`.execute(db);
      probes.delete(storeKey(db));
      const { rows } = await sql<{ schema: string }>`select n.nspname as schema from pg_extension e
        join pg_namespace n on n.oid = e.extnamespace where e.extname = 'vector'`.execute(db);
      const schema = rows[0]?.schema as string;
      await sql`alter table knowledge_chunks add column if not exists embedding_vector ${sql.id(schema, 'vector')}`.execute(
        db,
      );
      await sql`create index if not exists ${sql.id(hnswIndexName(index))} on knowledge_chunks using hnsw ((${castVector(schema, index)}) ${sql.id(schema, 'vector_cosine_ops')}) where index_name = ${sql.lit(index.name)}`.execute(
        db,
      );
    } catch (error) {
      // Outside a transaction a refused CREATE EXTENSION leaves the exact search (capabilities() says so);
      // inside one the transaction is aborted, so the caller must know.
      if (db.isTransaction) throw error;
    } finally {
      probes.delete(storeKey(db));
    }
  }

  async written(): Promise<void> {}

  async deleting(): Promise<void> {}

  async dropping(db: Db, index: VectorIndex): Promise<void> {
    await sql`drop index if exists ${sql.id(hnswIndexName(index))}`.execute(db);
  }

  async vectorColumns(db: Db) {
    const schema = await this.#schema(db);
    if (schema === undefined) return undefined;
    return (vector: Float32Array) => ({
      embedding_vector: sql<string>`cast(${vectorLiteral(vector)} as ${sql.id(schema, 'vector')})`,
    });
  }

  async nearest(db: Db, index: VectorIndex, vector: Float32Array, k: number, filter: VectorFilter) {
    const schema = await this.#schema(db);
    if (schema === undefined) return this.#fallback.nearest(db, index, vector, k, filter);
    const condition = filterCondition(filter);
    if (!condition) return [];
    const search = async (trx: Db) => {
      // relaxed_order: the HNSW scan goes on until k rows pass the filter (pgvector 0.8); rows may come
      // slightly out of order, so they are sorted again below.
      await sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`.execute(trx);
      // The query vector as a literal, so the planner sees a constant (numbers only: nothing to escape).
      const distance = sql<number>`${castVector(schema, index)} operator(${sql.raw(quoteIdentifier(schema))}.<=>) ${sql.raw(`'${vectorLiteral(vector)}'`)}::${castType(schema, index)}`;
      return trx
        .selectFrom('knowledge_chunks')
        .select(['id', distance.as('distance')])
        .where('index_name', '=', index.name)
        .where(condition)
        .orderBy(distance)
        .limit(k)
        .execute();
    };
    const rows = db.isTransaction ? await search(db) : await db.transaction().execute(search);
    return rows
      .map((row) => ({ id: row.id, distance: Number(row.distance) }))
      .sort((a, b) => a.distance - b.distance);
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function castType(schema: string, index: VectorIndex) {
  return sql.raw(`${quoteIdentifier(schema)}.vector(${Math.trunc(index.dimensions)})`);
}

function castVector(schema: string, index: VectorIndex) {
  return sql`embedding_vector::${castType(schema, index)}`;
}

function vectorLiteral(vector: Float32Array): string {
  return `[${Array.from(vector, (value) => (Number.isFinite(value) ? value : 0)).join(',')}]`;
}

/** A short name per knowledge index: PostgreSQL cuts identifiers at 63 bytes. */
function hnswIndexName(index: VectorIndex): string {
  return `knowledge_hnsw_${fnv(index.name)}_${index.dimensions}`;
}

function fnv(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/** The vector search of each database, chosen once per store. */
export function vectorSearchFor(dialect: StoreDialect, options: SqliteVecSearchOptions = {}): VectorSearch {
  return {
    sqlite: new SqliteVecSearch(options),
    postgres: new PgvectorSearch(),
    mysql: new ApplicationExactSearch(),
  }[dialect];
}
