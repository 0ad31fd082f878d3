import type {
  JsonValue,
  NewPlatformOutboxItem,
  PlatformClaim,
  PlatformFailure,
  PlatformOutboxItem,
  PlatformOutboxOperation,
  PlatformOutboxRepository,
  PlatformQueueQuery,
  PlatformQueueStatus,
} from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { PlatformOutboxTable } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';
import { claimRows, markRowFailed, requeueRow } from './platform-queue.js';

export class KyselyPlatformOutboxRepository implements PlatformOutboxRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async enqueue(
    item: NewPlatformOutboxItem,
  ): Promise<{ item: PlatformOutboxItem; outcome: 'enqueued' | 'duplicate' }> {
    const row = {
      id: item.id,
      consumer: item.consumer,
      idempotency_key: item.idempotencyKey,
      platform: item.platform,
      target: item.target,
      operation: item.operation,
      payload: JSON.stringify(item.payload),
      meta: JSON.stringify(item.meta),
      status: 'pending',
      attempts: 0,
      available_at: item.createdAt,
      last_error: null,
      result: null,
      created_at: item.createdAt,
      finished_at: null,
    };
    const inserted = await this.#context.adapter.insertOnce(this.#context.db, {
      table: 'platform_outbox',
      row,
      key: { name: 'platform_outbox_key_unique', columns: ['consumer', 'idempotency_key'] },
    });
    const stored = await this.findByKey(item.consumer, item.idempotencyKey);
    if (!stored) throw new Error(`outbox item ${item.idempotencyKey} vanished after its insert`);
    return { item: stored, outcome: inserted ? 'enqueued' : 'duplicate' };
  }

  async claim(claim: PlatformClaim): Promise<PlatformOutboxItem[]> {
    const { db } = this.#context;
    // Only the oldest pending item of each target may go: a target waiting for a retry (or leased to a
    // worker) holds back its later items, so every target sees its operations in order.
    const candidates = await db
      .selectFrom('platform_outbox as item')
      .select('item.id')
      .where('item.consumer', '=', claim.consumer)
      .where('item.status', '=', 'pending')
      .where('item.available_at', '<=', claim.now)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('platform_outbox as earlier')
              .select('earlier.id')
              .whereRef('earlier.consumer', '=', 'item.consumer')
              .whereRef('earlier.platform', '=', 'item.platform')
              .whereRef('earlier.target', '=', 'item.target')
              .where('earlier.status', '=', 'pending')
              .whereRef('earlier.id', '<', 'item.id'),
          ),
        ),
      )
      .orderBy('item.id')
      .limit(claim.limit)
      .execute();
    const ids = await claimRows(
      db,
      'platform_outbox',
      candidates.map((row) => row.id),
      claim,
    );
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('platform_outbox')
      .selectAll()
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    return rows.map(toItem);
  }

  async markDone(id: string, result: JsonValue, at: string): Promise<void> {
    await this.#context.db
      .updateTable('platform_outbox')
      .set({ status: 'done', result: JSON.stringify(result), finished_at: at, last_error: null })
      .where('id', '=', id)
      .execute();
  }

  markFailed(id: string, failure: PlatformFailure): Promise<void> {
    return markRowFailed(this.#context.db, 'platform_outbox', id, failure);
  }

  requeue(id: string, at: string): Promise<boolean> {
    return requeueRow(this.#context.db, 'platform_outbox', id, at);
  }

  async findByKey(consumer: string, idempotencyKey: string): Promise<PlatformOutboxItem | undefined> {
    const row = await this.#context.db
      .selectFrom('platform_outbox')
      .selectAll()
      .where('consumer', '=', consumer)
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
    return row && toItem(row);
  }

  async list(query: PlatformQueueQuery): Promise<PlatformOutboxItem[]> {
    let select = this.#context.db
      .selectFrom('platform_outbox')
      .selectAll()
      .where('consumer', '=', query.consumer);
    if (query.status) select = select.where('status', '=', query.status);
    if (query.after) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toItem);
  }
}

function toItem(row: Selectable<PlatformOutboxTable>): PlatformOutboxItem {
  return {
    id: row.id,
    consumer: row.consumer,
    idempotencyKey: row.idempotency_key,
    platform: row.platform,
    target: row.target,
    operation: row.operation as PlatformOutboxOperation,
    payload: JSON.parse(row.payload) as JsonValue,
    meta: JSON.parse(row.meta) as JsonValue,
    status: row.status as PlatformQueueStatus,
    attempts: Number(row.attempts),
    availableAt: row.available_at,
    lastError: row.last_error,
    result: row.result === null ? null : (JSON.parse(row.result) as JsonValue),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}
