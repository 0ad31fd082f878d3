import type {
  JsonValue,
  PlatformClaim,
  PlatformFailure,
  PlatformInboxItem,
  PlatformInboxRepository,
  PlatformQueueStatus,
} from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { PlatformInboxTable } from '../database.js';
import { asConflictError, uniqueViolation } from '../unique-violations.js';
import { claimRows } from './platform-queue.js';
import type { RepositoryContext } from './repository-context.js';

export class KyselyPlatformInboxRepository implements PlatformInboxRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async record(item: {
    id: string;
    consumer: string;
    platform: string;
    eventId: string;
    event: JsonValue;
    receivedAt: string;
  }): Promise<'recorded' | 'duplicate'> {
    const { db, dialect } = this.#context;
    const row = {
      id: item.id,
      consumer: item.consumer,
      platform: item.platform,
      event_id: item.eventId,
      event: JSON.stringify(item.event),
      status: 'pending',
      attempts: 0,
      available_at: item.receivedAt,
      last_error: null,
      received_at: item.receivedAt,
      finished_at: null,
    };
    if (dialect === 'mysql') {
      try {
        await db.insertInto('platform_inbox').values(row).execute();
        return 'recorded';
      } catch (error) {
        if (uniqueViolation(error, 'platform_inbox')?.key === 'platform_inbox_event_unique')
          return 'duplicate';
        throw asConflictError(error, 'platform_inbox');
      }
    }
    const result = await db
      .insertInto('platform_inbox')
      .values(row)
      .onConflict((conflict) => conflict.columns(['consumer', 'platform', 'event_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0 ? 'recorded' : 'duplicate';
  }

  async claim(claim: PlatformClaim): Promise<PlatformInboxItem[]> {
    const { db } = this.#context;
    const candidates = await db
      .selectFrom('platform_inbox')
      .select('id')
      .where('consumer', '=', claim.consumer)
      .where('status', '=', 'pending')
      .where('available_at', '<=', claim.now)
      .orderBy('id')
      .limit(claim.limit)
      .execute();
    const ids = await claimRows(
      db,
      'platform_inbox',
      candidates.map((row) => row.id),
      claim,
    );
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('platform_inbox')
      .selectAll()
      .where('id', 'in', ids)
      .orderBy('id')
      .execute();
    return rows.map(toItem);
  }

  async markDone(id: string, at: string): Promise<void> {
    await this.#context.db
      .updateTable('platform_inbox')
      .set({ status: 'done', finished_at: at, last_error: null })
      .where('id', '=', id)
      .execute();
  }

  async markFailed(id: string, failure: PlatformFailure): Promise<void> {
    await this.#context.db
      .updateTable('platform_inbox')
      .set(
        failure.retryAt === null
          ? { status: 'dead', last_error: failure.error, finished_at: failure.at }
          : { available_at: failure.retryAt, last_error: failure.error },
      )
      .where('id', '=', id)
      .execute();
  }

  async requeue(id: string, at: string): Promise<boolean> {
    const result = await this.#context.db
      .updateTable('platform_inbox')
      .set({ status: 'pending', attempts: 0, available_at: at, finished_at: null })
      .where('id', '=', id)
      .where('status', '=', 'dead')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async findById(id: string): Promise<PlatformInboxItem | undefined> {
    const row = await this.#context.db
      .selectFrom('platform_inbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toItem(row);
  }

  async list(query: {
    consumer: string;
    status?: PlatformQueueStatus;
    after?: string;
    limit: number;
  }): Promise<PlatformInboxItem[]> {
    let select = this.#context.db
      .selectFrom('platform_inbox')
      .selectAll()
      .where('consumer', '=', query.consumer);
    if (query.status) select = select.where('status', '=', query.status);
    if (query.after) select = select.where('id', '>', query.after);
    const rows = await select.orderBy('id').limit(query.limit).execute();
    return rows.map(toItem);
  }
}

function toItem(row: Selectable<PlatformInboxTable>): PlatformInboxItem {
  return {
    id: row.id,
    consumer: row.consumer,
    platform: row.platform,
    eventId: row.event_id,
    event: JSON.parse(row.event) as JsonValue,
    status: row.status as PlatformQueueStatus,
    attempts: Number(row.attempts),
    availableAt: row.available_at,
    lastError: row.last_error,
    receivedAt: row.received_at,
    finishedAt: row.finished_at,
  };
}
