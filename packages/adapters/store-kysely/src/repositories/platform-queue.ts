import type { PlatformClaim } from '@kaiwa/core';
import type { Kysely } from 'kysely';
import type { KaiwaDatabase } from '../database.js';

/**
 * Leases the candidate rows one by one with a compare-and-set: an update that only matches while the row
 * is still pending and due. Whoever's update matched owns the row, on every database and without
 * `skip locked`; a worker that loses the race simply gets fewer rows.
 */
export async function claimRows(
  db: Kysely<KaiwaDatabase>,
  table: 'platform_inbox' | 'platform_outbox',
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
