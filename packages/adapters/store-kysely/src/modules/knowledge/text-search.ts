import { type StoreDialect, searchTerms, type VectorFilter, type VectorIndex } from '@kaiwa/core';
import { type Kysely, sql } from 'kysely';
import type { KaiwaDatabase } from '../../database.js';
import { mysqlSearchQuery, mysqlSearchText, postgresTsquery, postgresTsvector } from '../../search-syntax.js';
import { filterCondition } from './vector-search.js';

type Db = Kysely<KaiwaDatabase>;

/** A chunk found by a full-text search: its id and the database's relevance (higher is better). */
export interface TextHit {
  id: string;
  score: number;
}

/** Which chunks are about to go: by id, a whole source, or the whole index. */
export type ChunkSelection =
  | { ids: readonly string[] }
  | { sourceType: string; sourceId: string }
  | { all: true };

/** Most distinct terms of one query: a question rarely has more, and each one widens the search. */
const MAX_QUERY_TERMS = 32;

/** Chunks from which SQLite's search leaves out terms most chunks hold (see `SqliteChunkTextSearch`). */
const COMMON_TERMS_FROM = 10_000;

/**
 * How one database searches chunk text: one object per database, chosen once (see `textSearchFor`). Every
 * database indexes core's search terms (`searchDocument`), as the message search does, so words match the
 * same way everywhere; a query matches a chunk holding any of its terms, ranked by the database's relevance.
 */
export interface ChunkTextSearch {
  /** The search columns of chunk rows about to be inserted, one object per search document. */
  rowValues(db: Db, documents: readonly string[]): Promise<Record<string, unknown>[]>;
  /** Indexes rows just inserted, with the values `rowValues` gave them (SQLite's FTS5 table). */
  written(db: Db, rows: readonly { values: Record<string, unknown>; document: string }[]): Promise<void>;
  /** Forgets chunks about to be deleted. */
  deleting(db: Db, index: VectorIndex, which: ChunkSelection): Promise<void>;
  /** The `k` best allowed chunks for the query's terms; the filter is part of the search. */
  search(db: Db, index: VectorIndex, text: string, k: number, filter: VectorFilter): Promise<TextHit[]>;
}

/** The distinct terms of a query, each alone (a CJK run's bigrams too), at most `MAX_QUERY_TERMS`. */
function queryTerms(text: string): { token: string; prefix: boolean }[] {
  const terms = new Map<string, { token: string; prefix: boolean }>();
  for (const group of searchTerms(text)) {
    group.tokens.forEach((token, position) => {
      const prefix = group.prefix && position === group.tokens.length - 1;
      terms.set(`${token}${prefix ? '*' : ''}`, { token, prefix });
    });
  }
  return [...terms.values()].slice(0, MAX_QUERY_TERMS);
}

/**
 * SQLite: a contentless FTS5 table, `knowledge_search`, whose rowid is the chunk's `search_row` (a number
 * of its own: SQLite may renumber a table's implicit rowids on VACUUM). Ranked by BM25.
 *
 * In a large store (`COMMON_TERMS_FROM` chunks or more), a term found in more than half of the chunks is
 * left out of the query: FTS5's BM25 gives it no weight (its inverse document frequency is below zero,
 * which FTS5 raises to 1e-6), so it cannot change the order of the chunks that hold a rarer term, while
 * matching it costs a pass over most of the index (the words every text has: "the", "and", "with"). A
 * query of such terms alone then finds nothing.
 */
class SqliteChunkTextSearch implements ChunkTextSearch {
  async rowValues(db: Db, documents: readonly string[]) {
    // Inside the writer's transaction (its deletes come first, so it holds SQLite's write lock): no other
    // writer can take the same numbers, and the unique index would refuse them if one did.
    const { rows } = await sql<{
      top: number | null;
    }>`select max(search_row) as top from knowledge_chunks`.execute(db);
    const top = Number(rows[0]?.top ?? 0);
    return documents.map((_, position) => ({ search_row: top + position + 1 }));
  }

  async written(db: Db, rows: readonly { values: Record<string, unknown>; document: string }[]) {
    const values = rows
      .filter((row) => row.document !== '')
      .map((row) => sql`(${row.values.search_row as number}, ${row.document})`);
    if (values.length > 0)
      await sql`insert into knowledge_search (rowid, content) values ${sql.join(values)}`.execute(db);
  }

  async deleting(db: Db, index: VectorIndex, which: ChunkSelection) {
    const chunks =
      'ids' in which
        ? which.ids.length > 0
          ? sql`and id in (${sql.join([...which.ids])})`
          : undefined
        : 'all' in which
          ? sql``
          : sql`and source_type = ${which.sourceType} and source_id = ${which.sourceId}`;
    if (!chunks) return;
    await sql`delete from knowledge_search where rowid in (select search_row from knowledge_chunks
      where index_name = ${index.name} ${chunks} and search_row is not null)`.execute(db);
  }

  async search(db: Db, index: VectorIndex, text: string, k: number, filter: VectorFilter) {
    const condition = filterCondition(filter);
    const terms = await this.#informative(db, queryTerms(text));
    if (!condition || terms.length === 0) return [];
    const match = terms
      .map(({ token, prefix }) => `"${token.replaceAll('"', '""')}"${prefix ? '*' : ''}`)
      .join(' OR ');
    const { rows } = await sql<TextHit>`select knowledge_chunks.id as id, -bm25(knowledge_search) as score
      from knowledge_search join knowledge_chunks on knowledge_chunks.search_row = knowledge_search.rowid
      where knowledge_search match ${match} and knowledge_chunks.index_name = ${index.name} and ${condition}
      order by bm25(knowledge_search) limit ${k}`.execute(db);
    return rows.map((row) => ({ id: row.id, score: Number(row.score) }));
  }

  /** The terms in at most half of the chunks (from the index's own vocabulary), and prefix terms. */
  async #informative(db: Db, terms: { token: string; prefix: boolean }[]) {
    const whole = terms.filter((term) => !term.prefix).map((term) => term.token);
    if (whole.length === 0) return terms;
    // The largest search row: at least the number of chunks (deletes leave gaps), found in the index.
    const { rows: top } = await sql<{
      n: number | null;
    }>`select max(search_row) as n from knowledge_chunks`.execute(db);
    const chunks = Number(top[0]?.n ?? 0);
    if (chunks < COMMON_TERMS_FROM) return terms;
    const counted = await sql<{ term: string; doc: number }>`select term, doc from knowledge_search_vocab
      where term in (${sql.join(whole)})`.execute(db);
    const half = chunks / 2;
    const common = new Set(counted.rows.filter((row) => Number(row.doc) > half).map((row) => row.term));
    return terms.filter((term) => term.prefix || !common.has(term.token));
  }
}

/** PostgreSQL: a `tsvector` column with a GIN index, ranked by `ts_rank`. */
class PostgresChunkTextSearch implements ChunkTextSearch {
  async rowValues(_db: Db, documents: readonly string[]) {
    return documents.map((document) => ({ search_vector: postgresTsvector(document) }));
  }

  async written(): Promise<void> {}

  async deleting(): Promise<void> {}

  async search(db: Db, index: VectorIndex, text: string, k: number, filter: VectorFilter) {
    const condition = filterCondition(filter);
    const terms = queryTerms(text);
    if (!condition || terms.length === 0) return [];
    const query = terms
      .map(({ token, prefix }) => postgresTsquery([{ tokens: [token], prefix }]))
      .join(' | ');
    const { rows } = await sql<TextHit>`select id, ts_rank(search_vector, terms.query) as score
      from knowledge_chunks, (select cast(${query} as tsquery) as query) as terms
      where index_name = ${index.name} and search_vector @@ terms.query and ${condition}
      order by score desc, id limit ${k}`.execute(db);
    return rows.map((row) => ({ id: row.id, score: Number(row.score) }));
  }
}

/** MariaDB/MySQL: a FULLTEXT index over the terms as hex words (see search-syntax.ts), boolean mode. */
class MysqlChunkTextSearch implements ChunkTextSearch {
  async rowValues(_db: Db, documents: readonly string[]) {
    return documents.map((document) => ({ search_text: mysqlSearchText(document) }));
  }

  async written(): Promise<void> {}

  async deleting(): Promise<void> {}

  async search(db: Db, index: VectorIndex, text: string, k: number, filter: VectorFilter) {
    const condition = filterCondition(filter);
    const terms = queryTerms(text);
    if (!condition || terms.length === 0) return [];
    // Words without `+`: any of them matches, and InnoDB ranks by how many (and how rare).
    const against = terms
      .map(({ token, prefix }) => mysqlSearchQuery([{ tokens: [token], prefix }]).against.slice(1))
      .join(' ');
    const { rows } =
      await sql<TextHit>`select id, match (search_text) against (${against} in boolean mode) as score
      from knowledge_chunks
      where index_name = ${index.name} and match (search_text) against (${against} in boolean mode) and ${condition}
      order by score desc, id limit ${k}`.execute(db);
    return rows.map((row) => ({ id: row.id, score: Number(row.score) }));
  }
}

/** The chunk text search of each database. */
export function textSearchFor(dialect: StoreDialect): ChunkTextSearch {
  return {
    sqlite: new SqliteChunkTextSearch(),
    postgres: new PostgresChunkTextSearch(),
    mysql: new MysqlChunkTextSearch(),
  }[dialect];
}
