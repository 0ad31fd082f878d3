/** What a user shows to others; absent from every instance means offline. */
export type PresenceStatus = 'online' | 'away' | 'offline';

/** One user present on an instance, as that instance announces it. */
export interface PresenceEntry {
  userId: string;
  status: Exclude<PresenceStatus, 'offline'>;
}

/**
 * Who is connected where, shared by every server instance. Each instance announces the users it holds
 * connections of, with a time to live that it keeps refreshing; an instance that dies stops refreshing,
 * so its users go offline by themselves. A user is online while any instance holds them.
 * The default is {@link InMemoryPresenceStore}; Redis and NATS KV implementations come with their buses.
 *
 * @example
 * await presence.announce('instance-a', [{ userId, status: 'online' }], 30_000);
 * (await presence.statuses([userId]))[userId]; // 'online'
 */
export interface PresenceStore {
  /**
   * Marks the users present on `instanceId` for `ttlMs` from now (again: refreshes them).
   *
   * @example
   * await presence.announce(instanceId, [...localUsers].map((userId) => ({ userId, status: 'online' })), 30_000);
   */
  announce(instanceId: string, entries: readonly PresenceEntry[], ttlMs: number): Promise<void>;
  /**
   * The instance holds no connection of the user any more.
   *
   * @example
   * await presence.withdraw(instanceId, userId);
   */
  withdraw(instanceId: string, userId: string): Promise<void>;
  /**
   * Each user's status over all instances: online beats away beats offline.
   *
   * @example
   * const { [userId]: status } = await presence.statuses([userId]);
   */
  statuses(userIds: readonly string[]): Promise<Record<string, PresenceStatus>>;
  /**
   * Releases connections the store opened itself (not those it was given).
   *
   * @example
   * await presence.close();
   */
  close(): Promise<void>;
}

/** Combines the statuses one user has on several instances. */
export function strongestPresence(statuses: Iterable<PresenceStatus>): PresenceStatus {
  let result: PresenceStatus = 'offline';
  for (const status of statuses) {
    if (status === 'online') return 'online';
    if (status === 'away') result = 'away';
  }
  return result;
}
