/** One clock for every bucket (a closure per bucket would be kept by each idle connection). */
const performanceNow = (): number => performance.now();

/**
 * A token bucket: holds up to `capacity` tokens and gains `ratePerSecond` per second. Each frame takes one.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #ratePerMillisecond: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(ratePerSecond: number, capacity: number, now: () => number = performanceNow) {
    this.#capacity = capacity;
    this.#ratePerMillisecond = ratePerSecond / 1000;
    this.#now = now;
    this.#tokens = capacity;
    this.#updatedAt = now();
  }

  /** Takes a token; false when none is left. */
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  retryAfterMs(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#ratePerMillisecond);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#capacity,
      this.#tokens + (now - this.#updatedAt) * this.#ratePerMillisecond,
    );
    this.#updatedAt = now;
  }
}
