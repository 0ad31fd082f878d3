import { closeSync, openSync } from 'node:fs';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement, sql } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { withDriverErrors } from './driver-error-dialect.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { queryLogOption, type StoreObservability } from './query-log.js';
import type { SearchIndexOptions } from './search-index.js';

export type SqliteStoreConfig = StoreObservability & {
  /** Tuning of the deferred full-text indexer; the defaults suit a chat server. */
  searchIndex?: SearchIndexOptions;
  /**
   * SQLite's `synchronous` setting. `full` (the default) syncs the WAL on every commit, so an acknowledged
   * write survives a power cut or OS crash; `normal` syncs only at checkpoints: faster single commits, but such
   * a crash can lose the last commits (never consistency). Group commit makes `full` cheap under load
   * (docs/benchmarks.md).
   */
  synchronous?: 'full' | 'normal';
  /**
   * How long a write waits for another connection's write lock before it fails with a retryable
   * `DatabaseBusyError`; 5000 ms by default.
   */
  busyTimeoutMs?: number;
} & (
    | {
        /** A database file (created when missing), or `:memory:` for a private in-memory database. */
        filename: string;
        database?: never;
      }
    | {
        /** An open better-sqlite3 `Database`; the store configures it and closes it on `close()`. */
        database: SqliteDatabase;
        filename?: never;
      }
  );

/** Enough for every statement shape the repositories build, with room for `in (…)` lists of many lengths. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Hands kysely's SQLite driver a prepared statement per SQL text instead of preparing it again on every
 * call: preparing costs about as much as running a small insert. A statement cannot be reused while it
 * is still iterating, so streaming the same SELECT twice at once (`.stream()`) is not supported.
 */
class StatementCache implements SqliteDatabase {
  readonly #database: SqliteDatabase;
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(database: SqliteDatabase) {
    this.#database = database;
  }

  prepare(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      // Kysely opens transactions with a plain (deferred) BEGIN. Taking the write lock up front instead
      // means another process writing the same file makes us wait (busy_timeout) rather than fail with
      // SQLITE_BUSY when a transaction that started by reading goes on to write.
      statement = this.#database.prepare(sql === 'begin' ? 'begin immediate' : sql);
      // Oldest first out: a Map iterates in insertion order.
      if (this.#statements.size >= STATEMENT_CACHE_SIZE)
        this.#statements.delete(this.#statements.keys().next().value!);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  close(): void {
    this.#statements.clear();
    this.#database.close();
  }
}

/**
 * A store on SQLite through better-sqlite3 (the embedded default). Turns on WAL for files,
 * `synchronous = FULL` (or `normal`), foreign keys and a 5 s busy timeout (`busyTimeoutMs`). Call `migrate()` before first use. A
 * write that still finds the file locked after the busy timeout fails with a retryable `DatabaseBusyError`.
 * Loads sqlite-vec into the connection when the `sqlite-vec` package is installed, for the knowledge module's
 * vector search (without it that search runs in the application). Search rows of new messages are written in batches, shortly after the send and before any search, so
 * sends stay cheap and search still finds every sent message (see `KyselyChatStore.flushSearchIndex`).
 *
 * @throws when better-sqlite3 is not installed, naming the version to install.
 * @example
 * const store = await createSqliteStore({ filename: './kaiwa.db' });
 * await store.migrate();
 */
export async function createSqliteStore(config: SqliteStoreConfig): Promise<KyselyChatStore> {
  let database = config.database;
  if (database === undefined) {
    const { default: Database } = await importDriver(
      'better-sqlite3',
      '^12.0.0',
      () => import('better-sqlite3'),
    );
    createPrivately(config.filename);
    database = new Database(config.filename);
  }
  await loadSqliteVec(database);
  const db = new Kysely<KaiwaDatabase>({
    // SQLITE_BUSY (another process held the write lock past busy_timeout) becomes a retryable `busy` error.
    dialect: withDriverErrors(new SqliteDialect({ database: new StatementCache(database) })),
    ...queryLogOption(config.onQuery),
  });
  // Through kysely rather than on the handle, so the driver starts now and close() always closes the file.
  // WAL lets readers run beside the writer; in-memory databases answer 'memory' and stay as they are.
  try {
    await sql`pragma journal_mode = WAL`.execute(db);
    // FULL: a commit returns once the WAL is on disk, so an acknowledged message survives a power cut.
    // NORMAL (opt-in) syncs at checkpoints only and can lose the last commits then, never consistency.
    await sql`pragma synchronous = ${sql.raw(config.synchronous === 'normal' ? 'NORMAL' : 'FULL')}`.execute(
      db,
    );
    await sql`pragma foreign_keys = ON`.execute(db);
    await sql`pragma busy_timeout = ${sql.raw(String(Math.max(0, Math.trunc(config.busyTimeoutMs ?? 5000))))}`.execute(
      db,
    );
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return new KyselyChatStore({
    db,
    dialect: 'sqlite',
    ...(config.searchIndex ? { searchIndex: config.searchIndex } : {}),
  });
}

/**
 * Creates a missing database file readable and writable by this user only (0600): chat history is private.
 * SQLite gives the `-wal` and `-shm` files it makes beside it the same mode. An existing file keeps its mode,
 * which is the operator's choice.
 */
function createPrivately(filename: string | undefined): void {
  if (filename === undefined || filename === '' || filename === ':memory:' || filename.startsWith('file:'))
    return;
  try {
    closeSync(openSync(filename, 'wx', 0o600));
  } catch (error) {
    // Exists already, or its folder is missing: better-sqlite3 then opens it or reports the missing folder.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOENT') throw error;
  }
}

/**
 * Loads the sqlite-vec extension when its package is installed (an optional peer dependency); without it the
 * knowledge module ranks vectors in the application instead.
 */
async function loadSqliteVec(database: SqliteDatabase): Promise<void> {
  let sqliteVec: { load(database: unknown): void };
  try {
    sqliteVec = await import('sqlite-vec');
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return;
    throw error;
  }
  // A `database` handed in by the caller may not be better-sqlite3 (no loadExtension): leave it as it is.
  if (typeof (database as { loadExtension?: unknown }).loadExtension === 'function') sqliteVec.load(database);
}
