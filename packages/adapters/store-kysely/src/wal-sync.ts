import { type FileHandle, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KaiwaError } from '@kaiwa/core';
import type { DatabaseConnection, Dialect, Driver, QueryCompiler, TransactionSettings } from 'kysely';
import { withDriver } from './driver-error-dialect.js';

/** Flushes the WAL file's written pages to disk; by default `fdatasync` on libuv's threadpool. */
export type WalSyncFunction = (wal: FileHandle) => Promise<void>;

/**
 * The WAL file of a SQLite database could not be synced to disk, so the write that waited for it (and every
 * write after it) may not survive a power cut: it is not acknowledged. The database file stays consistent;
 * restart the process to write again (after a failed `fdatasync` the kernel may have dropped the unwritten
 * pages, so a later sync that succeeds proves nothing about them).
 */
export class WalSyncError extends KaiwaError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, { ...options, isRetryable: false });
    this.name = 'WalSyncError';
  }
}

/**
 * Syncs a SQLite database's `-wal` file on the threadpool instead of inside SQLite's commit, which under
 * `synchronous = FULL` blocks the event loop for the whole `fdatasync` (milliseconds per commit).
 *
 * Syncs coalesce: a commit that asks while a sync is in flight waits for the next one, started once the
 * in-flight one ends (that one may have started before this commit's frames were written), and that next sync
 * covers every commit that asked meanwhile. On Linux `fdatasync` on any descriptor of a file flushes all of
 * that file's dirty pages, whichever descriptor wrote them, so our own descriptor covers SQLite's writes.
 */
export class WalSyncer {
  readonly #walPath: string;
  readonly #syncFile: WalSyncFunction;
  #wal: Promise<FileHandle> | undefined;
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  #failure: WalSyncError | undefined;

  constructor(walPath: string, syncFile: WalSyncFunction = (wal) => wal.datasync()) {
    this.#walPath = walPath;
    this.#syncFile = syncFile;
  }

  /** Set once a sync failed: every later write must be refused. */
  get failure(): WalSyncError | undefined {
    return this.#failure;
  }

  /** Resolves once a sync that started after this call has finished; rejects with a `WalSyncError`. */
  afterCommit(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    // A sync is about to start: it starts after this commit, so it covers it.
    if (this.#queued) return this.#queued;
    if (this.#running === undefined) return this.#start();
    const queued = this.#running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    this.#queued = queued;
    return queued;
  }

  /** Waits for the syncs in flight (their errors went to their writers), then closes the WAL's descriptor. */
  async close(): Promise<void> {
    while (this.#running || this.#queued) await Promise.allSettled([this.#running, this.#queued]);
    const wal = this.#wal;
    this.#wal = undefined;
    if (wal) await (await wal.catch(() => undefined))?.close();
  }

  #start(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    const run: Promise<void> = this.#sync().finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #sync(): Promise<void> {
    try {
      this.#wal ??= openWal(this.#walPath);
      await this.#syncFile(await this.#wal);
    } catch (error) {
      // Sticky: the pages a failed fdatasync did not write may be gone from the page cache, and WAL frames
      // chain their checksums, so no later commit can be confirmed durable either.
      this.#failure ??= new WalSyncError(
        `Could not sync the SQLite WAL file ${this.#walPath} to disk (${(error as Error).message}); ` +
          'writes are no longer acknowledged until the server restarts (the database stays consistent)',
        { cause: error },
      );
      throw this.#failure;
    }
  }
}

/**
 * Opens the WAL file (SQLite created it when it turned WAL on) and syncs its folder once, as SQLite does for
 * a WAL it created: the file's own sync does not make its name in the folder durable.
 */
async function openWal(walPath: string): Promise<FileHandle> {
  // Read-write, never creating: Windows flushes only handles with write access, and a missing WAL is an error.
  const wal = await open(walPath, 'r+');
  if (process.platform === 'win32') return wal;
  try {
    const folder = await open(dirname(walPath), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (error) {
    await wal.close();
    throw error;
  }
  return wal;
}

/**
 * Wraps kysely's SQLite dialect so a write resolves only once the WAL holding it is on disk: when kysely
 * releases the connection after an autocommit write or a committed transaction, the connection goes back
 * first (so the next transaction can commit meanwhile and share the next sync), then the release waits for
 * `syncer.afterCommit()`. kysely awaits the release before it resolves the query or transaction, and a
 * failed sync rejects it. `wrote()` tells whether a statement that writes ran since it was last asked
 * (read-only work, REST history reads, never waits for a sync). kysely's controlled transactions
 * (`db.startTransaction()`) do not await the release, so their `commit()` resolves before the sync: the
 * stores do not use them.
 */
export function withWalSync(
  dialect: Dialect,
  walSync: { syncer(): WalSyncer | undefined; wrote(): boolean },
): Dialect {
  return withDriver(dialect, (driver) => new WalSyncingDriver(driver, walSync));
}

class WalSyncingDriver implements Driver {
  readonly #inner: Driver;
  readonly #walSync: { syncer(): WalSyncer | undefined; wrote(): boolean };
  #inTransaction = false;

  constructor(inner: Driver, walSync: { syncer(): WalSyncer | undefined; wrote(): boolean }) {
    this.#inner = inner;
    this.#walSync = walSync;
  }

  init(): Promise<void> {
    return this.#inner.init();
  }

  acquireConnection(): Promise<DatabaseConnection> {
    return this.#inner.acquireConnection();
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await this.#inner.beginTransaction(connection, settings);
    this.#inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.#inner.commitTransaction(connection);
    this.#inTransaction = false;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    this.#inTransaction = false;
    await this.#inner.rollbackTransaction(connection);
  }

  savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.#inner.savepoint!(connection, savepointName, compileQuery);
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.#inner.rollbackToSavepoint!(connection, savepointName, compileQuery);
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    return this.#inner.releaseSavepoint!(connection, savepointName, compileQuery);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // SQLite has one connection, held by one caller at a time: what was written since the last release is this
    // caller's. Inside an open transaction (a controlled one released early) nothing is committed yet.
    const syncer = this.#inTransaction || !this.#walSync.wrote() ? undefined : this.#walSync.syncer();
    await this.#inner.releaseConnection(connection);
    if (syncer) await syncer.afterCommit();
  }

  async destroy(): Promise<void> {
    try {
      await this.#walSync.syncer()?.close();
    } finally {
      await this.#inner.destroy();
    }
  }
}
