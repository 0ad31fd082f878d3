import { closeSync, openSync } from 'node:fs';
import { Kysely, type SqliteDatabase, SqliteDialect, type SqliteStatement, sql } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { withDriverErrors } from './driver-error-dialect.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { queryLogOption, type StoreObservability } from './query-log.js';
import type { SearchIndexOptions } from './search-index.js';
import { WalSyncer, type WalSyncFunction, withWalSync } from './wal-sync.js';

export type SqliteStoreConfig = StoreObservability & {
  /** Tuning of the deferred full-text indexer; the defaults suit a chat server. */
  searchIndex?: SearchIndexOptions;
  /**
   * How commits reach the disk. `full` (the default) is SQLite's `synchronous = FULL`: every commit syncs
   * the WAL before it returns, so an acknowledged write survives a power cut or OS crash, but the
   * `fdatasync` (milliseconds) runs inside better-sqlite3's call and blocks the event loop. `full-async` is
   * as durable: SQLite runs `synchronous = NORMAL` (a commit writes its WAL frames without syncing them) and
   * the store syncs the WAL itself on libuv's threadpool, and resolves a write's promise (so before any
   * acknowledgement or fan-out that follows it) only once that `fdatasync` returned; commits that finish
   * while a sync runs share the next one. Its one difference: another reader of this database may see a
   * commit a few milliseconds before it is on disk. A failed sync rejects that write and every later one
   * with a `WalSyncError` until the process restarts (`wal-sync.ts`). `normal` syncs only at checkpoints:
   * faster still, but a power cut can lose the last commits (never consistency). Group commit makes
   * `full` cheap under load (docs/benchmarks.md).
   */
  synchronous?: SqliteSynchronous;
  /**
   * `full-async` only, for tests: replaces the WAL's `fdatasync` (`wal.datasync()`), so a test can hold a
   * sync pending or make it fail.
   */
  syncWal?: WalSyncFunction;
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

/** SQLite's durability setting as the store takes it (see `SqliteStoreConfig.synchronous`). */
export type SqliteSynchronous = 'full' | 'full-async' | 'normal';

/** Enough for every statement shape the repositories build, with room for `in (…)` lists of many lengths. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Hands kysely's SQLite driver a prepared statement per SQL text instead of preparing it again on every
 * call: preparing costs about as much as running a small insert. A statement cannot be reused while it
 * is still iterating, so streaming the same SELECT twice at once (`.stream()`) is not supported.
 */
class StatementCache implements SqliteDatabase {
  readonly #database: SqliteDatabase;
  readonly #statements = new Map<string, { statement: SqliteStatement; writes: boolean }>();
  readonly #writeRefusal: () => Error | undefined;
  #wrote = false;

  /** @param writeRefusal an error that statements which write throw instead of running (a failed WAL sync). */
  constructor(database: SqliteDatabase, writeRefusal: () => Error | undefined = () => undefined) {
    this.#database = database;
    this.#writeRefusal = writeRefusal;
  }

  prepare(sql: string): SqliteStatement {
    let entry = this.#statements.get(sql);
    if (entry === undefined) {
      // Kysely opens transactions with a plain (deferred) BEGIN. Taking the write lock up front instead
      // means another process writing the same file makes us wait (busy_timeout) rather than fail with
      // SQLITE_BUSY when a transaction that started by reading goes on to write.
      const statement = this.#database.prepare(sql === 'begin' ? 'begin immediate' : sql);
      // better-sqlite3 tells whether a statement can write (a driver that does not is taken to write). BEGIN
      // IMMEDIATE counts as writing there, yet writes nothing itself.
      const writes = sql !== 'begin' && (statement as { readonly?: boolean }).readonly !== true;
      // Oldest first out: a Map iterates in insertion order.
      if (this.#statements.size >= STATEMENT_CACHE_SIZE)
        this.#statements.delete(this.#statements.keys().next().value!);
      entry = { statement, writes };
      this.#statements.set(sql, entry);
    }
    if (entry.writes) {
      // After a failed WAL sync nothing more is written that could not be acknowledged (nor written twice
      // by a caller that retries what it was told failed).
      const refusal = this.#writeRefusal();
      if (refusal) throw refusal;
      // kysely runs a statement right after preparing it, so preparing one that writes means it wrote.
      this.#wrote = true;
    }
    return entry.statement;
  }

  /** Whether a statement that writes ran since the last call (for `full-async`: does the WAL need a sync). */
  takeWrote(): boolean {
    const wrote = this.#wrote;
    this.#wrote = false;
    return wrote;
  }

  close(): void {
    this.#statements.clear();
    this.#database.close();
  }
}

/**
 * A store on SQLite through better-sqlite3 (the embedded default). Turns on WAL for files,
 * `synchronous = FULL` (or `full-async`, `normal`: see `synchronous`), foreign keys and a 5 s busy timeout (`busyTimeoutMs`). Call `migrate()` before first use. A
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
  let walSyncer: WalSyncer | undefined;
  const synchronous = config.synchronous ?? 'full';
  const statements = new StatementCache(database, () => walSyncer?.failure);
  const sqlite = new SqliteDialect({ database: statements });
  const db = new Kysely<KaiwaDatabase>({
    // SQLITE_BUSY (another process held the write lock past busy_timeout) becomes a retryable `busy` error.
    // Only `full-async` puts the WAL-sync layer between kysely and the driver: the other modes' queries and
    // transactions go straight through.
    dialect: withDriverErrors(
      synchronous === 'full-async'
        ? withWalSync(sqlite, { syncer: () => walSyncer, wrote: () => statements.takeWrote() })
        : sqlite,
    ),
    ...queryLogOption(config.onQuery),
  });
  // Through kysely rather than on the handle, so the driver starts now and close() always closes the file.
  // WAL lets readers run beside the writer; in-memory databases answer 'memory' and stay as they are.
  try {
    const { rows: journal } = await sql<{ journal_mode: string }>`pragma journal_mode = WAL`.execute(db);
    const walFile = synchronous === 'full-async' ? await walFileOf(db, journal[0]?.journal_mode) : undefined;
    // FULL: a commit returns once the WAL is on disk, so an acknowledged message survives a power cut.
    // NORMAL under `full-async`: the store syncs the WAL itself, off the event loop, before a write resolves.
    // NORMAL (opt-in) syncs at checkpoints only and can lose the last commits then, never consistency.
    // An in-memory database under `full-async` has nothing to sync (FULL there costs nothing either); a file
    // that did not take WAL mode gets FULL, as durable.
    const pragma = synchronous === 'normal' || walFile !== undefined ? 'NORMAL' : 'FULL';
    await sql`pragma synchronous = ${sql.raw(pragma)}`.execute(db);
    if (walFile !== undefined) walSyncer = new WalSyncer(walFile, config.syncWal);
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
 * The `-wal` file of the main database when it runs in WAL mode on a file; undefined for an in-memory or
 * temporary database, which has nothing to sync. SQLite names it after the path it opened, which
 * `pragma database_list` reports (absolute).
 */
async function walFileOf(
  db: Kysely<KaiwaDatabase>,
  journalMode: string | undefined,
): Promise<string | undefined> {
  if (journalMode?.toLowerCase() !== 'wal') return undefined;
  const { rows } = await sql<{
    file: string;
  }>`select file from pragma_database_list where name = 'main'`.execute(db);
  const file = rows[0]?.file;
  return file ? `${file}-wal` : undefined;
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
