import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { VectorChunk, VectorFilter, VectorStore } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { createKyselyStorage } from '../../packages/adapters/store-kysely/src/kysely-storage.js';
import { knowledgeStorageModuleWith } from '../../packages/adapters/store-kysely/src/modules/knowledge/knowledge-storage-module.js';
import { clustered } from './corpus.js';

/*
 * npm run bench:rag:sqlite-quantized [-- --chunks 100000] [--dimensions 384] [--queries 50]
 *
 * SQLite's two searches for a broad filter on ONE store, query by query in turns (this machine's load moves
 * too much for runs minutes apart): the exact vec0 KNN (`quantized: false`, the search before the binary
 * quantization) and the binary-quantized pass with its exact rerank (the default). Same corpus as bench:rag
 * (clustered 384-dimension unit vectors, 60 rooms, 1 chunk in 97 in a project); filters: 50 of 60 rooms, and
 * those rooms plus two projects; k = 10 (bench:rag's) and k = 32 (KnowledgeBase.retrieve's default
 * candidates). Recall@k of the quantized search is against the exact one's answer; the load average is
 * printed before and after. Below 20,000 allowed chunks (`--chunks` under 24,000) both are the same exact scan.
 */

const { values } = parseArgs({
  options: {
    chunks: { type: 'string', default: '100000' },
    dimensions: { type: 'string', default: '384' },
    queries: { type: 'string', default: '50' },
  },
});
const chunkCount = Number(values.chunks);
const dimensions = Number(values.dimensions);
const queryCount = Number(values.queries);
const roomIds = Array.from({ length: 60 }, (_, index) => `room-${String(index).padStart(3, '0')}`);
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const folder = mkdtempSync(join(tmpdir(), 'kaiwa-rag-quantized-'));
// As bench:rag opens it (sqlite-vec loaded, WAL); both searches run on its connection.
const chat = await createSqliteStore({ filename: join(folder, 'bench.db'), synchronous: 'normal' });
const open = (quantized: boolean) =>
  createKyselyStorage({
    db: chat.db,
    dialect: 'sqlite',
    modules: [knowledgeStorageModuleWith({ quantized })],
  }).knowledge;
const quantizedStore: VectorStore = open(true);
const exactStore: VectorStore = open(false);

try {
  await chat.migrate();
  const index = 'bench';
  const model = 'bench:clustered';
  await quantizedStore.ensureIndex({ name: index, model, dimensions });
  const corpus = clustered(chunkCount, 1, dimensions);
  const started = performance.now();
  for (let start = 0; start < chunkCount; start += 500) {
    const batch: VectorChunk[] = [];
    for (let position = start; position < Math.min(chunkCount, start + 500); position++)
      batch.push({
        id: `c${position}`,
        sourceType: 'file',
        sourceId: `f${Math.floor(position / 20)}`,
        roomId: roomIds[position % 60] as string,
        ...(position % 97 === 0 ? { projectId: `project-${position % 10}` } : {}),
        text: `chunk ${position}`,
        metadata: {},
        vector: Array.from(corpus[position] as Float32Array),
      });
    await quantizedStore.upsert(index, batch);
  }
  console.log(
    `${chunkCount.toLocaleString('en')} chunks written (vec0 and signs tables) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const queries = clustered(queryCount + 5, 2, dimensions);
  const broadRooms = roomIds.slice(0, 50);
  const filters: [string, VectorFilter][] = [
    ['50 of 60 rooms', { roomIds: broadRooms }],
    ['50 rooms + 2 projects', { roomIds: broadRooms, projectIds: ['project-0', 'project-1'] }],
  ];
  const percentile = (sorted: number[], p: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
  console.log(`load average before: ${load()}\n`);
  console.log(
    '| Filter | k | Exact vec0 KNN p50 / p95 (ms) | Quantized + rerank p50 / p95 (ms) | Recall@k |',
  );
  console.log('|---|---:|---:|---:|---:|');
  for (const [label, filter] of filters)
    for (const k of [10, 32]) {
      const latencies = { exact: [] as number[], quantized: [] as number[] };
      let found = 0;
      let asked = 0;
      for (const [position, vector] of queries.entries()) {
        const answers: Record<string, string[]> = {};
        // In turns, the first of each pair alternating, so neither always runs on a warmer cache.
        const order =
          position % 2 === 0 ? (['exact', 'quantized'] as const) : (['quantized', 'exact'] as const);
        for (const which of order) {
          const store = which === 'exact' ? exactStore : quantizedStore;
          const begin = performance.now();
          const matches = await store.query({ index, model, vector: Array.from(vector), k, filter });
          if (position >= 5) latencies[which].push(performance.now() - begin);
          answers[which] = matches.map((match) => match.chunk.id);
        }
        if (position < 5) continue;
        const truth = new Set(answers.exact);
        found += (answers.quantized ?? []).filter((id) => truth.has(id)).length;
        asked += truth.size;
      }
      const exact = latencies.exact.sort((a, b) => a - b);
      const quantized = latencies.quantized.sort((a, b) => a - b);
      console.log(
        `| ${label} | ${k} | ${percentile(exact, 50).toFixed(1)} / ${percentile(exact, 95).toFixed(1)} | ${percentile(quantized, 50).toFixed(1)} / ${percentile(quantized, 95).toFixed(1)} | ${(found / asked).toFixed(3)} |`,
      );
    }
  console.log(`\nload average after: ${load()}`);
} finally {
  await chat.close();
  rmSync(folder, { recursive: true, force: true });
}
