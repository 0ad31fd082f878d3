import { messageSearchText, searchDocument } from '@kaiwa/core';
import { CompiledQuery, type Kysely } from 'kysely';
import type { KaiwaDatabase } from './database.js';

/*
 * Deferred full-text indexing on SQLite. FTS5 writes a new index segment on every commit that touches it,
 * which costs more than the rest of a message send together. So a send only writes the message row, and
 * the search rows of new messages are written in batches: messages with `row_id` above the watermark in
 * `message_search_state` are pending, and indexing them moves the watermark in the same transaction.
 *
 * Search stays exactly as consistent as with synchronous indexing: every search first indexes what is
 * pending (cheap when nothing is, one indexed lookup), so a message is found as soon as its send returned.
 * A timer indexes in the background shortly after sends, so searches rarely pay for it.
 *
 * Why the watermark is sound:
 * - The indexer runs in a write transaction (BEGIN IMMEDIATE, or the caller's), so it sees only committed
 *   rows and no insert runs beside it; a rolled-back insert is never seen, and its row id is handed out
 *   again to the next insert, which is pending like any other.
 * - SQLite gives a new row the largest row id + 1. Row ids could only fall to or below the watermark if
 *   the largest rows were deleted; the `messages_search_delete` trigger (migration 0002) lowers the
 *   watermark to the largest remaining row id when that happens, and takes deleted rows out of the index.
 * - Edits and deletions of indexed rows change the index at once (see the message repository); those of
 *   pending rows leave it alone, and the indexer reads the row as it is then, skipping deleted messages.
 * - After a restart the pending rows are simply still above the watermark.
 */

const WATERMARK = 'select indexed_row_id from message_search_state';
const HAS_PENDING =
  'select exists (select 1 from messages where row_id > (select indexed_row_id from message_search_state)) as pending';
const PENDING_ROWS =
  'select row_id, text, metadata, deleted_at from messages where row_id > ? order by row_id limit ?';
const INSERT_SEARCH_ROW = 'insert into message_search (rowid, content) values (?, ?)';
const MOVE_WATERMARK = 'update message_search_state set indexed_row_id = ?';

/** SQL for the repository: index one row now, but only if the indexer has already passed it. */
export const SEARCH_ROW_IS_INDEXED = 'row_id <= (select indexed_row_id from message_search_state)';

interface PendingRow {
  row_id: number;
  text: string;
  metadata: string;
  deleted_at: string | null;
}

export interface SearchIndexOptions {
  /** How long after a send the background indexer runs; default 100 ms. */
  delayMs?: number;
  /** Pending rows indexed per transaction; default 2,000. */
  batchRows?: number;
}

/** The deferred FTS5 indexer of one SQLite store; shared by the store and its transactions. */
export class SqliteSearchIndex {
  readonly #db: Kysely<KaiwaDatabase>;
  readonly #delayMs: number;
  readonly #batchRows: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The background run in progress, which close() waits for. */
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(db: Kysely<KaiwaDatabase>, options: SearchIndexOptions = {}) {
    this.#db = db;
    this.#delayMs = options.delayMs ?? 100;
    this.#batchRows = options.batchRows ?? 2_000;
  }

  /** A message was inserted: index it soon. Called before the insert commits, harmless if it rolls back. */
  schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A failure leaves the rows pending: the next search or send retries, so nothing is lost.
      const running = this.flush().then(
        () => {},
        () => {},
      );
      this.#running = running;
      void running.finally(() => {
        if (this.#running === running) this.#running = undefined;
      });
    }, this.#delayMs);
    this.#timer.unref?.();
  }

  /**
   * Indexes every pending message and returns how many rows it looked at. On a transaction (`target`)
   * the work joins it, and so commits or rolls back with it; otherwise it runs in transactions of its own.
   */
  async flush(target?: Kysely<KaiwaDatabase>): Promise<number> {
    if (target?.isTransaction) {
      let total = 0;
      for (;;) {
        const { rows, done } = await this.#indexBatch(target);
        total += rows;
        if (done) return total;
      }
    }
    const db = target ?? this.#db;
    const check = await db.executeQuery(CompiledQuery.raw(HAS_PENDING) as CompiledQuery<{ pending: number }>);
    if (!check.rows[0]?.pending) return 0;
    let total = 0;
    for (;;) {
      const { rows, done } = await db.transaction().execute((trx) => this.#indexBatch(trx));
      total += rows;
      if (done) return total;
    }
  }

  /** Stops the timer and indexes what is pending, so the next start finds the index complete. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    // Best effort: a database that was never migrated has nothing to index, and pending rows survive.
    await this.flush().catch(() => {});
  }

  async #indexBatch(trx: Kysely<KaiwaDatabase>): Promise<{ rows: number; done: boolean }> {
    const state = await trx.executeQuery(
      CompiledQuery.raw(WATERMARK) as CompiledQuery<{ indexed_row_id: number }>,
    );
    const watermark = state.rows[0]?.indexed_row_id;
    if (watermark === undefined) throw new Error('message_search_state is empty: run migrate()');
    const pending = await trx.executeQuery(
      CompiledQuery.raw(PENDING_ROWS, [watermark, this.#batchRows]) as CompiledQuery<PendingRow>,
    );
    const rows = pending.rows;
    if (rows.length === 0) return { rows: 0, done: true };
    for (const row of rows) {
      if (row.deleted_at !== null) continue;
      const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
      const document = searchDocument(messageSearchText({ text: row.text, metadata }));
      if (document !== '')
        await trx.executeQuery(CompiledQuery.raw(INSERT_SEARCH_ROW, [row.row_id, document]));
    }
    await trx.executeQuery(CompiledQuery.raw(MOVE_WATERMARK, [rows[rows.length - 1]!.row_id]));
    return { rows: rows.length, done: rows.length < this.#batchRows };
  }
}
