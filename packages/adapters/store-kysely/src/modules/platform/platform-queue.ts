import type { PlatformClaim, PlatformFailure } from '@kaiwa/core';
import type { Kysely } from 'kysely';
import type { KaiwaDatabase } from '../../database.js';

/* What the platform queue repositories (inbox, outbox) share: the queue updates. */

type QueueTable = 'platform_inbox' | 'platform_outbox';

/**
 * Leases the candidate rows one by one with a compare-and-set: an update that only matches while the row
 * is still pending and due. Whoever's update matched owns the row, on every database and without
 * `skip locked`; a worker that loses the race simply gets fewer rows.
 */
export async function claimRows(
  db: Kysely<KaiwaDatabase>,
  table: QueueTable,
  candidateIds: string[],
  claim: PlatformClaim,
): Promise<string[]> {
  const claimed: string[] = [];
  for (const id of candidateIds) {
    const result = await db
      .updateTable(table)
      .set((eb) => ({ available_at: claim.leaseUntil, attempts: eb('attempts', '+', 1) }))
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('available_at', '<=', claim.now)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) claimed.push(id);
  }
  return claimed;
}

/** A failed attempt: the row waits until `retryAt`, or is dead when `retryAt` is null. */
export async function markRowFailed(
  db: Kysely<KaiwaDatabase>,
  table: QueueTable,
  id: string,
  failure: PlatformFailure,
): Promise<void> {
  await db
    .updateTable(table)
    .set(
      failure.retryAt === null
        ? { status: 'dead', last_error: failure.error, finished_at: failure.at }
        : { available_at: failure.retryAt, last_error: failure.error },
    )
    .where('id', '=', id)
    .execute();
}

/** Puts a dead row back in the queue, due at `at`, with its attempts reset; false when it was not dead. */
export async function requeueRow(
  db: Kysely<KaiwaDatabase>,
  table: QueueTable,
  id: string,
  at: string,
): Promise<boolean> {
  const result = await db
    .updateTable(table)
    .set({ status: 'pending', attempts: 0, available_at: at, finished_at: null })
    .where('id', '=', id)
    .where('status', '=', 'dead')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
