interface TypingState {
  /** Stops the indicator when no `typing: true` refreshes it in time. */
  expiry: NodeJS.Timeout;
  publishedAt: number;
}

/**
 * Who is typing where, per user and room. A repeated `typing: true` is forwarded at most once per
 * throttle interval; typing stops on `typing: false`, on a send, on disconnect, or by itself after the
 * expiry interval without a refresh.
 */
export class TypingTracker {
  readonly #states = new Map<string, TypingState>();
  readonly #publish: (roomId: string, userId: string, typing: boolean) => void;
  readonly #throttleMs: number;
  readonly #expiryMs: number;
  readonly #now: () => number;

  constructor(options: {
    publish: (roomId: string, userId: string, typing: boolean) => void;
    throttleMs: number;
    expiryMs: number;
    now?: () => number;
  }) {
    this.#publish = options.publish;
    this.#throttleMs = options.throttleMs;
    this.#expiryMs = options.expiryMs;
    this.#now = options.now ?? (() => performance.now());
  }

  update(roomId: string, userId: string, typing: boolean): void {
    if (!typing) {
      this.stop(roomId, userId);
      return;
    }
    const key = keyOf(roomId, userId);
    const state = this.#states.get(key);
    const now = this.#now();
    if (state) {
      state.expiry.refresh();
      if (now - state.publishedAt < this.#throttleMs) return;
      state.publishedAt = now;
      this.#publish(roomId, userId, true);
      return;
    }
    const expiry = setTimeout(() => this.stop(roomId, userId), this.#expiryMs);
    expiry.unref();
    this.#states.set(key, { expiry, publishedAt: now });
    this.#publish(roomId, userId, true);
  }

  /** Ends the indicator if it is on. */
  stop(roomId: string, userId: string): void {
    const key = keyOf(roomId, userId);
    const state = this.#states.get(key);
    if (!state) return;
    clearTimeout(state.expiry);
    this.#states.delete(key);
    this.#publish(roomId, userId, false);
  }

  /** Forgets everything without announcing it (shutdown: clients expire indicators themselves). */
  dispose(): void {
    for (const state of this.#states.values()) clearTimeout(state.expiry);
    this.#states.clear();
  }
}

function keyOf(roomId: string, userId: string): string {
  return `${roomId}:${userId}`;
}
