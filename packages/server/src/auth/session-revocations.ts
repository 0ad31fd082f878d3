import type { AccountRepository, SessionRevocation } from '@kaiwa/core';

export interface SessionRevocationsOptions {
  /** How long an ended session must stay known: the access-token lifetime (after it, its tokens expired). */
  lifetimeMs: number;
  /** How often the set is rebuilt from the store, as a net under missed bus messages. Default 30 s. */
  resyncIntervalMs?: number;
  clock?: () => Date;
  onResyncError?: (error: unknown) => void;
}

const DEFAULT_RESYNC_INTERVAL_MS = 30_000;

/**
 * The sessions (refresh-token families, the `sid` claim of access tokens) that ended recently, kept in
 * memory on every instance, so checking a request's token costs no database read (docs/adr/0003).
 *
 * It is fed three ways: synchronously by the engine on the instance that ends a session, before that
 * instance answers (`add`); by `user.sessions_revoked` events from every instance over the bus; and by
 * the store at start and every `resyncIntervalMs` (`resync`), which covers a bus message that was lost
 * and an instance that started after the revocation. An entry is forgotten once every access token that
 * could carry it has expired by itself.
 *
 * @example
 * const revocations = new SessionRevocations({ lifetimeMs: 900_000 });
 * await revocations.start(store.accounts);
 * revocations.add(['01J…']);
 * revocations.isRevoked('01J…'); // true
 */
export class SessionRevocations {
  readonly #lifetimeMs: number;
  readonly #resyncIntervalMs: number;
  readonly #clock: () => Date;
  readonly #onResyncError: (error: unknown) => void;
  /** Session id → when it may be forgotten (ms since the epoch). */
  readonly #ended = new Map<string, number>();
  readonly #listeners = new Set<(sessionIds: string[], reason: string) => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SessionRevocationsOptions) {
    this.#lifetimeMs = options.lifetimeMs;
    this.#resyncIntervalMs = options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS;
    this.#clock = options.clock ?? (() => new Date());
    this.#onResyncError = options.onResyncError ?? (() => undefined);
  }

  /** Records ended sessions; listeners hear of the ones that were not known yet. */
  add(sessionIds: Iterable<string>, reason = 'revoked'): void {
    const forgetAt = this.#clock().getTime() + this.#lifetimeMs;
    const added: string[] = [];
    for (const sessionId of sessionIds) {
      if (!this.#ended.has(sessionId)) added.push(sessionId);
      this.#ended.set(sessionId, forgetAt);
    }
    if (added.length === 0) return;
    for (const listener of this.#listeners) listener(added, reason);
  }

  /**
   * Calls `listener` with sessions as they become known as ended, from any source, and why (`revoked`
   * when a resync from the store found them: what a lost bus message would have said). The realtime
   * server closes their sockets.
   * @returns a function that removes the listener.
   */
  onRevoked(listener: (sessionIds: string[], reason: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Records what a revocation event ended. */
  apply(revocation: SessionRevocation): void {
    this.add(revocation.sessionIds, revocation.reason);
  }

  isRevoked(sessionId: string): boolean {
    const forgetAt = this.#ended.get(sessionId);
    if (forgetAt === undefined) return false;
    if (forgetAt > this.#clock().getTime()) return true;
    this.#ended.delete(sessionId);
    return false;
  }

  /** How many ended sessions are known now. */
  get size(): number {
    return this.#ended.size;
  }

  /** Loads the sessions ended within the lifetime, then keeps reloading them every `resyncIntervalMs`. */
  async start(accounts: Pick<AccountRepository, 'listRevokedSessions'>): Promise<void> {
    await this.resync(accounts);
    this.#timer ??= setInterval(() => {
      this.resync(accounts).catch(this.#onResyncError);
    }, this.#resyncIntervalMs);
    this.#timer.unref();
  }

  /** Adds every session the store says ended within the lifetime, and forgets expired entries. */
  async resync(accounts: Pick<AccountRepository, 'listRevokedSessions'>): Promise<void> {
    const now = this.#clock().getTime();
    const ended = await accounts.listRevokedSessions(new Date(now - this.#lifetimeMs).toISOString());
    this.add(ended);
    for (const [sessionId, forgetAt] of this.#ended) if (forgetAt <= now) this.#ended.delete(sessionId);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
