import { type StoreDialect, searchTerms, type VectorFilter, type VectorIndex } from '@kaiwa/core';
import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { KaiwaDatabase } from '../../database.js';
import { mysqlSearchQuery, mysqlSearchText, postgresTsquery, postgresTsvector } from '../../search-syntax.js';
import { filterCondition, filterKinds } from './vector-search.js';

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
 * How many of the best matches SQLite's search ranks inside FTS5 before filtering them: per result asked for,
 * and at least (see `SqliteChunkTextSearch`). Enough for most filters to leave k; more costs little, as
 * FTS5 ranks every match either way and only these are looked up.
 */
const CANDIDATES_PER_RESULT = 20;
export const MIN_TEXT_CANDIDATES = 200;

/**
 * Below this share of the chunks allowed, SQLite's search ranks only the filter's chunks: the candidates
 * would seldom hold k of them (a tenth of 200 is 20, for k = 10).
 */
export const FEW_ALLOWED = 0.1;

/**
 * How one database searches chunk text: one object per database, chosen once (see `textSearchFor`). Every
 * database indexes core's search terms (`searchDocument`), as the message search does, so words match the
 * same way everywhere; a query matches a chunk holding any of its terms, ranked by the database's relevance.
 */
export interface ChunkTextSearch {
  /**
   * The search columns of chunk rows about to be inserted, one object per search document. An empty
   * document (a message chunk's, or a text without terms) is not indexed: no search row on SQLite, an empty
   * `tsvector` on PostgreSQL, a null `search_text` on MariaDB/MySQL.
   */
  rowValues(db: Db, documents: readonly string[]): Promise<Record<string, unknown>[]>;
  /** Indexes rows just inserted, with the values `rowValues` gave them (SQLite's FTS5 table). */
  written(db: Db, rows: readonly { values: Record<string, unknown>; document: string }[]): Promise<void>;
  /** Forgets chunks about to be deleted. */
  deleting(db: Db, index: VectorIndex, which: ChunkSelection): Promise<void>;
  /** The `k` best allowed chunks for the query's terms; the filter is part of the search. */
  search(db: Db, index: VectorIndex, text: string, k: number, filter: VectorFilter): Promise<TextHit[]>;
}

/** A search row and its BM25 from FTS5 (lower is better). */
interface Ranked {
  search_row: number;
  bm25: number;
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
 *
 * FTS5 ranks the matches of the whole table first and keeps the best few hundred (`MIN_TEXT_CANDIDATES`);
 * only those are looked up in `knowledge_chunks` and filtered, instead of every match (tens of thousands in
 * 100k chunks), which took most of the time. When the filter leaves fewer than k of them, or allows less
 * than a tenth of the chunks (`FEW_ALLOWED`), FTS5 ranks only the matches among the filter's search rows.
 * Ties go to the older search row, so every path agrees.
 */
class SqliteChunkTextSearch implements ChunkTextSearch {
  async rowValues(db: Db, documents: readonly string[]) {
    // Inside the writer's transaction (its deletes come first, so it holds SQLite's write lock): no other
    // writer can take the same numbers, and the unique index would refuse them if one did.
    const { rows } = await sql<{
      top: number | null;
    }>`select max(search_row) as top from knowledge_chunks`.execute(db);
    let next = Number(rows[0]?.top ?? 0);
    return documents.map((document) => ({ search_row: document === '' ? null : ++next }));
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
    if (!condition) return [];
    // The largest search row: at least the number of chunks (deletes leave gaps), found in the index.
    const { rows: top } = await sql<{
      n: number | null;
    }>`select max(search_row) as n from knowledge_chunks`.execute(db);
    const chunks = Number(top[0]?.n ?? 0);
    const terms = await this.#informative(db, queryTerms(text), chunks);
    if (terms.length === 0) return [];
    const match = terms
      .map(({ token, prefix }) => `"${token.replaceAll('"', '""')}"${prefix ? '*' : ''}`)
      .join(' OR ');
    // A filter that allows few chunks, ranked directly. Counted per kind of id through its own index, each up
    // to `few` (an OR of the kinds may be planned as a read of every row): the sum is at least the allowed
    // chunks, and only the strategy depends on it, never the answer.
    const few = Math.ceil(chunks * FEW_ALLOWED);
    const kinds = filterKinds(filter);
    const { rows: counted } = await sql<{ allowed: number }>`select ${sql.join(
      kinds.map(
        ([column, ids]) =>
          sql`(select count(*) from (select 1 from knowledge_chunks where index_name = ${index.name}
            and ${sql.ref(column)} in (${sql.join(ids)}) limit ${few}))`,
      ),
      sql` + `,
    )} as allowed`.execute(db);
    if (Number(counted[0]?.allowed ?? 0) < few)
      return this.#rankAllowed(db, index, filter, condition, match, k);
    // First the best matches in the whole FTS5 table, ranked inside it: only those are looked up and filtered.
    const limit = Math.max(MIN_TEXT_CANDIDATES, CANDIDATES_PER_RESULT * k);
    const { rows: best } = await sql<Ranked>`select rowid as search_row, bm25(knowledge_search) as bm25
      from knowledge_search where knowledge_search match ${match}
      order by bm25(knowledge_search), rowid limit ${limit}`.execute(db);
    const hits = await this.#allowed(db, index, condition, best, k);
    // Exact either way: with k allowed chunks among the candidates, every match after them ranks below; with
    // fewer, unless the candidates were every match, every match the filter allows is ranked.
    if (hits.length === k || best.length < limit) return hits;
    return this.#rankAllowed(db, index, filter, condition, match, k);
  }

  /**
   * The `k` best matches among the filter's chunks: their search rows are tested (`+rowid`: not handed to
   * FTS5, which would run the whole query again for each row) before BM25 ranks a match. Cheap for a filter
   * that allows few chunks; slower than the candidates for one that allows most.
   */
  async #rankAllowed(
    db: Db,
    index: VectorIndex,
    filter: VectorFilter,
    condition: Expression<SqlBool>,
    match: string,
    k: number,
  ) {
    // The filter's rows found through one index per kind of id, as the vector search's scan does.
    const rowids = sql.join(
      filterKinds(filter).map(
        ([column, ids]) =>
          sql`select rowid from knowledge_chunks where index_name = ${index.name} and ${sql.ref(column)} in (${sql.join(ids)})`,
      ),
      sql` union all `,
    );
    const { rows: ranked } = await sql<Ranked>`select rowid as search_row, bm25(knowledge_search) as bm25
      from knowledge_search where knowledge_search match ${match} and +rowid in (select search_row
        from knowledge_chunks where rowid in (${rowids}) and ${condition})
      order by bm25(knowledge_search), rowid limit ${k}`.execute(db);
    return this.#allowed(db, index, condition, ranked, k);
  }

  /** The first `k` ranked search rows that are allowed chunks of the index, in their order, with their ids. */
  async #allowed(db: Db, index: VectorIndex, condition: Expression<SqlBool>, ranked: Ranked[], k: number) {
    if (ranked.length === 0) return [];
    // `cross join` keeps the ranked rows the outer loop: SQLite would rather read every allowed room's rows.
    const { rows } = await sql<{ id: string; search_row: number }>`select knowledge_chunks.id as id,
      knowledge_chunks.search_row as search_row
      from json_each(${JSON.stringify(ranked.map((row) => row.search_row))}) as candidate
      cross join knowledge_chunks on knowledge_chunks.search_row = candidate.value
      where knowledge_chunks.index_name = ${index.name} and ${condition}`.execute(db);
    const ids = new Map(rows.map((row) => [Number(row.search_row), row.id]));
    const hits: TextHit[] = [];
    for (const row of ranked) {
      const id = ids.get(Number(row.search_row));
      if (id !== undefined) hits.push({ id, score: -Number(row.bm25) });
      if (hits.length === k) break;
    }
    return hits;
  }

  /** The terms in at most half of the chunks (from the index's own vocabulary), and prefix terms. */
  async #informative(db: Db, terms: { token: string; prefix: boolean }[], chunks: number) {
    const whole = terms.filter((term) => !term.prefix).map((term) => term.token);
    if (whole.length === 0 || chunks < COMMON_TERMS_FROM) return terms;
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
    return documents.map((document) => ({ search_text: document === '' ? null : mysqlSearchText(document) }));
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
