import type { SchedulerClock } from '../job-scheduler.js';

/**
 * A {@link SchedulerClock} that stands still until a test moves it: `advanceTo` fires the due timers in time
 * order, each seeing `now()` at its own due time.
 */
export class ManualClock implements SchedulerClock {
  #now: number;
  #nextId = 0;
  readonly #timers = new Map<number, { at: number; callback: () => void }>();

  constructor(start: Date) {
    this.#now = start.getTime();
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves the time without firing anything, as when the process was paused: due timers fire late, at the next `advanceTo`. */
  jump(time: Date): void {
    this.#now = Math.max(this.#now, time.getTime());
  }

  /** Moves the time to `time`, firing every timer due by then (also those the fired ones set). */
  advanceTo(time: Date): void {
    const target = time.getTime();
    for (;;) {
      let due: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (due === undefined || entry[1].at < due[1].at)) due = entry;
      }
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].callback();
    }
    this.#now = Math.max(this.#now, target);
  }
}
