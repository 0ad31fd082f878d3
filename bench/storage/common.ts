import { performance } from 'node:perf_hooks';

/*
 * Shared pieces of the storage benchmark: timing, percentiles, deterministic test data and the shapes
 * of its results.
 */

/** Sends per second of one measured write workload. */
export interface ThroughputResult {
  level: Level;
  mode: 'single' | 'batched';
  /** Messages per transaction (batched) or sends in flight (engine, batched). */
  batch: number;
  messages: number;
  seconds: number;
  /** The median of the rounds' rates (levels take turns round by round, so load spikes hit all alike). */
  perSecond: number;
  /** Each round's rate, msg/s. */
  rounds: number[];
}

/** Latency of one read workload, in milliseconds. */
export interface LatencyResult {
  level: Level;
  calls: number;
  p50: number;
  p99: number;
  mean: number;
}

/**
 * - `bare`: the driver alone running the store's statements (captured from the store), prepared once.
 * - `bare-sync-fts`: as bare, plus the FTS5 row in every send's transaction (the layout before deferred indexing).
 * - `store`: `store.transaction` with the repository calls the engine makes.
 * - `engine`: `ChatEngine.sendMessage` / `history`, which also validate, read and check permissions.
 */
export type Level = 'bare' | 'bare-sync-fts' | 'store' | 'engine';

export interface DialectResult {
  dialect: 'sqlite' | 'postgres';
  /** Messages in the store when measuring started. */
  messages: number;
  rooms: number;
  fillSeconds: number | null;
  /** Whether the filled database came from the cache (`.bench-data/` or the kept PostgreSQL schema). */
  cached: boolean;
  databaseVersion: string;
  inserts: ThroughputResult[];
  history: LatencyResult[];
  /** The statements the bare levels run, as captured from the store. */
  statements: Record<string, string>;
}

export interface BenchResult {
  startedAt: string;
  command: string;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  settings: BenchSettings;
  dialects: DialectResult[];
}

export interface BenchSettings {
  /** Messages the store holds before measuring. */
  messages: number;
  rooms: number;
  users: number;
  /** Sends measured per level, one transaction each. */
  singleSends: number;
  /** Sends measured per level in batches of `batchSize`. */
  batchedSends: number;
  batchSize: number;
  /** History calls per level. */
  historyCalls: number;
  /** Sends and reads before each measurement, not counted. */
  warmup: number;
  /** Every measurement is split in this many rounds, the levels taking turns. */
  rounds: number;
  /** Per dialect, how many of the single sends (PostgreSQL commits wait for the disk). */
  postgresSingleSends: number;
  postgresBatchedSends: number;
  /**
   * How the engine level names the sender: `id` (as bots, workflows and plugins do: the engine reads the
   * user) or `user`, a `User` loaded once (as the realtime connection and REST routes hold it). Default `id`.
   */
  engineActor?: 'id' | 'user';
}

export function elapsedSince(start: number): number {
  return (performance.now() - start) / 1000;
}

export function now(): number {
  return performance.now();
}

export function throughput(
  level: Level,
  mode: 'single' | 'batched',
  batch: number,
  messages: number,
  seconds: number,
): ThroughputResult {
  return {
    level,
    mode,
    batch,
    messages,
    seconds,
    perSecond: messages / seconds,
    rounds: [messages / seconds],
  };
}

/** Rounds of one workload as one result: counts and times add up, the rate is the median round's. */
export function combineRounds(results: ThroughputResult[]): ThroughputResult {
  const first = results[0]!;
  const rounds = results.map((result) => result.perSecond);
  const sorted = [...rounds].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median =
    sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return {
    ...first,
    messages: results.reduce((sum, result) => sum + result.messages, 0),
    seconds: results.reduce((sum, result) => sum + result.seconds, 0),
    perSecond: median,
    rounds,
  };
}

export function latency(level: Level, samples: number[]): LatencyResult {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = samples.reduce((sum, value) => sum + value, 0) / samples.length;
  return { level, calls: samples.length, p50: at(0.5), p99: at(0.99), mean };
}

/** Times `call` `calls` times (after `warmup` untimed calls) and returns each call's milliseconds. */
export async function sampleLatency(
  calls: number,
  warmup: number,
  call: (i: number) => unknown,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call(i);
  const samples: number[] = new Array(calls);
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    await call(i);
    samples[i] = performance.now() - start;
  }
  return samples;
}

/** A small, fast, seeded PRNG (mulberry32), so every run writes the same data. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ENGLISH =
  'the a we should deploy release meeting tomorrow review the pull request please check logs error fixed build green thanks for the update can you look at this ticket before lunch database migration is done cache latency looks fine lets ship it after the standup coffee anyone I pushed a patch for the search index customer reported a bug in the login page retry later works for me'.split(
    ' ',
  );
const JAPANESE = [
  '明日の会議は十時からです',
  'リリースは来週の月曜日に延期します',
  'ログを確認してください',
  '東京タワーに行きました',
  'お疲れさまです',
  'ビルドが通りました',
  '検索インデックスを更新しました',
  'データベースの移行が終わりました',
  'よろしくお願いします',
  'すみません、少し遅れます',
  'レビューありがとうございます',
  'この件は京都のチームに確認します',
];
const EMOJI = ['🎉', '👍', '🙏', '🚀', '😅'];

/**
 * Chat-like texts: mostly short, some long; English, Japanese and mixed, with the odd emoji and number.
 * Lengths follow roughly what chat logs show: median around 50 characters, a tail to several hundred.
 */
export function textPool(size: number, seed = 1): string[] {
  const next = random(seed);
  const pick = <T>(list: T[]) => list[Math.floor(next() * list.length)]!;
  const pool: string[] = [];
  for (let i = 0; i < size; i++) {
    const kind = next();
    const long = next() < 0.08;
    const parts: string[] = [];
    if (kind < 0.55) {
      const words = long ? 40 + Math.floor(next() * 60) : 3 + Math.floor(next() * 14);
      for (let w = 0; w < words; w++) parts.push(pick(ENGLISH));
    } else if (kind < 0.85) {
      const sentences = long ? 6 + Math.floor(next() * 10) : 1 + Math.floor(next() * 2);
      for (let s = 0; s < sentences; s++) parts.push(pick(JAPANESE));
    } else {
      parts.push(pick(JAPANESE), pick(ENGLISH), pick(ENGLISH), pick(JAPANESE));
    }
    if (next() < 0.2) parts.push(String(Math.floor(next() * 10_000)));
    if (next() < 0.1) parts.push(pick(EMOJI));
    pool.push(parts.join(kind < 0.55 || kind >= 0.85 ? ' ' : ''));
  }
  return pool;
}
