import { cpus, totalmem } from 'node:os';
import type { BenchResult, BenchSettings, DialectResult } from './common.js';
import { benchPostgres } from './postgres.js';
import { benchSqlite } from './sqlite.js';

/*
 * The storage benchmark as a function, for run.ts (the full run, `npm run bench:storage`) and the smoke
 * test (tiny numbers).
 */

export const FULL_SETTINGS: BenchSettings = {
  messages: 1_000_000,
  rooms: 50,
  users: 100,
  singleSends: 20_000,
  batchedSends: 50_000,
  batchSize: 100,
  historyCalls: 5_000,
  warmup: 1_000,
  rounds: 3,
  postgresSingleSends: 5_000,
  postgresBatchedSends: 20_000,
};

export const QUICK_SETTINGS: BenchSettings = {
  messages: 20_000,
  rooms: 20,
  users: 20,
  singleSends: 3_000,
  batchedSends: 5_000,
  batchSize: 100,
  historyCalls: 1_000,
  warmup: 200,
  rounds: 1,
  postgresSingleSends: 1_000,
  postgresBatchedSends: 2_000,
};

export interface RunOptions {
  settings: BenchSettings;
  dialects: ('sqlite' | 'postgres')[];
  /** Where the filled SQLite file is cached. */
  dataDir: string;
  /** PostgreSQL server for the `postgres` dialect. */
  postgresUrl?: string;
  /** Keep the filled PostgreSQL schema for the next run instead of dropping it. */
  keepPostgres?: boolean;
  /** The store's `preparedStatements` option on PostgreSQL (default true). */
  postgresPreparedStatements?: boolean;
  command: string;
  log?: (line: string) => void;
}

export async function runStorageBench(options: RunOptions): Promise<BenchResult> {
  const log = options.log ?? (() => {});
  const cpu = cpus();
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    command: options.command,
    node: process.version,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    settings: options.settings,
    dialects: [],
  };
  for (const dialect of options.dialects) {
    let outcome: DialectResult;
    if (dialect === 'sqlite') {
      outcome = await benchSqlite(options.settings, { dataDir: options.dataDir, log });
    } else {
      if (options.postgresUrl === undefined)
        throw new Error('PostgreSQL needs a URL (--pg-url or KAIWA_BENCH_PG_URL)');
      outcome = await benchPostgres(options.settings, {
        url: options.postgresUrl,
        keep: options.keepPostgres ?? false,
        preparedStatements: options.postgresPreparedStatements ?? true,
        log,
      });
    }
    result.dialects.push(outcome);
  }
  return result;
}
