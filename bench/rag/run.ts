import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { VectorChunk, VectorFilter, VectorStore } from '@kaiwa/core';
import {
  createMysqlStore,
  createPostgresStore,
  createSqliteStore,
  type KyselyChatStore,
} from '@kaiwa/store-kysely';
import { clustered } from './corpus.js';
import { runQuality } from './quality.js';

/*
 * npm run bench:rag [-- --chunks 100000] [--mysql-chunks 20000] [--dimensions 384] [--queries 50]
 *                   [--stores sqlite,postgres,mysql]
 * npm run bench:rag -- --quality [--questions bench/rag/questions.json] [--dimensions 384]
 *                   [--embeddings http://127.0.0.1:11434/v1 --model nomic-embed-text]
 *   (retrieval quality, see quality.ts; an API key for --embeddings from KAIWA_EMBEDDINGS_API_KEY)
 *
 * Top-10 latency of the knowledge module's vector search on each database, over clustered unit vectors
 with local structure
 * (approximate indexes find next to nothing on uniform random data): sqlite-vec (in the database: a broad
 * filter through the vectors' signs and an exact rerank, a selective one exact; see sqlite-quantized.ts),
 * pgvector HNSW (when the server has pgvector) and MariaDB's exact search in the application (on a smaller
 * corpus: every allowed vector crosses the wire per query). Each query is filtered by 50 allowed rooms of
 * 60 (most chunks pass), by the same rooms plus two projects (the shape of KnowledgeBase.retrieve's filter),
 * and by 3 rooms (a selective filter). Also: ingestion rate (chunks/s,
 * through `upsert` in batches of 500, full-text indexing included), recall@10 of the broad filter against an
 * exact scan in the application, and the
 * top-10 latency of the full-text search over the chunks' text (`searchText`, FTS5 / tsvector / FULLTEXT)
 * with the broad filter and with the selective one: each chunk has 60 words drawn from a 5,000-word
 * vocabulary with a Zipf distribution (as word frequencies in real text), each query 5 such words.
 * PostgreSQL and MariaDB come from KAIWA_TEST_PG_URL and KAIWA_TEST_MYSQL_URL (source /tmp/ci-env.sh).
 */

const { values } = parseArgs({
  options: {
    chunks: { type: 'string', default: '100000' },
    'mysql-chunks': { type: 'string', default: '20000' },
    dimensions: { type: 'string', default: '384' },
    queries: { type: 'string', default: '50' },
    stores: { type: 'string', default: 'sqlite,postgres,mysql' },
    quality: { type: 'boolean', default: false },
    questions: { type: 'string', default: join(import.meta.dirname, 'questions.json') },
    embeddings: { type: 'string' },
    model: { type: 'string' },
  },
});
const dimensions = Number(values.dimensions);
const queryCount = Number(values.queries);
const ROOMS = 60;
const roomIds = Array.from({ length: ROOMS }, (_, index) => `room-${String(index).padStart(3, '0')}`);

/** 5,000 made-up words, and a Zipf-distributed draw from them (word frequencies of real text). */
function words(seed: number): () => string {
  const syllables = [
    'ka',
    'ri',
    'to',
    'ne',
    'su',
    'mo',
    'la',
    'vi',
    'pe',
    'do',
    'gu',
    'shi',
    'ran',
    'tel',
    'bor',
  ];
  const vocabulary = Array.from({ length: 5_000 }, (_, index) => {
    let word = '';
    for (let rest = index + 15; rest > 0; rest = Math.floor(rest / 15)) word += syllables[rest % 15];
    return word;
  });
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= vocabulary.length; rank++) {
    total += 1 / rank;
    cumulative.push(total);
  }
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    const target = (state / 2 ** 32) * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return vocabulary[low] as string;
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

interface Result {
  store: string;
  engine: string;
  chunks: number;
  ingestPerSecond: number;
  broad: { p50: number; p95: number };
  roomsAndProjects: { p50: number; p95: number };
  selective: { p50: number; p95: number };
  fullText: { p50: number; p95: number };
  fullTextSelective: { p50: number; p95: number };
  recall: number;
}

async function bench(name: string, store: KyselyChatStore, chunks: number): Promise<Result> {
  const vectors: VectorStore = store.knowledge;
  const index = `bench-${randomBytes(3).toString('hex')}`;
  const model = 'bench:clustered';
  await vectors.ensureIndex({ name: index, model, dimensions });
  const corpus = clustered(chunks, 1, dimensions);
  const word = words(3);
  const started = performance.now();
  for (let start = 0; start < chunks; start += 500) {
    const batch: VectorChunk[] = [];
    for (let position = start; position < Math.min(chunks, start + 500); position++) {
      batch.push({
        id: `c${position}`,
        sourceType: 'file',
        sourceId: `f${Math.floor(position / 20)}`,
        roomId: roomIds[position % ROOMS] as string,
        // A few chunks in projects, as KnowledgeBase.retrieve filters by rooms and projects.
        ...(position % 97 === 0 ? { projectId: `project-${position % 10}` } : {}),
        text: Array.from({ length: 60 }, word).join(' '),
        metadata: {},
        vector: Array.from(corpus[position] as Float32Array),
      });
    }
    await vectors.upsert(index, batch);
  }
  const ingestSeconds = (performance.now() - started) / 1000;
  const engine = (await vectors.capabilities()).engine;
  const queries = clustered(queryCount + 5, 2, dimensions);
  const broadRooms = roomIds.slice(0, 50);
  const selectiveRooms = roomIds.slice(0, 3);
  const time = async (filter: VectorFilter) => {
    const latencies: number[] = [];
    const results: string[][] = [];
    for (const [position, vector] of queries.entries()) {
      const begin = performance.now();
      const matches = await vectors.query({
        index,
        model,
        vector: Array.from(vector),
        k: 10,
        filter,
      });
      if (position >= 5) latencies.push(performance.now() - begin); // the first five warm up
      results.push(matches.map((match) => match.chunk.id));
    }
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p95: percentile(latencies, 95), results };
  };
  const broad = await time({ roomIds: broadRooms });
  const roomsAndProjects = await time({ roomIds: broadRooms, projectIds: ['project-0', 'project-1'] });
  const selective = await time({ roomIds: selectiveRooms });
  const timeText = async (roomIds: string[]) => {
    const queryWords = words(4); // the same questions for each filter
    const latencies: number[] = [];
    for (let position = 0; position < queryCount + 5; position++) {
      const text = Array.from({ length: 5 }, queryWords).join(' ');
      const begin = performance.now();
      await vectors.searchText({ index, text, k: 10, filter: { roomIds } });
      if (position >= 5) latencies.push(performance.now() - begin);
    }
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p95: percentile(latencies, 95) };
  };
  const fullText = await timeText(broadRooms);
  const fullTextSelective = await timeText(selectiveRooms);
  // Recall@10 of the broad queries against an exact scan in the application.
  const allowed = new Set(broadRooms);
  let found = 0;
  for (const [position, vector] of queries.entries()) {
    const truth = corpus
      .map((candidate, id) => ({ id, roomId: roomIds[id % ROOMS] as string, candidate }))
      .filter((entry) => allowed.has(entry.roomId))
      .map((entry) => {
        let dot = 0;
        for (let d = 0; d < dimensions; d++) dot += (entry.candidate[d] as number) * (vector[d] as number);
        return { id: `c${entry.id}`, distance: 1 - dot };
      })
      .sort((a, b) => a.distance - b.distance)
      .slice(0, 10)
      .map((entry) => entry.id);
    const got = new Set(broad.results[position]);
    found += truth.filter((id) => got.has(id)).length;
  }
  return {
    store: name,
    engine,
    chunks,
    ingestPerSecond: Math.round(chunks / ingestSeconds),
    broad: { p50: broad.p50, p95: broad.p95 },
    roomsAndProjects: { p50: roomsAndProjects.p50, p95: roomsAndProjects.p95 },
    selective: { p50: selective.p50, p95: selective.p95 },
    fullText,
    fullTextSelective,
    recall: found / (queries.length * 10),
  };
}

if (values.quality) {
  await runQuality({
    questions: values.questions,
    dimensions,
    ...(values.embeddings ? { embeddings: values.embeddings } : {}),
    ...(values.model ? { model: values.model } : {}),
    ...(process.env.KAIWA_EMBEDDINGS_API_KEY ? { apiKey: process.env.KAIWA_EMBEDDINGS_API_KEY } : {}),
  });
} else {
  await latency();
}

/** Vector search latency, ingestion rate and recall@10 on each store. */
async function latency(): Promise<void> {
  const results: Result[] = [];
  const stores = values.stores.split(',');
  if (stores.includes('sqlite')) {
    const folder = mkdtempSync(join(tmpdir(), 'kaiwa-rag-'));
    const store = await createSqliteStore({ filename: join(folder, 'bench.db'), synchronous: 'normal' });
    await store.migrate();
    try {
      results.push(await bench('SQLite', store, Number(values.chunks)));
    } finally {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    }
  }
  if (stores.includes('postgres') && process.env.KAIWA_TEST_PG_URL) {
    const { default: pg } = await import('pg');
    const url = process.env.KAIWA_TEST_PG_URL;
    const schema = `kaiwa_rag_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 4 });
    const store = await createPostgresStore({ pool });
    await store.migrate();
    try {
      results.push(await bench('PostgreSQL 15', store, Number(values.chunks)));
    } finally {
      await store.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
    }
  }
  if (stores.includes('mysql') && process.env.KAIWA_TEST_MYSQL_URL) {
    const { createConnection } = await import('mysql2/promise');
    const url = process.env.KAIWA_TEST_MYSQL_URL;
    const database = `kaiwa_rag_${randomBytes(4).toString('hex')}`;
    const admin = await createConnection({ uri: url });
    await admin.query(`create database ${database} character set utf8mb4 collate utf8mb4_bin`);
    const target = new URL(url);
    target.pathname = `/${database}`;
    const store = await createMysqlStore({ connectionString: target.toString() });
    await store.migrate();
    try {
      results.push(await bench('MariaDB 10.11', store, Number(values['mysql-chunks'])));
    } finally {
      await store.close();
      await admin.query(`drop database ${database}`);
      await admin.end();
    }
  }

  const ms = (value: number) => value.toFixed(1);
  console.log(
    `\n${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, ${dimensions} dimensions, top-10\n`,
  );
  console.log(
    '| Store | Search | Chunks | Ingest (chunks/s) | p50 / p95, 50 of 60 rooms allowed (ms) | p50 / p95, 50 rooms + 2 projects (ms) | p50 / p95, 3 of 60 rooms (ms) | Recall@10 | Full text p50 / p95, 50 of 60 rooms (ms) | Full text p50 / p95, 3 of 60 rooms (ms) |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const result of results) {
    console.log(
      `| ${result.store} | ${result.engine} | ${result.chunks.toLocaleString('en')} | ${result.ingestPerSecond.toLocaleString('en')} | ${ms(result.broad.p50)} / ${ms(result.broad.p95)} | ${ms(result.roomsAndProjects.p50)} / ${ms(result.roomsAndProjects.p95)} | ${ms(result.selective.p50)} / ${ms(result.selective.p95)} | ${result.recall.toFixed(3)} | ${ms(result.fullText.p50)} / ${ms(result.fullText.p95)} | ${ms(result.fullTextSelective.p50)} / ${ms(result.fullTextSelective.p95)} |`,
    );
  }
}
