import {
  type ChatEngine,
  createId,
  type Message,
  type RoomEvent,
  type StoredMessage,
  type StoreRepositories,
} from '@kaiwa/core';
import {
  type BenchSettings,
  combineRounds,
  elapsedSince,
  type LatencyResult,
  type Level,
  latency,
  now,
  random,
  sampleLatency,
  type ThroughputResult,
  textPool,
  throughput,
} from './common.js';

/*
 * The workloads, written once for every database: a dialect module (sqlite.ts, postgres.ts) supplies a
 * `Subject` that can send through each level, and this file times them the same way.
 */

/** Users and rooms the fill created: every user is a member of every room. */
export interface Population {
  userIds: string[];
  roomIds: string[];
}

/** One database, reachable at every level. */
export interface Subject {
  /** Bare driver: `count` sends in one transaction, the store's statements, prepared. */
  bare(count: number): void | Promise<void>;
  /** Bare driver: what the store's background indexer does, run on the same schedule (SQLite only). */
  bareIndex?(): void | Promise<void>;
  /** Bare driver: as `bare`, with the FTS5 row written in the transaction, as before deferred indexing. */
  bareSyncFts?(count: number): void;
  /** Ends the sync-FTS level: marks its rows as indexed. */
  afterSyncFts?(): void;
  /** The store: `count` sends in one `store.transaction`. */
  storeTransaction<T>(work: (tx: StoreRepositories) => Promise<T>): Promise<T>;
  /** Indexes what is pending (the store's `flushSearchIndex`), counted in the time of store and engine. */
  flushStore(): Promise<void>;
  engine: ChatEngine;
  /** Bare driver: the two SELECTs of `store.messages.page` (messages, then their reactions). */
  historyBare(roomId: string): unknown;
  historyStore(roomId: string): Promise<unknown>;
}

const TEXTS = textPool(4096, 7);

export function sendPicker(population: Population, seed: number) {
  const next = random(seed);
  let i = 0;
  return () => {
    i += 1;
    return {
      roomId: population.roomIds[Math.floor(next() * population.roomIds.length)]!,
      authorId: population.userIds[Math.floor(next() * population.userIds.length)]!,
      text: TEXTS[i % TEXTS.length]!,
    };
  };
}

export function storedMessage(
  id: string,
  roomId: string,
  authorId: string,
  seq: number,
  text: string,
  createdAt: string,
): StoredMessage {
  return {
    id,
    roomId,
    authorId,
    seq,
    text,
    mentions: { userIds: [], room: false, here: false },
    threadRootId: null,
    replyToId: null,
    attachments: [],
    replyCount: 0,
    lastReplyAt: null,
    clientMessageId: null,
    metadata: {},
    createdAt,
    editedAt: null,
    deletedAt: null,
  };
}

/** The event the engine stores with a new message. */
export function createdEvent(stored: StoredMessage): RoomEvent {
  const message: Message = { ...stored, reactions: [] };
  return {
    roomId: stored.roomId,
    seq: stored.seq,
    type: 'message.created',
    payload: { message },
    createdAt: stored.createdAt,
  } as RoomEvent;
}

/** What the engine's send does inside its transaction, through the repositories. */
export async function storeSend(tx: StoreRepositories, roomId: string, authorId: string, text: string) {
  const seq = await tx.rooms.nextSeq(roomId);
  const stored = storedMessage(createId(), roomId, authorId, seq, text, new Date().toISOString());
  if ((await tx.messages.insert(stored)) !== 'inserted') throw new Error('unexpected duplicate');
  await tx.roomEvents.append(createdEvent(stored));
}

/** How often the bare level runs the indexer, like the store's timer (100 ms after a send). */
const INDEX_EVERY_MS = 100;

async function timeWrites(
  level: Level,
  mode: 'single' | 'batched',
  batch: number,
  total: number,
  warmup: number,
  run: (count: number) => unknown,
  finish: () => unknown,
  tick?: () => unknown,
): Promise<ThroughputResult> {
  for (let done = 0; done < warmup; done += batch) await run(batch);
  await finish();
  const start = now();
  let lastTick = start;
  for (let done = 0; done < total; done += batch) {
    await run(Math.min(batch, total - done));
    if (tick !== undefined && now() - lastTick >= INDEX_EVERY_MS) {
      await tick();
      lastTick = now();
    }
  }
  await finish();
  return throughput(level, mode, batch, total, elapsedSince(start));
}

export interface WriteCounts {
  single: number;
  batched: number;
}

/** Every write workload on one subject: single sends and batches at each level. */
export async function measureWrites(
  subject: Subject,
  population: Population,
  settings: BenchSettings,
  counts: WriteCounts,
  log: (line: string) => void,
): Promise<ThroughputResult[]> {
  const results: ThroughputResult[] = [];
  const batch = settings.batchSize;
  const warmup = Math.min(settings.warmup, counts.single);
  const bareIndex = async () => {
    await subject.bareIndex?.();
  };
  const report = (result: ThroughputResult) => {
    log(
      `  ${result.level.padEnd(13)} ${result.mode.padEnd(7)} ×${String(result.batch).padEnd(4)} ${Math.round(result.perSecond).toLocaleString('en')} msg/s (${result.messages} in ${result.seconds.toFixed(2)} s)`,
    );
  };
  const pick = sendPicker(population, 11);
  const storeWork = (count: number) =>
    subject.storeTransaction(async (tx) => {
      for (let i = 0; i < count; i++) {
        const { roomId, authorId, text } = pick();
        await storeSend(tx, roomId, authorId, text);
      }
    });
  // Loaded once, as a connection holds its user: the engine then reads no user per send.
  const heldUsers =
    settings.engineActor === 'user'
      ? new Map((await subject.engine.getUsers(population.userIds)).map((user) => [user.id, user]))
      : undefined;
  const engineWork = (count: number) =>
    Promise.all(
      Array.from({ length: count }, () => {
        const { roomId, authorId, text } = pick();
        return subject.engine.sendMessage(heldUsers?.get(authorId) ?? authorId, { roomId, text });
      }),
    );
  const flushStore = () => subject.flushStore();

  const rounds = Math.max(1, settings.rounds);
  const byKey = new Map<string, ThroughputResult[]>();
  const measured = (result: ThroughputResult) => {
    const key = `${result.level}/${result.mode}`;
    byKey.set(key, [...(byKey.get(key) ?? []), result]);
    if (rounds > 1 && key === 'bare/single') log(`  round ${byKey.get(key)!.length}/${rounds}`);
    report(result);
  };
  const share = (total: number, round: number) =>
    Math.floor(total / rounds) + (round < total % rounds ? 1 : 0);
  for (let round = 0; round < rounds; round++) {
    for (const [mode, size, all] of [
      ['single', 1, counts.single],
      ['batched', batch, counts.batched],
    ] as const) {
      const total = share(all, round);
      measured(
        await timeWrites('bare', mode, size, total, warmup, (n) => subject.bare(n), bareIndex, bareIndex),
      );
      if (subject.bareSyncFts) {
        measured(
          await timeWrites(
            'bare-sync-fts',
            mode,
            size,
            total,
            warmup,
            (n) => subject.bareSyncFts!(n),
            () => subject.afterSyncFts?.(),
          ),
        );
      }
      measured(await timeWrites('store', mode, size, total, warmup, storeWork, flushStore));
      measured(await timeWrites('engine', mode, size, total, warmup, engineWork, flushStore));
    }
  }
  for (const mode of ['single', 'batched']) {
    for (const [key, list] of byKey) if (key.endsWith(`/${mode}`)) results.push(combineRounds(list));
  }
  if (rounds > 1) {
    log('  medians:');
    for (const result of results) report(result);
  }
  return results;
}

/** History latency at each level: the newest 50 messages of a random room. */
export async function measureHistory(
  subject: Subject,
  population: Population,
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<LatencyResult[]> {
  const results: LatencyResult[] = [];
  const calls = settings.historyCalls;
  const warmup = Math.min(settings.warmup, calls);
  const rooms = population.roomIds;
  const users = population.userIds;
  const next = random(23);
  const room = () => rooms[Math.floor(next() * rooms.length)]!;
  const user = () => users[Math.floor(next() * users.length)]!;
  const check = (level: Level, count: number) => {
    if (count !== 50) throw new Error(`${level} history returned ${count} messages, not 50`);
  };
  const engine = subject.engine;
  const workloads = [
    ['bare', () => subject.historyBare(room())],
    // The engine asks the store for one more than it shows, to learn whether more exist.
    ['store', async () => check('store', ((await subject.historyStore(room())) as unknown[]).length - 1)],
    [
      'engine',
      async () =>
        check('engine', (await engine.history(user(), { roomId: room(), limit: 50 })).messages.length),
    ],
  ] as const;
  const rounds = Math.max(1, settings.rounds);
  const samples = new Map<Level, number[]>();
  for (let round = 0; round < rounds; round++) {
    const share = Math.floor(calls / rounds) + (round < calls % rounds ? 1 : 0);
    for (const [level, call] of workloads) {
      samples.set(level, [...(samples.get(level) ?? []), ...(await sampleLatency(share, warmup, call))]);
    }
  }
  for (const [level] of workloads) {
    const result = latency(level, samples.get(level)!);
    results.push(result);
    log(
      `  history ${level.padEnd(7)} p50 ${result.p50.toFixed(3)} ms  p99 ${result.p99.toFixed(3)} ms  (${result.calls} calls)`,
    );
  }
  return results;
}

/** The row values of a message, by column name, as the store writes them (SQLite and PostgreSQL alike). */
export function messageRow(message: StoredMessage): Record<string, unknown> {
  return {
    id: message.id,
    room_id: message.roomId,
    author_id: message.authorId,
    seq: message.seq,
    text: message.text,
    mentions: JSON.stringify(message.mentions),
    thread_root_id: message.threadRootId,
    reply_to_id: message.replyToId,
    attachments: JSON.stringify(message.attachments),
    reply_count: message.replyCount,
    last_reply_at: message.lastReplyAt,
    client_message_id: message.clientMessageId,
    metadata: JSON.stringify(message.metadata),
    created_at: message.createdAt,
    edited_at: message.editedAt,
    deleted_at: message.deletedAt,
  };
}

/** The row values of a message's `message.created` event. */
export function eventRow(message: StoredMessage): Record<string, unknown> {
  const event = createdEvent(message);
  return {
    room_id: event.roomId,
    seq: event.seq,
    type: event.type,
    payload: JSON.stringify(event.payload),
    created_at: event.createdAt,
  };
}
