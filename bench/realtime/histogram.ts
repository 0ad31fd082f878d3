/**
 * A latency histogram with 10 µs buckets up to 5 s (anything slower lands in the last bucket, and the
 * true maximum is kept). Recording is one array increment, so every delivery can be recorded.
 */
export class LatencyHistogram {
  static readonly RESOLUTION_US = 10;
  static readonly MAX_US = 5_000_000;
  readonly #buckets = new Uint32Array(LatencyHistogram.MAX_US / LatencyHistogram.RESOLUTION_US + 1);
  count = 0;
  #sumUs = 0;
  #maxUs = 0;

  /** Records one latency in microseconds. */
  record(microseconds: number): void {
    const value = Math.max(microseconds, 0);
    const index = Math.min(Math.floor(value / LatencyHistogram.RESOLUTION_US), this.#buckets.length - 1);
    this.#buckets[index]! += 1;
    this.count += 1;
    this.#sumUs += value;
    if (value > this.#maxUs) this.#maxUs = value;
  }

  reset(): void {
    this.#buckets.fill(0);
    this.count = 0;
    this.#sumUs = 0;
    this.#maxUs = 0;
  }

  /** The latency in milliseconds below which `fraction` (0–1) of the recorded values lie. */
  percentileMs(fraction: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(fraction * this.count));
    let seen = 0;
    for (let index = 0; index < this.#buckets.length; index += 1) {
      seen += this.#buckets[index]!;
      if (seen >= rank) {
        if (index === this.#buckets.length - 1) return this.#maxUs / 1000;
        return ((index + 1) * LatencyHistogram.RESOLUTION_US) / 1000;
      }
    }
    return this.#maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      meanMs: this.count === 0 ? Number.NaN : this.#sumUs / this.count / 1000,
      p50Ms: this.percentileMs(0.5),
      p95Ms: this.percentileMs(0.95),
      p99Ms: this.percentileMs(0.99),
      p999Ms: this.percentileMs(0.999),
      maxMs: this.count === 0 ? Number.NaN : this.#maxUs / 1000,
    };
  }
}

export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}
