import type { ChatStore } from '@kaiwa/core';

/** Pending platform queue items are counted up to this many at each scrape. */
export const QUEUE_COUNT_LIMIT = 1000;

/** How far a platform queue is behind: its pending items (up to {@link QUEUE_COUNT_LIMIT}) and the oldest's age. */
export interface QueueBacklog {
  pending: number;
  oldestAgeSeconds: number;
}

function backlogOf(times: string[], clock: () => Date): QueueBacklog {
  const oldest = times.reduce<string | undefined>(
    (first, time) => (first === undefined || time < first ? time : first),
    undefined,
  );
  return {
    pending: times.length,
    oldestAgeSeconds: oldest ? Math.max(0, (clock().getTime() - Date.parse(oldest)) / 1000) : 0,
  };
}

/** The bridge's outbound platform calls waiting for delivery. */
export async function outboxBacklog(store: ChatStore, clock: () => Date): Promise<QueueBacklog> {
  const pending = await store.platformOutbox.list({
    consumer: 'bridge',
    status: 'pending',
    limit: QUEUE_COUNT_LIMIT,
  });
  return backlogOf(
    pending.map((item) => item.createdAt),
    clock,
  );
}

/** The bridge's inbound platform events recorded but not handled yet (aged from when they were received). */
export async function inboxBacklog(store: ChatStore, clock: () => Date): Promise<QueueBacklog> {
  const pending = await store.platformInbox.list({
    consumer: 'bridge',
    status: 'pending',
    limit: QUEUE_COUNT_LIMIT,
  });
  return backlogOf(
    pending.map((item) => item.receivedAt),
    clock,
  );
}
