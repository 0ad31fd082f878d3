import { vectorStoreContract } from '@kaiwa/core/testing';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import * as sqliteVec from 'sqlite-vec';
import { describe, expect, it } from 'vitest';
import type { KaiwaDatabase } from '../../database.js';
import { createKyselyStorage } from '../../kysely-storage.js';
import { openTestStorage, testDatabaseUrl, testDialects } from '../../test-support.js';
import { knowledgeStorageModule, knowledgeStorageModuleWith } from './knowledge-storage-module.js';

/** Whether the test PostgreSQL server has pgvector to offer (`.ci/run` builds it). */
async function pgvectorAvailable(): Promise<boolean> {
  const url = testDatabaseUrl('postgres');
  if (url === undefined) return false;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`select 1 from pg_available_extensions where name = 'vector'`);
    return rows.length > 0;
  } finally {
    await client.end();
  }
}

const pgvector = await pgvectorAvailable();
const pgvectorRequired = process.env.KAIWA_TEST_PGVECTOR === '1';
const pgvectorSkip =
  pgvector || pgvectorRequired
    ? undefined
    : 'pgvector is not installed on the test server: build it as .ci/run does (KAIWA_TEST_PGVECTOR=1 makes this a failure)';
if (pgvectorSkip && testDatabaseUrl('postgres'))
  console.info(`[postgres] pgvector suite skipped: ${pgvectorSkip}`);

// The knowledge module on its own, on every database: `VectorStore`'s conformance suite. PostgreSQL without
// pgvector runs it on the exact search in the application.
for (const { dialect, skip } of testDialects) {
  const approximate = dialect === 'postgres' && (pgvector || pgvectorRequired);
  vectorStoreContract({
    name: `${dialect} (${{ sqlite: 'sqlite-vec', postgres: pgvector ? 'pgvector hnsw' : 'application exact', mysql: 'application exact' }[dialect]}), knowledge module only`,
    open: () => openTestStorage(dialect, [knowledgeStorageModule]),
    ...(skip ? { skip } : {}),
    ...(approximate
      ? { skipTests: { 'nearest-exact': 'pgvector HNSW is approximate: the recall test checks it instead' } }
      : {}),
  });
}

// SQLite through sqlite-vec's vec0 table whatever the filter (small corpora otherwise scan the allowed rows):
// exact KNN, and the binary-quantized pass with its exact rerank.
vectorStoreContract({
  name: 'sqlite (sqlite-vec vec0 KNN), knowledge module only',
  open: () =>
    openTestStorage('sqlite', [knowledgeStorageModuleWith({ selectiveFilterRows: 0, quantized: false })]),
});
// The suite's 24 dimensions get a signs table here (64 and more otherwise); its corpora are smaller than the
// 200 candidates, so the rerank sees every allowed chunk and the exact tests hold.
vectorStoreContract({
  name: 'sqlite (sqlite-vec binary quantized, exact rerank), knowledge module only',
  open: () =>
    openTestStorage('sqlite', [
      knowledgeStorageModuleWith({ selectiveFilterRows: 0, quantizedMinDimensions: 8 }),
    ]),
});

// SQLite without sqlite-vec loaded (a connection the caller opened): the exact search in the application.
vectorStoreContract({
  name: 'sqlite without sqlite-vec (application exact)',
  open: async () => {
    const db = new Kysely<KaiwaDatabase>({
      dialect: new SqliteDialect({ database: new Database(':memory:') }),
    });
    const storage = createKyselyStorage({ db, dialect: 'sqlite', modules: [knowledgeStorageModule] });
    await storage.migrate();
    return storage;
  },
});

/** The cosine distance a brute-force scan ranks by, to check the stores' answers against. */
function cosineDistance(a: number[], b: number[]): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let index = 0; index < a.length; index++) {
    dot += (a[index] as number) * (b[index] as number);
    aa += (a[index] as number) ** 2;
    bb += (b[index] as number) ** 2;
  }
  return 1 - dot / Math.sqrt(aa * bb);
}

interface BruteForceFilter {
  roomIds?: string[];
  projectIds?: string[];
  fileIds?: string[];
  sourceType?: 'message' | 'file';
}

/** The ids of the `k` allowed chunks nearest to `vector`, by a scan of them all: what a store must answer. */
function bruteForceNearest(
  chunks: readonly {
    id: string;
    roomId: string;
    projectId?: string;
    fileId?: string;
    sourceType: string;
    vector: number[];
  }[],
  vector: number[],
  k: number,
  filter: BruteForceFilter,
): string[] {
  return chunks
    .filter(
      (chunk) =>
        (filter.roomIds?.includes(chunk.roomId) ||
          (chunk.projectId !== undefined && filter.projectIds?.includes(chunk.projectId)) ||
          (chunk.fileId !== undefined && filter.fileIds?.includes(chunk.fileId))) &&
        (!filter.sourceType || chunk.sourceType === filter.sourceType),
    )
    .map((chunk) => ({ id: chunk.id, distance: cosineDistance(chunk.vector, vector) }))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, k)
    .map((entry) => entry.id);
}

describe('knowledge module: vector search engines', () => {
  it('uses sqlite-vec on SQLite, when the package is installed', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModule]);
    try {
      await storage.knowledge.ensureIndex({ name: 'engine', model: 'test:m', dimensions: 4 });
      expect(await storage.knowledge.capabilities()).toEqual({
        search: 'approximate',
        engine: 'sqlite-vec (binary quantized, exact rerank)',
      });
    } finally {
      await storage.close();
    }
  });

  it.skipIf(testDatabaseUrl('postgres') === undefined || pgvectorSkip !== undefined)(
    'uses pgvector HNSW on PostgreSQL once an index is made',
    async () => {
      const storage = await openTestStorage('postgres', [knowledgeStorageModule]);
      try {
        await storage.knowledge.ensureIndex({ name: 'engine', model: 'test:m', dimensions: 4 });
        expect(await storage.knowledge.capabilities()).toEqual({
          search: 'approximate',
          engine: 'pgvector hnsw',
        });
      } finally {
        await storage.close();
      }
    },
  );

  it('fills the vec0 table of chunks written while sqlite-vec was not loaded', async () => {
    const database = new Database(':memory:');
    const open = () =>
      createKyselyStorage({
        db: new Kysely<KaiwaDatabase>({ dialect: new SqliteDialect({ database }) }),
        dialect: 'sqlite',
        modules: [knowledgeStorageModule],
      });
    const before = open();
    await before.migrate();
    const definition = { name: 'late', model: 'test:m', dimensions: 4 };
    await before.knowledge.ensureIndex(definition);
    const chunk = (id: string, vector: number[]) => ({
      id,
      sourceType: 'message' as const,
      sourceId: id,
      roomId: 'room',
      text: id,
      metadata: {},
      vector,
    });
    await before.knowledge.upsert('late', [chunk('a', [1, 0, 0, 0]), chunk('b', [0, 1, 0, 0])]);
    expect((await before.knowledge.capabilities()).engine).toContain('application exact');

    sqliteVec.load(database);
    const after = open();
    await after.knowledge.ensureIndex(definition);
    expect((await after.knowledge.capabilities()).engine).toContain('sqlite-vec');
    await after.knowledge.upsert('late', [chunk('c', [0, 0, 1, 0])]);
    for (const [vector, id] of [
      [[1, 0, 0, 0], 'a'],
      [[0, 1, 0, 0], 'b'],
      [[0, 0, 1, 0], 'c'],
    ] as const) {
      const [nearest] = await after.knowledge.query({
        index: 'late',
        model: 'test:m',
        vector,
        k: 1,
        filter: { roomIds: Array.from({ length: 3 }, () => 'room') },
      });
      expect(nearest?.chunk.id).toBe(id);
    }
    await after.close();
  });
});

describe('knowledge module: SQLite search paths against a brute-force scan', () => {
  /**
   * Three rooms of 8-dimension vectors: room `far` holds a tight cluster around the query, `a` and `b` hold
   * the rest; some chunks also carry a project or a file. Near the cluster the nearest vectors overall are
   * all in `far`, so a filter without it must look past them; each filter mixes the kinds of id, which
   * SQLite searches one kind at a time.
   */
  const dimensions = 8;
  const query = [1, 0, 0, 0, 0, 0, 0, 0];
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32 - 0.5;
    };
  }
  const next = random(42);
  const chunks = Array.from({ length: 300 }, (_, position) => {
    const room = position < 100 ? 'far' : position % 2 === 0 ? 'a' : 'b';
    const vector =
      room === 'far'
        ? query.map((value) => value + 0.05 * next())
        : Array.from({ length: dimensions }, () => next());
    return {
      id: `c${position}`,
      sourceType: (position % 3 === 0 ? 'message' : 'file') as 'message' | 'file',
      sourceId: `s${position}`,
      roomId: room,
      ...(position % 5 === 0 ? { projectId: 'project' } : {}),
      ...(position % 7 === 0 ? { fileId: 'file' } : {}),
      text: `chunk ${position}`,
      metadata: {},
      vector,
    };
  });
  const truth = (vector: number[], k: number, filter: BruteForceFilter) =>
    bruteForceNearest(chunks, vector, k, filter);

  for (const [path, selectiveFilterRows] of [
    ['vec0 KNN per kind of id', 0],
    ['scan of the allowed rows', 1000],
  ] as const) {
    it(`returns exactly the nearest allowed chunks (${path})`, async () => {
      const storage = await openTestStorage('sqlite', [
        knowledgeStorageModuleWith({ selectiveFilterRows, quantized: false }),
      ]);
      try {
        await storage.knowledge.ensureIndex({ name: 'broad', model: 'test:m', dimensions });
        await storage.knowledge.upsert('broad', chunks);
        const search = (vector: number[], k: number, filter: BruteForceFilter) =>
          storage.knowledge
            .query({ index: 'broad', model: 'test:m', vector, k, filter })
            .then((matches) => matches.map((match) => match.chunk.id));
        const filters: BruteForceFilter[] = [
          { roomIds: ['a', 'b'] },
          { roomIds: ['a', 'b'], sourceType: 'message' },
          { roomIds: ['a', 'b', 'far'] },
          { roomIds: ['a', 'far'] },
          { roomIds: ['a', 'b'], projectIds: ['project'] },
          { roomIds: ['b'], projectIds: ['project'], fileIds: ['file'] },
          { projectIds: ['project'], fileIds: ['file'], sourceType: 'file' },
        ];
        // Near the `far` cluster: the nearest overall are all in `far`.
        for (const filter of filters) expect(await search(query, 5, filter)).toEqual(truth(query, 5, filter));
        // Anywhere else.
        const generate = random(7);
        for (let attempt = 0; attempt < 15; attempt++) {
          const vector = Array.from({ length: dimensions }, () => generate());
          for (const filter of filters)
            expect(await search(vector, 7, filter)).toEqual(truth(vector, 7, filter));
        }
        // k beyond what the filter allows: every allowed chunk, nearest first.
        expect(await search(query, 250, { roomIds: ['a', 'b'] })).toEqual(
          truth(query, 250, { roomIds: ['a', 'b'] }),
        );
      } finally {
        await storage.close();
      }
    });
  }
});

describe('knowledge module: SQLite full text in a large store', () => {
  it('leaves out terms most chunks hold, which BM25 gives no weight, and keeps the order of the others', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModule]);
    try {
      await storage.knowledge.ensureIndex({ name: 'large', model: 'test:m', dimensions: 2 });
      const chunks = Array.from({ length: 12_000 }, (_, position) => ({
        id: `c${position}`,
        sourceType: 'file' as const,
        sourceId: `f${Math.floor(position / 100)}`,
        roomId: 'room',
        text: `the usual words ${position % 3 === 0 ? 'tertial' : ''} ${position === 7 ? 'zephyrine zephyrine' : ''} ${position === 9 ? 'zephyrine' : ''}`,
        metadata: {},
        vector: [1, 0],
      }));
      for (let start = 0; start < chunks.length; start += 1_000)
        await storage.knowledge.upsert('large', chunks.slice(start, start + 1_000));
      const search = (text: string) =>
        storage.knowledge
          .searchText({ index: 'large', text, k: 3, filter: { roomIds: ['room'] } })
          .then((matches) => matches.map((match) => match.chunk.id));
      expect(await search('the usual zephyrine')).toEqual(['c7', 'c9']);
      expect((await search('tertial')).every((id) => Number(id.slice(1)) % 3 === 0)).toBe(true);
      expect(await search('the usual words')).toEqual([]);
    } finally {
      await storage.close();
    }
  });
});

describe('knowledge module: SQLite binary-quantized search', () => {
  /**
   * 64 dimensions, four centres. Around each, room `far` holds a tight cluster (the nearest chunks overall)
   * and rooms `a` and `b` hold graded copies (noise growing with their number, so their order is defined);
   * 900 random chunks fill `a` and `b`. The copies share most of their centre's signs, so the Hamming pass
   * must find them among its candidates and the rerank must order them exactly, without one `far` chunk.
   */
  const dimensions = 64;
  function random(seed: number): () => number {
    let state = seed;
    return () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 2 ** 32 - 0.5;
    };
  }
  const next = random(11);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: dimensions }, () => next()));
  const near = (centre: number[], scale: number) => centre.map((value) => value + scale * next());
  type Chunk = {
    id: string;
    sourceType: 'message' | 'file';
    sourceId: string;
    roomId: string;
    projectId?: string;
    text: string;
    metadata: Record<string, unknown>;
    vector: number[];
  };
  const chunks: Chunk[] = [];
  const add = (roomId: string, vector: number[]) => {
    const position = chunks.length;
    chunks.push({
      id: `c${position}`,
      sourceType: position % 3 === 0 ? 'message' : 'file',
      sourceId: `s${position}`,
      roomId,
      ...(position % 5 === 0 ? { projectId: 'project' } : {}),
      text: `chunk ${position}`,
      metadata: {},
      vector,
    });
  };
  for (const centre of centres) {
    for (let copy = 0; copy < 25; copy++) add('far', near(centre, 0.02));
    for (let copy = 0; copy < 30; copy++) add(copy % 2 === 0 ? 'a' : 'b', near(centre, 0.05 + copy * 0.02));
  }
  for (let position = 0; position < 900; position++)
    add(
      position % 2 === 0 ? 'a' : 'b',
      Array.from({ length: dimensions }, () => next()),
    );

  type Filter = BruteForceFilter;
  const truth = (vector: number[], k: number, filter: Filter) => bruteForceNearest(chunks, vector, k, filter);
  const filters: Filter[] = [
    { roomIds: ['a', 'b'] },
    { roomIds: ['a'] },
    { roomIds: ['a', 'b'], sourceType: 'file' },
    { roomIds: ['b'], projectIds: ['project'] },
  ];

  it('returns the true nearest allowed chunks, never one of a room outside the filter', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModuleWith({ selectiveFilterRows: 0 })]);
    try {
      await storage.knowledge.ensureIndex({ name: 'signs', model: 'test:m', dimensions });
      await storage.knowledge.upsert('signs', chunks);
      const far = new Set(chunks.filter((chunk) => chunk.roomId === 'far').map((chunk) => chunk.id));
      for (const centre of centres)
        for (const filter of filters)
          for (const k of [1, 10, 20]) {
            const matches = await storage.knowledge.query({
              index: 'signs',
              model: 'test:m',
              vector: centre,
              k,
              filter,
            });
            const ids = matches.map((match) => match.chunk.id);
            // The same chunks, nearest first (copies at nearly the same distance may swap in float32).
            expect([...ids].sort()).toEqual(truth(centre, k, filter).sort());
            const distances = matches.map((match) => match.distance);
            expect(distances).toEqual([...distances].sort((a, b) => a - b));
            if (!filter.projectIds) expect(ids.some((id) => far.has(id))).toBe(false);
            // Distances are exact: the rerank computes them from the float vectors.
            for (const match of matches)
              expect(match.distance).toBeCloseTo(
                cosineDistance(chunks[Number(match.chunk.id.slice(1))]?.vector as number[], centre),
                5,
              );
          }
      // More candidates than allowed chunks (20 per neighbour): every allowed chunk is reranked.
      expect(
        (
          await storage.knowledge.query({
            index: 'signs',
            model: 'test:m',
            vector: centres[0] as number[],
            k: 60,
            filter: { roomIds: ['a', 'b'] },
          })
        ).map((match) => match.chunk.id),
      ).toEqual(truth(centres[0] as number[], 60, { roomIds: ['a', 'b'] }));
    } finally {
      await storage.close();
    }
  });

  it('keeps the quantized table in step with upserts, replacements and deletes', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModuleWith({ selectiveFilterRows: 0 })]);
    try {
      await storage.knowledge.ensureIndex({ name: 'steps', model: 'test:m', dimensions });
      await storage.knowledge.upsert('steps', chunks);
      const centre = centres[1] as number[];
      const search = (filter: Filter) =>
        storage.knowledge
          .query({ index: 'steps', model: 'test:m', vector: centre, k: 10, filter })
          .then((matches) => matches.map((match) => match.chunk.id));
      const [first] = truth(centre, 1, { roomIds: ['a', 'b'] });
      const moved = chunks.find((chunk) => chunk.id === first) as Chunk;
      // The nearest chunk moves to the far room: it must leave the answer at once.
      await storage.knowledge.upsert('steps', [{ ...moved, roomId: 'far' }]);
      expect(await search({ roomIds: ['a', 'b'] })).not.toContain(first);
      await storage.knowledge.deleteBySource('steps', {
        sourceType: moved.sourceType,
        sourceId: moved.sourceId,
      });
      expect(await search({ roomIds: ['a', 'b', 'far'] })).not.toContain(first);
      await storage.knowledge.deleteByRoom('steps', { roomId: 'a' });
      expect(
        (await search({ roomIds: ['a', 'b'] })).every((id) => chunks[Number(id.slice(1))]?.roomId === 'b'),
      ).toBe(true);
    } finally {
      await storage.close();
    }
  });

  it('searches an index made before the quantized table exactly, and fills the table on ensureIndex', async () => {
    const database = new Database(':memory:');
    sqliteVec.load(database);
    const storage = createKyselyStorage({
      db: new Kysely<KaiwaDatabase>({ dialect: new SqliteDialect({ database }) }),
      dialect: 'sqlite',
      modules: [knowledgeStorageModuleWith({ selectiveFilterRows: 0 })],
    });
    await storage.migrate();
    const definition = { name: 'older', model: 'test:m', dimensions };
    await storage.knowledge.ensureIndex(definition);
    await storage.knowledge.upsert('older', chunks.slice(0, 400));
    // As a database written before this version: the float vec0 table only.
    const table = (
      database
        .prepare(`select name from sqlite_master where name like 'knowledge_vecbit_%_${dimensions}'`)
        .get() as {
        name: string;
      }
    ).name;
    database.exec(`drop table ${table}`);
    await storage.knowledge.upsert('older', chunks.slice(400));
    const centre = centres[2] as number[];
    const search = () =>
      storage.knowledge
        .query({ index: 'older', model: 'test:m', vector: centre, k: 10, filter: { roomIds: ['a', 'b'] } })
        .then((matches) => matches.map((match) => match.chunk.id));
    expect(await search()).toEqual(truth(centre, 10, { roomIds: ['a', 'b'] }));
    await storage.knowledge.ensureIndex(definition);
    const count = database.prepare(`select count(*) as n from ${table}`).get() as { n: number };
    expect(count.n).toBe(chunks.length);
    expect(await search()).toEqual(truth(centre, 10, { roomIds: ['a', 'b'] }));
    await storage.close();
  });
});
