import type {
  JsonValue,
  NewPlatformInboxItem,
  PlatformClaim,
  PlatformFailure,
  PlatformInboxItem,
  PlatformInboxRepository,
  PlatformQueueQuery,
  PlatformQueueStatus,
} from '@kaiwa/core';
import type { Selectable } from 'kysely';
import type { PlatformInboxTable } from '../../database.js';
import type { RepositoryContext } from '../repository-context.js';
import { claimRows, markRowFailed, requeueRow } from './platform-queue.js';

export class KyselyPlatformInboxRepository implements PlatformInboxRepository {
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
  }

  async record(item: NewPlatformInboxItem): Promise<'recorded' | 'duplicate'> {
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
    const inserted = await this.#context.adapter.insertOnce(this.#context.db, {
      table: 'platform_inbox',
      row,
      key: { name: 'platform_inbox_event_unique', columns: ['consumer', 'platform', 'event_id'] },
    });
    return inserted ? 'recorded' : 'duplicate';
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

  markFailed(id: string, failure: PlatformFailure): Promise<void> {
    return markRowFailed(this.#context.db, 'platform_inbox', id, failure);
  }

  requeue(id: string, at: string): Promise<boolean> {
    return requeueRow(this.#context.db, 'platform_inbox', id, at);
  }

  async findById(id: string): Promise<PlatformInboxItem | undefined> {
    const row = await this.#context.db
      .selectFrom('platform_inbox')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toItem(row);
  }

  async list(query: PlatformQueueQuery): Promise<PlatformInboxItem[]> {
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
