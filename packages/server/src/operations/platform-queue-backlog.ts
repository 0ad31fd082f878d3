import type { ChatStore, PlatformQueueQuery } from '@kaiwa/core';

/** Pending platform queue items are counted up to this many at each scrape. */
export const QUEUE_COUNT_LIMIT = 1000;

/** How far a platform queue is behind: its pending items (up to {@link QUEUE_COUNT_LIMIT}) and the oldest's age. */
export interface QueueBacklog {
  pending: number;
  oldestAgeSeconds: number;
}

/** The bridge's pending items in one platform queue, aged from the time `timeOf` reads off each. */
async function pendingBacklog<Item>(
  queue: { list(query: PlatformQueueQuery): Promise<Item[]> },
  timeOf: (item: Item) => string,
  clock: () => Date,
): Promise<QueueBacklog> {
  const pending = await queue.list({ consumer: 'bridge', status: 'pending', limit: QUEUE_COUNT_LIMIT });
  const oldest = pending
    .map(timeOf)
    .reduce<string | undefined>(
      (first, time) => (first === undefined || time < first ? time : first),
      undefined,
    );
  return {
    pending: pending.length,
    oldestAgeSeconds: oldest ? Math.max(0, (clock().getTime() - Date.parse(oldest)) / 1000) : 0,
  };
}

/** The bridge's outbound platform calls waiting for delivery. */
export async function outboxBacklog(store: ChatStore, clock: () => Date): Promise<QueueBacklog> {
  return pendingBacklog(store.platformOutbox, (item) => item.createdAt, clock);
}

/** The bridge's inbound platform events recorded but not handled yet (aged from when they were received). */
export async function inboxBacklog(store: ChatStore, clock: () => Date): Promise<QueueBacklog> {
  return pendingBacklog(store.platformInbox, (item) => item.receivedAt, clock);
}
