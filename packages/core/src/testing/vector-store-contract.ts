import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaiwaError } from '../errors.js';
import { createId } from '../ids.js';
import { type KnowledgeStorage, type VectorChunk, VectorIndexMismatchError } from '../ports/vector-store.js';

/** The tests of {@link vectorStoreContract}, by the key `skipTests` takes. */
export type VectorStoreContractTest =
  | 'index'
  | 'round-trip'
  | 'nearest-exact'
  | 'recall'
  | 'filter-before-ranking'
  | 'filter-kinds'
  | 'no-filter-no-results'
  | 'model-mismatch'
  | 'delete-by-source'
  | 'delete-by-room'
  | 'replace-source-atomic'
  | 'full-text'
  | 'full-text-filter'
  | 'full-text-follows-writes'
  | 'full-text-documents-only'
  | 'drop-index';

export interface VectorStoreContractOptions {
  /** Shown in the test names, e.g. `postgres (pgvector)`. */
  name: string;
  /** Opens a fresh, migrated store with knowledge storage; `close()` is called at the end. */
  open: () => Promise<KnowledgeStorage & { close(): Promise<void> }>;
  /** When set, the whole suite is skipped and this reason shown. */
  skip?: string;
  /** Tests to skip, each with its reason. */
  skipTests?: Partial<Record<VectorStoreContractTest, string>>;
}

/**
 * Clustered unit vectors from a seeded generator: `clusters` centres, each point its centre plus a little
 * noise. Approximate indexes find next to nothing on uniform random vectors (every point is about equally
 * far from every other), so tests and benchmarks use data with structure, as real embeddings have.
 *
 * @example
 * const vectors = clusteredVectors({ count: 1_000, dimensions: 32, clusters: 20, seed: 7 });
 */
export function clusteredVectors(options: {
  count: number;
  dimensions: number;
  clusters: number;
  seed: number;
  /** Noise relative to the centre; 0.3 by default. */
  spread?: number;
}): Float32Array[] {
  const random = seededNormal(options.seed);
  const centres = Array.from({ length: options.clusters }, () =>
    normalize(Float32Array.from({ length: options.dimensions }, random)),
  );
  const spread = options.spread ?? 0.3;
  return Array.from({ length: options.count }, (_, index) => {
    const centre = centres[index % options.clusters] as Float32Array;
    return normalize(centre.map((value) => value + (spread * random()) / Math.sqrt(options.dimensions)));
  });
}

function seededNormal(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum) || 1;
  return vector.map((value) => value / norm);
}

function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index++) {
    const x = a[index] as number;
    const y = b[index] as number;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return 1 - dot / (Math.sqrt(normA * normB) || 1);
}

/**
 * The conformance suite of `VectorStore`: indexes record their model and dimension and refuse others,
 * chunks round-trip with their source and metadata, the nearest neighbours come nearest first (exactly, or
 * with high recall for an approximate index), the filter applies before ranking (the nearest vector of a
 * room the filter leaves out is never returned, and the allowed chunks still fill `k`), an empty filter
 * returns nothing, deletes by source remove only that source, and replacing a source is all or nothing.
 * The full-text search finds a document chunk by any of its words (or its `fullText`), ranks chunks holding
 * more of the query's words first, applies the same filter before ranking, follows replaces and deletes, and
 * never returns a message chunk; dropping an index removes it with its chunks and leaves the others.
 *
 * @example
 * vectorStoreContract({ name: 'sqlite', open: () => openKnowledgeStorage('sqlite') });
 */
export function vectorStoreContract(options: VectorStoreContractOptions): void {
  const test = (key: VectorStoreContractTest, title: string, body: () => Promise<void>) => {
    const reason = options.skipTests?.[key];
    if (reason) it.skip(`${title} (skipped: ${reason})`, body);
    else it(title, body);
  };
  const suite = options.skip ? describe.skip : describe;

  suite(`VectorStore contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    let store: KnowledgeStorage & { close(): Promise<void> };
    const dimensions = 24;
    const model = 'test:clustered';
    const newIndex = async () => {
      const name = `contract-${randomBytes(4).toString('hex')}`;
      await store.knowledge.ensureIndex({ name, model, dimensions });
      return name;
    };
    const chunk = (vector: ArrayLike<number>, patch: Partial<VectorChunk> = {}): VectorChunk => {
      const sourceId = createId();
      return {
        id: `message:${sourceId}`,
        sourceType: 'message',
        sourceId,
        roomId: null,
        text: 'text',
        metadata: {},
        vector: Array.from(vector),
        ...patch,
      };
    };
    /** A document chunk: the only kind `searchText` finds. */
    const document = (vector: ArrayLike<number>, patch: Partial<VectorChunk> = {}): VectorChunk => {
      const fileId = createId();
      return chunk(vector, {
        id: `file:${fileId}:0`,
        sourceType: 'file',
        sourceId: fileId,
        fileId,
        ...patch,
      });
    };
    const ids = (matches: readonly { chunk: { id: string } }[]) => matches.map((match) => match.chunk.id);

    beforeAll(async () => {
      store = await options.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    test('index', 'ensureIndex creates an index once, with its model and dimension', async () => {
      const name = `contract-${randomBytes(4).toString('hex')}`;
      expect(await store.knowledge.getIndex(name)).toBeUndefined();
      const created = await store.knowledge.ensureIndex({ name, model, dimensions });
      expect(created).toMatchObject({ name, model, dimensions });
      expect(await store.knowledge.ensureIndex({ name, model, dimensions })).toEqual(created);
      expect(await store.knowledge.getIndex(name)).toEqual(created);
      await expect(store.knowledge.ensureIndex({ name, model: 'other:model', dimensions })).rejects.toThrow(
        VectorIndexMismatchError,
      );
      await expect(store.knowledge.ensureIndex({ name, model, dimensions: dimensions + 1 })).rejects.toThrow(
        VectorIndexMismatchError,
      );
      await expect(store.knowledge.upsert(`missing-${name}`, [])).rejects.toSatisfy(
        (error) => KaiwaError.isInstance(error) && error.code === 'not_found',
      );
      expect(await store.knowledge.count(name)).toBe(0);
    });

    test(
      'round-trip',
      'a chunk round-trips with its source, page, text and metadata; an upsert replaces it',
      async () => {
        const index = await newIndex();
        const [vector] = clusteredVectors({ count: 1, dimensions, clusters: 1, seed: 1 });
        const roomId = createId();
        const fileId = createId();
        const written = chunk(vector as Float32Array, {
          id: `file:${fileId}:2`,
          sourceType: 'file',
          sourceId: fileId,
          roomId,
          projectId: null,
          fileId,
          page: 2,
          text: '会議の議事録 — minutes ✓',
          metadata: { headings: ['Intro', 'Scope'], messageIds: [] },
        });
        await store.knowledge.upsert(index, [written]);
        const [match] = await store.knowledge.query({
          index,
          model,
          vector: written.vector,
          k: 1,
          filter: { roomIds: [roomId] },
        });
        const { vector: _vector, ...expected } = written;
        expect(match?.chunk).toEqual({ ...expected, projectId: null });
        expect(match?.distance).toBeCloseTo(0, 4);
        await store.knowledge.upsert(index, [{ ...written, text: 'replaced' }]);
        expect(await store.knowledge.count(index)).toBe(1);
        const [again] = await store.knowledge.query({
          index,
          model,
          vector: written.vector,
          k: 1,
          filter: { fileIds: [fileId] },
        });
        expect(again?.chunk.text).toBe('replaced');
      },
    );

    // Shared data for the ranking tests: 600 clustered vectors over three rooms.
    const roomIds = [createId(), createId(), createId()];
    const corpus = clusteredVectors({ count: 600, dimensions, clusters: 12, seed: 42 }).map((vector, index) =>
      chunk(vector, { roomId: roomIds[index % 3] as string, text: `chunk ${index}` }),
    );
    const queries = clusteredVectors({ count: 20, dimensions, clusters: 12, seed: 42, spread: 0.5 }).slice(
      0,
      20,
    );
    let rankingIndex: string | undefined;
    const ranking = async () => {
      if (rankingIndex) return rankingIndex;
      rankingIndex = await newIndex();
      for (let start = 0; start < corpus.length; start += 200)
        await store.knowledge.upsert(rankingIndex, corpus.slice(start, start + 200));
      return rankingIndex;
    };
    const bruteForce = (vector: ArrayLike<number>, allowed: Set<string>, k: number) =>
      corpus
        .filter((entry) => allowed.has(entry.roomId as string))
        .map((entry) => ({ id: entry.id, distance: cosineDistance(entry.vector, vector) }))
        .sort((a, b) => a.distance - b.distance)
        .slice(0, k);

    test(
      'nearest-exact',
      'an exact store returns the true 10 nearest, nearest first, with their distances',
      async () => {
        const index = await ranking();
        for (const vector of queries.slice(0, 5)) {
          const matches = await store.knowledge.query({
            index,
            model,
            vector: Array.from(vector),
            k: 10,
            filter: { roomIds },
          });
          const expected = bruteForce(vector, new Set(roomIds), 10);
          expect(ids(matches)).toEqual(expected.map((entry) => entry.id));
          for (const [position, match] of matches.entries())
            expect(match.distance).toBeCloseTo(expected[position]?.distance ?? Number.NaN, 4);
        }
      },
    );

    test('recall', 'recall@10 is at least 0.9 on clustered data', async () => {
      const index = await ranking();
      let found = 0;
      for (const vector of queries) {
        const matches = await store.knowledge.query({
          index,
          model,
          vector: Array.from(vector),
          k: 10,
          filter: { roomIds },
        });
        const truth = new Set(bruteForce(vector, new Set(roomIds), 10).map((entry) => entry.id));
        found += ids(matches).filter((id) => truth.has(id)).length;
        const distances = matches.map((match) => match.distance);
        expect(distances).toEqual([...distances].sort((a, b) => a - b));
      }
      expect(found / (queries.length * 10)).toBeGreaterThanOrEqual(0.9);
    });

    test(
      'filter-before-ranking',
      'the nearest vector of a room outside the filter is never returned, and k still fills',
      async () => {
        const index = await ranking();
        const [allowed, , denied] = roomIds as [string, string, string];
        for (const target of corpus.filter((entry) => entry.roomId === denied).slice(0, 5)) {
          const matches = await store.knowledge.query({
            index,
            model,
            vector: target.vector,
            k: 10,
            filter: { roomIds: [allowed] },
          });
          expect(matches).toHaveLength(10);
          expect(matches.every((match) => match.chunk.roomId === allowed)).toBe(true);
          expect(ids(matches)).not.toContain(target.id);
        }
      },
    );

    test('filter-kinds', 'files and projects pass by their own lists; sourceType narrows', async () => {
      const index = await newIndex();
      const [vector] = clusteredVectors({ count: 1, dimensions, clusters: 1, seed: 5 });
      const fileId = createId();
      const projectId = createId();
      const privateRoom = createId();
      const inFile = chunk(vector as Float32Array, {
        id: 'f',
        sourceType: 'file',
        sourceId: fileId,
        fileId,
        roomId: privateRoom,
      });
      const inProject = chunk(vector as Float32Array, {
        id: 'p',
        sourceType: 'file',
        sourceId: createId(),
        projectId,
      });
      const inRoom = chunk(vector as Float32Array, { id: 'r', roomId: privateRoom });
      await store.knowledge.upsert(index, [inFile, inProject, inRoom]);
      const query = (filter: Parameters<typeof store.knowledge.query>[0]['filter']) =>
        store.knowledge
          .query({ index, model, vector: Array.from(vector as Float32Array), k: 10, filter })
          .then((matches) => ids(matches).sort());
      expect(await query({ fileIds: [fileId] })).toEqual(['f']);
      expect(await query({ projectIds: [projectId] })).toEqual(['p']);
      expect(await query({ roomIds: [privateRoom] })).toEqual(['f', 'r']);
      expect(await query({ roomIds: [privateRoom], sourceType: 'message' })).toEqual(['r']);
      expect(await query({ roomIds: [privateRoom], projectIds: [projectId] })).toEqual(['f', 'p', 'r']);
    });

    test('no-filter-no-results', 'an empty filter allows nothing', async () => {
      const index = await ranking();
      const vector = Array.from(queries[0] as Float32Array);
      expect(await store.knowledge.query({ index, model, vector, k: 10, filter: {} })).toEqual([]);
      expect(await store.knowledge.query({ index, model, vector, k: 10, filter: { roomIds: [] } })).toEqual(
        [],
      );
    });

    test('model-mismatch', 'a query or a vector from another model or dimension is refused', async () => {
      const index = await ranking();
      const vector = Array.from(queries[0] as Float32Array);
      const filter = { roomIds };
      await expect(
        store.knowledge.query({ index, model: 'other:model', vector, k: 10, filter }),
      ).rejects.toThrow(VectorIndexMismatchError);
      await expect(
        store.knowledge.query({ index, model, vector: vector.slice(1), k: 10, filter }),
      ).rejects.toThrow(VectorIndexMismatchError);
      await expect(
        store.knowledge.upsert(index, [chunk(vector.slice(2), { roomId: roomIds[0] as string })]),
      ).rejects.toThrow(VectorIndexMismatchError);
    });

    test(
      'delete-by-source',
      'deleteBySource removes every chunk of one source and nothing else',
      async () => {
        const index = await newIndex();
        const vectors = clusteredVectors({ count: 5, dimensions, clusters: 1, seed: 9 });
        const roomId = createId();
        const fileId = createId();
        const fileChunks = vectors.slice(0, 3).map((vector, page) =>
          chunk(vector, {
            id: `file:${fileId}:${page}`,
            sourceType: 'file',
            sourceId: fileId,
            fileId,
            roomId,
            page,
          }),
        );
        const others = vectors.slice(3).map((vector) => chunk(vector, { roomId }));
        await store.knowledge.upsert(index, [...fileChunks, ...others]);
        expect(await store.knowledge.deleteBySource(index, { sourceType: 'message', sourceId: fileId })).toBe(
          0,
        );
        expect(await store.knowledge.deleteBySource(index, { sourceType: 'file', sourceId: fileId })).toBe(3);
        expect(await store.knowledge.count(index)).toBe(2);
        const matches = await store.knowledge.query({
          index,
          model,
          vector: Array.from(vectors[0] as Float32Array),
          k: 10,
          filter: { roomIds: [roomId] },
        });
        expect(ids(matches).sort()).toEqual(others.map((entry) => entry.id).sort());
      },
    );

    test(
      'delete-by-room',
      "deleteByRoom removes one room's chunks (of one source type when given) and nothing else",
      async () => {
        const index = await newIndex();
        const vectors = clusteredVectors({ count: 6, dimensions, clusters: 1, seed: 10 });
        const [roomId, otherRoomId, fileId] = [createId(), createId(), createId()];
        const messages = vectors.slice(0, 2).map((vector) => chunk(vector, { roomId }));
        const file = chunk(vectors[2] as Float32Array, {
          id: `file:${fileId}:0`,
          sourceType: 'file',
          sourceId: fileId,
          fileId,
          roomId,
        });
        const elsewhere = vectors.slice(3).map((vector) => chunk(vector, { roomId: otherRoomId }));
        await store.knowledge.upsert(index, [...messages, file, ...elsewhere]);
        expect(await store.knowledge.deleteByRoom(index, { roomId, sourceType: 'message' })).toBe(2);
        const query = (roomIds: string[]) =>
          store.knowledge.query({
            index,
            model,
            vector: Array.from(vectors[0] as Float32Array),
            k: 10,
            filter: { roomIds },
          });
        expect(ids(await query([roomId]))).toEqual([file.id]);
        expect(await store.knowledge.deleteByRoom(index, { roomId })).toBe(1);
        expect(await query([roomId])).toEqual([]);
        expect(ids(await query([otherRoomId])).sort()).toEqual(elsewhere.map((entry) => entry.id).sort());
        expect(await store.knowledge.count(index)).toBe(3);
      },
    );

    test(
      'replace-source-atomic',
      'replaceSource swaps a source whole, and a failing replacement keeps the old chunks',
      async () => {
        const index = await newIndex();
        const vectors = clusteredVectors({ count: 4, dimensions, clusters: 2, seed: 11 });
        const fileId = createId();
        const roomId = createId();
        const source = { sourceType: 'file' as const, sourceId: fileId };
        const version = (label: string, count: number) =>
          vectors.slice(0, count).map((vector, part) =>
            chunk(vector, {
              id: `file:${fileId}:${part}`,
              ...source,
              fileId,
              roomId,
              text: `${label} ${part}`,
            }),
          );
        await store.knowledge.replaceSource(index, source, version('first', 3));
        await store.knowledge.replaceSource(index, source, version('second', 2));
        expect(await store.knowledge.count(index)).toBe(2);
        const broken = [
          ...version('third', 3),
          chunk([1, 2, 3], { id: `file:${fileId}:9`, ...source, roomId }),
        ];
        await expect(store.knowledge.replaceSource(index, source, broken)).rejects.toThrow(
          VectorIndexMismatchError,
        );
        const matches = await store.knowledge.query({
          index,
          model,
          vector: Array.from(vectors[0] as Float32Array),
          k: 10,
          filter: { roomIds: [roomId] },
        });
        expect(matches.map((match) => match.chunk.text).sort()).toEqual(['second 0', 'second 1']);
      },
    );
    test(
      'full-text',
      'searchText finds chunks by any of their words, the one holding more words first, and by fullText',
      async () => {
        const index = await newIndex();
        const roomId = createId();
        const [vector] = clusteredVectors({ count: 1, dimensions, clusters: 1, seed: 12 });
        const at = (id: string, text: string, fullText?: string) =>
          document(vector as Float32Array, {
            id,
            roomId,
            text,
            ...(fullText === undefined ? {} : { fullText }),
          });
        await store.knowledge.upsert(index, [
          at('both', 'The zephyrine archive keeps the quarterly reports'),
          at('one', 'Our archive room is on the second floor'),
          at('none', 'Lunch is served at noon'),
          at(
            'titled',
            'Rotate it every ninety days',
            'Deploy keys › Rotation\n\nRotate it every ninety days',
          ),
          at('cjk', '東京タワーの展望台は二つある'),
        ]);
        const search = (text: string) =>
          store.knowledge
            .searchText({ index, text, k: 10, filter: { roomIds: [roomId] } })
            .then((matches) => ids(matches));
        expect(await search('zephyrine archive')).toEqual(['both', 'one']);
        expect(await search('ZEPHYRINE')).toEqual(['both']);
        expect(await search('rotation of deploy keys')).toEqual(['titled']);
        expect(await search('タワー')).toEqual(['cjk']);
        expect(await search('nothing matches this')).toEqual([]);
        expect(await search('  ')).toEqual([]);
        const [first] = await store.knowledge.searchText({
          index,
          text: 'zephyrine archive',
          k: 1,
          filter: { roomIds: [roomId] },
        });
        expect(first?.chunk).toMatchObject({
          id: 'both',
          roomId,
          text: expect.stringContaining('zephyrine'),
        });
        expect(typeof first?.score).toBe('number');
      },
    );

    test(
      'full-text-filter',
      'searchText ranks only what the filter allows: a better match elsewhere never shows, and k still fills',
      async () => {
        const index = await newIndex();
        const [allowed, denied, fileId, projectId] = [createId(), createId(), createId(), createId()];
        const [vector] = clusteredVectors({ count: 1, dimensions, clusters: 1, seed: 13 });
        const at = (id: string, text: string, patch: Partial<VectorChunk>) =>
          document(vector as Float32Array, { id, text, ...patch });
        await store.knowledge.upsert(index, [
          // The best match of all, in a room the filter leaves out.
          at('denied', 'marmalade marmalade marmalade password', { roomId: denied }),
          ...Array.from({ length: 12 }, (_, position) =>
            at(`allowed-${position}`, `marmalade note ${position}`, { roomId: allowed }),
          ),
          at('file', 'marmalade recipe', { sourceId: fileId, fileId, roomId: denied }),
          at('project', 'marmalade plan', { fileId: null, projectId }),
        ]);
        const search = (filter: Parameters<typeof store.knowledge.searchText>[0]['filter'], k = 10) =>
          store.knowledge.searchText({ index, text: 'marmalade password', k, filter }).then(ids);
        const found = await search({ roomIds: [allowed] });
        expect(found).toHaveLength(10);
        expect(found.every((id) => id.startsWith('allowed-'))).toBe(true);
        expect((await search({ fileIds: [fileId] })).sort()).toEqual(['file']);
        expect((await search({ projectIds: [projectId] })).sort()).toEqual(['project']);
        expect(await search({ roomIds: [denied] })).toEqual(['denied', 'file']);
        expect(await search({ roomIds: [denied], sourceType: 'file' })).toEqual(['denied', 'file']);
        expect(await search({ roomIds: [denied], sourceType: 'message' })).toEqual([]);
        expect(await search({})).toEqual([]);
        expect(await search({ roomIds: [] })).toEqual([]);
      },
    );

    test(
      'full-text-follows-writes',
      'searchText sees replaced text, and nothing of deleted chunks',
      async () => {
        const index = await newIndex();
        const vectors = clusteredVectors({ count: 3, dimensions, clusters: 1, seed: 14 });
        const [roomId, fileId] = [createId(), createId()];
        const source = { sourceType: 'file' as const, sourceId: fileId };
        const version = (words: string, count: number) =>
          vectors.slice(0, count).map((vector, part) =>
            chunk(vector, {
              id: `file:${fileId}:${part}`,
              ...source,
              fileId,
              roomId,
              text: `${words} ${part}`,
            }),
          );
        const search = (text: string) =>
          store.knowledge.searchText({ index, text, k: 10, filter: { roomIds: [roomId] } }).then(ids);
        await store.knowledge.replaceSource(index, source, version('apricot', 3));
        expect(await search('apricot')).toHaveLength(3);
        await store.knowledge.replaceSource(index, source, version('quince', 2));
        expect(await search('apricot')).toEqual([]);
        expect(await search('quince')).toHaveLength(2);
        // Another document, written by upsert rather than replaceSource.
        const other = document(vectors[0] as Float32Array, { roomId, text: 'quince jelly' });
        await store.knowledge.upsert(index, [other]);
        await store.knowledge.upsert(index, [{ ...other, text: 'plum jelly' }]);
        expect(await search('quince')).toHaveLength(2);
        expect(await search('plum')).toEqual([other.id]);
        expect(await store.knowledge.deleteBySource(index, source)).toBe(2);
        expect(await search('quince')).toEqual([]);
        expect(await store.knowledge.deleteByRoom(index, { roomId })).toBe(1);
        expect(await search('plum jelly')).toEqual([]);
      },
    );

    test(
      'full-text-documents-only',
      'searchText never returns a message chunk, whatever its words and the filter; documents beside it still',
      async () => {
        const index = await newIndex();
        const [roomId, otherRoomId] = [createId(), createId()];
        const vectors = clusteredVectors({ count: 4, dimensions, clusters: 1, seed: 16 });
        const said = chunk(vectors[0] as Float32Array, { roomId, text: 'the gooseberry fool recipe' });
        const thread = chunk(vectors[1] as Float32Array, {
          roomId,
          text: 'gooseberry',
          fullText: 'gooseberry gooseberry',
        });
        const written = document(vectors[2] as Float32Array, {
          roomId,
          text: 'gooseberry fool, written down',
        });
        const elsewhere = document(vectors[3] as Float32Array, {
          roomId: otherRoomId,
          text: 'gooseberry jam',
        });
        await store.knowledge.upsert(index, [said, thread, written, elsewhere]);
        const search = (
          filter: Parameters<typeof store.knowledge.searchText>[0]['filter'],
          text = 'gooseberry',
        ) => store.knowledge.searchText({ index, text, k: 10, filter }).then(ids);
        expect(await search({ roomIds: [roomId] })).toEqual([written.id]);
        expect(await search({ roomIds: [roomId] }, 'the gooseberry fool recipe')).toEqual([written.id]);
        expect(await search({ roomIds: [roomId], sourceType: 'message' })).toEqual([]);
        expect(await search({ roomIds: [roomId, otherRoomId] }).then((found) => found.sort())).toEqual(
          [written.id, elsewhere.id].sort(),
        );
        expect(await search({ roomIds: [otherRoomId] })).toEqual([elsewhere.id]);
        // Still found by their vectors: only the text search leaves them out.
        const near = await store.knowledge.query({
          index,
          model,
          vector: Array.from(vectors[0] as Float32Array),
          k: 10,
          filter: { roomIds: [roomId], sourceType: 'message' },
        });
        expect(ids(near).sort()).toEqual([said.id, thread.id].sort());
        // A message chunk rewritten (by upsert or replaceSource) stays out; a document becoming a message
        // chunk of the same id leaves the text search, and a message chunk becoming a document enters it.
        await store.knowledge.upsert(index, [{ ...said, text: 'gooseberry again' }]);
        await store.knowledge.replaceSource(index, { sourceType: 'message', sourceId: thread.sourceId }, [
          { ...thread, text: 'gooseberry once more' },
        ]);
        expect(await search({ roomIds: [roomId] })).toEqual([written.id]);
        await store.knowledge.upsert(index, [
          { ...written, sourceType: 'message', sourceId: createId(), fileId: null },
          { ...said, sourceType: 'file', sourceId: createId(), fileId: createId(), text: 'gooseberry again' },
        ]);
        expect(await search({ roomIds: [roomId] })).toEqual([said.id]);
        expect(await store.knowledge.count(index)).toBe(4);
      },
    );

    test('drop-index', 'dropIndex removes an index with its chunks and leaves the others', async () => {
      const [kept, dropped] = [await newIndex(), await newIndex()];
      const roomId = createId();
      const [vector] = clusteredVectors({ count: 1, dimensions, clusters: 1, seed: 15 });
      for (const index of [kept, dropped])
        await store.knowledge.upsert(index, [
          document(vector as Float32Array, { id: 'same', roomId, text: 'tangerine' }),
        ]);
      expect((await store.knowledge.listIndexes()).map((index) => index.name)).toEqual(
        expect.arrayContaining([kept, dropped]),
      );
      expect(await store.knowledge.dropIndex(dropped)).toBe(true);
      expect(await store.knowledge.dropIndex(dropped)).toBe(false);
      expect(await store.knowledge.getIndex(dropped)).toBeUndefined();
      expect((await store.knowledge.listIndexes()).map((index) => index.name)).not.toContain(dropped);
      await expect(store.knowledge.count(dropped)).resolves.toBe(0);
      const filter = { roomIds: [roomId] };
      expect(ids(await store.knowledge.searchText({ index: kept, text: 'tangerine', k: 5, filter }))).toEqual(
        ['same'],
      );
      expect(
        ids(
          await store.knowledge.query({
            index: kept,
            model,
            vector: Array.from(vector as Float32Array),
            k: 5,
            filter,
          }),
        ),
      ).toEqual(['same']);
      // The same name again starts empty.
      await store.knowledge.ensureIndex({ name: dropped, model, dimensions });
      expect(await store.knowledge.count(dropped)).toBe(0);
      expect(await store.knowledge.searchText({ index: dropped, text: 'tangerine', k: 5, filter })).toEqual(
        [],
      );
      expect(
        await store.knowledge.query({
          index: dropped,
          model,
          vector: Array.from(vector as Float32Array),
          k: 5,
          filter,
        }),
      ).toEqual([]);
    });
  });
}
