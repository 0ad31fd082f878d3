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

// SQLite through sqlite-vec's vec0 table whatever the filter (small corpora otherwise scan the allowed rows).
vectorStoreContract({
  name: 'sqlite (sqlite-vec vec0 KNN), knowledge module only',
  open: () => openTestStorage('sqlite', [knowledgeStorageModuleWith({ selectiveFilterRows: 0 })]),
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

describe('knowledge module: vector search engines', () => {
  it('uses sqlite-vec on SQLite, when the package is installed', async () => {
    const storage = await openTestStorage('sqlite', [knowledgeStorageModule]);
    try {
      await storage.knowledge.ensureIndex({ name: 'engine', model: 'test:m', dimensions: 4 });
      expect(await storage.knowledge.capabilities()).toEqual({ search: 'exact', engine: 'sqlite-vec' });
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
    expect(await after.knowledge.capabilities()).toEqual({ search: 'exact', engine: 'sqlite-vec' });
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
  const cosineDistance = (a: number[], b: number[]) => {
    let dot = 0;
    let aa = 0;
    let bb = 0;
    for (let index = 0; index < a.length; index++) {
      dot += (a[index] as number) * (b[index] as number);
      aa += (a[index] as number) ** 2;
      bb += (b[index] as number) ** 2;
    }
    return 1 - dot / Math.sqrt(aa * bb);
  };
  type Filter = {
    roomIds?: string[];
    projectIds?: string[];
    fileIds?: string[];
    sourceType?: 'message' | 'file';
  };
  const allowed = (chunk: (typeof chunks)[number], filter: Filter) =>
    (filter.roomIds?.includes(chunk.roomId) ||
      (chunk.projectId !== undefined && filter.projectIds?.includes(chunk.projectId)) ||
      (chunk.fileId !== undefined && filter.fileIds?.includes(chunk.fileId))) &&
    (!filter.sourceType || chunk.sourceType === filter.sourceType);
  const truth = (vector: number[], k: number, filter: Filter) =>
    chunks
      .filter((chunk) => allowed(chunk, filter))
      .map((chunk) => ({ id: chunk.id, distance: cosineDistance(chunk.vector, vector) }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, k)
      .map((entry) => entry.id);

  for (const [path, selectiveFilterRows] of [
    ['vec0 KNN per kind of id', 0],
    ['scan of the allowed rows', 1000],
  ] as const) {
    it(`returns exactly the nearest allowed chunks (${path})`, async () => {
      const storage = await openTestStorage('sqlite', [knowledgeStorageModuleWith({ selectiveFilterRows })]);
      try {
        await storage.knowledge.ensureIndex({ name: 'broad', model: 'test:m', dimensions });
        await storage.knowledge.upsert('broad', chunks);
        const search = (vector: number[], k: number, filter: Filter) =>
          storage.knowledge
            .query({ index: 'broad', model: 'test:m', vector, k, filter })
            .then((matches) => matches.map((match) => match.chunk.id));
        const filters: Filter[] = [
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
