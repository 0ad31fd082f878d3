import {
  type PresenceEntry,
  type PresenceStatus,
  type PresenceStore,
  strongestPresence,
} from '../ports/presence-store.js';

/** Presence for one process (or tests): entries expire by their time to live like the shared stores'. */
export class InMemoryPresenceStore implements PresenceStore {
  /** userId → instanceId → entry. */
  readonly #entries = new Map<string, Map<string, { status: PresenceEntry['status']; expiresAt: number }>>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async announce(instanceId: string, entries: readonly PresenceEntry[], ttlMs: number): Promise<void> {
    const expiresAt = this.#now() + ttlMs;
    for (const { userId, status } of entries) {
      let byInstance = this.#entries.get(userId);
      if (!byInstance) {
        byInstance = new Map();
        this.#entries.set(userId, byInstance);
      }
      byInstance.set(instanceId, { status, expiresAt });
    }
  }

  async withdraw(instanceId: string, userId: string): Promise<void> {
    const byInstance = this.#entries.get(userId);
    byInstance?.delete(instanceId);
    if (byInstance?.size === 0) this.#entries.delete(userId);
  }

  async statuses(userIds: readonly string[]): Promise<Record<string, PresenceStatus>> {
    const now = this.#now();
    const result: Record<string, PresenceStatus> = {};
    for (const userId of userIds) {
      const byInstance = this.#entries.get(userId);
      const live: PresenceStatus[] = [];
      for (const [instanceId, entry] of byInstance ?? []) {
        if (entry.expiresAt > now) live.push(entry.status);
        else byInstance?.delete(instanceId);
      }
      result[userId] = strongestPresence(live);
    }
    return result;
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
