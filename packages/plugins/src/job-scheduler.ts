import { PLUGIN_JOB_REASON_MAX_LENGTH, type PluginJobRunStore, type PluginJobSlot } from '@kaiwa/core';
import type { Cron } from 'croner';
import { parsePluginSchedule } from './manifest.js';
import type { PluginHost } from './plugin-host.js';

/** Time and timers as the scheduler sees them; tests pass one they move by hand. */
export interface SchedulerClock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The wall clock, with timers that never keep the process alive. */
const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What happened to a slot on this instance, for logs and admins. */
export type PluginJobEvent =
  | { type: 'job-done'; slot: PluginJobSlot; durationMs: number }
  | { type: 'job-failed'; slot: PluginJobSlot; durationMs: number; reason: string }
  /**
   * Not run here: another instance claimed it, the plugin is not running here, the timer woke too late, or
   * this instance's run of the job's previous slot is still going (runs of one job never overlap here).
   */
  | {
      type: 'job-skipped';
      slot: PluginJobSlot;
      reason: 'claimed_elsewhere' | 'not_running' | 'missed' | 'still_running';
    }
  /** The run store failed (claiming, recording or pruning); the slot is not run when its claim failed. */
  | { type: 'job-store-failed'; slot: PluginJobSlot | undefined; error: unknown };

export interface PluginJobSchedulerConfig {
  /** Where the jobs are declared and run. */
  host: Pick<PluginHost, 'scheduledJobs' | 'canRunJob' | 'runJob'>;
  /** Where slots are claimed: the database every instance shares (`@kaiwa/store-kysely`'s `pluginJobRuns`). */
  runs: PluginJobRunStore;
  /** This instance's name in the runs it claims (1 to 128 characters). */
  instanceId: string;
  /** Defaults to the wall clock. */
  clock?: SchedulerClock;
  onEvent?(event: PluginJobEvent): void;
  /** A timer that wakes this much after its slot (a process paused or overloaded) skips it. Default 60 s. */
  maxLatenessMs?: number;
  /** Runs scheduled longer ago than this are pruned (at most once an hour). Default 7 days. */
  keepRunsForMs?: number;
}

/** Timers wait at most this long at once (setTimeout's limit is ~24.8 days); a longer wait is taken in steps. */
const MAX_TIMER_MS = 60 * 60 * 1000;
const PRUNE_EVERY_MS = 60 * 60 * 1000;

interface ArmedJob {
  pluginId: string;
  job: string;
  schedule: string;
  cron: Cron;
  timer: unknown;
  /** Whether this instance is running one of its slots now. */
  running: boolean;
}

const keyOf = (job: { pluginId: string; job: string; schedule: string }) =>
  `${job.pluginId}\u0000${job.job}\u0000${job.schedule}`;

/**
 * Runs plugins' scheduled jobs. Guarantees: every job the host's plugins declare gets one timer (`sync()` follows plugins
 * installed, upgraded or uninstalled later), set for its next slot (5-field cron in UTC, so at most one slot a minute); at each slot an instance where the plugin runs with
 * a handler for the job claims the slot in the shared {@link PluginJobRunStore}, and only the instance whose
 * claim wins calls the plugin, within the plugin's call deadline (`limits.callTimeoutMs`), then records the run
 * `done` or `failed` with its reason and duration. A job that throws or hangs is recorded failed and its next
 * slot runs as usual. Slots are computed from the schedule alone, so every instance agrees on them. Nothing is
 * replayed: slots that passed while no instance was up, or while this one's timer could not fire (a wake-up more
 * than `maxLatenessMs` late), are skipped, and a run whose instance died mid-run stays `running`. Runs happen
 * beside chat, never in its way: the timer only starts them. `close()` clears every timer and waits for the
 * runs in flight, each bounded by its deadline.
 *
 * @example
 * const scheduler = new PluginJobScheduler({ host, runs: store.pluginJobRuns, instanceId: 'kaiwa-1' });
 * scheduler.start();
 * // at shutdown, before the plugins stop
 * await scheduler.close();
 */
export class PluginJobScheduler {
  readonly #config: PluginJobSchedulerConfig;
  readonly #clock: SchedulerClock;
  readonly #jobs = new Map<string, ArmedJob>();
  readonly #inFlight = new Set<Promise<void>>();
  #state: 'new' | 'started' | 'closed' = 'new';
  #lastPrune = Number.NEGATIVE_INFINITY;

  constructor(config: PluginJobSchedulerConfig) {
    this.#config = config;
    this.#clock = config.clock ?? systemClock;
  }

  /** Arms a timer per declared job (the plugins' manifests as the host has them now). */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'started';
    this.sync();
  }

  /**
   * Follows the host's plugins as they are now: arms a timer for each declared job not armed yet and clears
   * the timers of jobs no longer declared (a plugin installed, upgraded or uninstalled while the server runs;
   * a changed schedule counts as a new job). A run in flight is not interrupted.
   */
  sync(): void {
    if (this.#state !== 'started') return;
    const declared = new Map(this.#config.host.scheduledJobs().map((job) => [keyOf(job), job]));
    for (const [key, armed] of this.#jobs) {
      if (declared.has(key)) continue;
      if (armed.timer !== undefined) this.#clock.clearTimeout(armed.timer);
      armed.timer = undefined;
      this.#jobs.delete(key);
    }
    for (const [key, { pluginId, job, schedule }] of declared) {
      if (this.#jobs.has(key)) continue;
      const armed: ArmedJob = {
        pluginId,
        job,
        schedule,
        cron: parsePluginSchedule(schedule),
        timer: undefined,
        running: false,
      };
      this.#jobs.set(key, armed);
      this.#armAfter(armed, this.#clock.now());
    }
  }

  /** Resolves when no run started so far is in flight (tests, and `close`). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Clears every timer and waits for the runs in flight; no slot starts afterwards. */
  async close(): Promise<void> {
    this.#state = 'closed';
    for (const job of this.#jobs.values()) {
      if (job.timer !== undefined) this.#clock.clearTimeout(job.timer);
      job.timer = undefined;
    }
    await this.settled();
  }

  /** Sets the job's timer for its first slot after `after`. */
  #armAfter(job: ArmedJob, after: number): void {
    const next = job.cron.nextRun(new Date(after));
    if (next !== null) this.#armFor(job, next.getTime());
  }

  #armFor(job: ArmedJob, slot: number): void {
    if (this.#state !== 'started') return;
    const delayMs = Math.max(0, Math.min(slot - this.#clock.now(), MAX_TIMER_MS));
    job.timer = this.#clock.setTimeout(() => this.#wake(job, slot), delayMs);
  }

  #wake(job: ArmedJob, slot: number): void {
    job.timer = undefined;
    if (this.#state !== 'started' || this.#jobs.get(keyOf(job)) !== job) return;
    const now = this.#clock.now();
    // A long wait taken in steps, or a timer that fired early.
    if (now < slot) {
      this.#armFor(job, slot);
      return;
    }
    // The next slot after both this one and now: slots the timer slept through are not replayed.
    this.#armAfter(job, Math.max(now, slot));
    const scheduled: PluginJobSlot = {
      pluginId: job.pluginId,
      job: job.job,
      scheduledAt: new Date(slot).toISOString(),
    };
    if (now - slot > (this.#config.maxLatenessMs ?? 60_000)) {
      this.#emit({ type: 'job-skipped', slot: scheduled, reason: 'missed' });
      return;
    }
    if (job.running) {
      this.#emit({ type: 'job-skipped', slot: scheduled, reason: 'still_running' });
      return;
    }
    job.running = true;
    const run = this.#run(scheduled).finally(() => {
      job.running = false;
      this.#inFlight.delete(run);
    });
    this.#inFlight.add(run);
  }

  async #run(slot: PluginJobSlot): Promise<void> {
    const { host, runs, instanceId } = this.#config;
    // Claim only where the plugin can run it: an instance without it leaves the slot to one that has it.
    if (!host.canRunJob(slot.pluginId, slot.job)) {
      this.#emit({ type: 'job-skipped', slot, reason: 'not_running' });
      return;
    }
    let claimed: boolean;
    try {
      claimed = await runs.claim(slot, { instanceId, claimedAt: new Date(this.#clock.now()).toISOString() });
    } catch (error) {
      this.#emit({ type: 'job-store-failed', slot, error });
      return;
    }
    if (!claimed) {
      this.#emit({ type: 'job-skipped', slot, reason: 'claimed_elsewhere' });
      return;
    }
    this.#prune();
    // Durations by the monotonic clock: the scheduler's clock may be a test's, standing still.
    const started = performance.now();
    let failure: string | undefined;
    try {
      await host.runJob(slot);
    } catch (error) {
      failure = (error instanceof Error ? error.message : String(error)) || 'failed';
    }
    const durationMs = Math.round(performance.now() - started);
    const finishedAt = new Date(this.#clock.now()).toISOString();
    const reason = failure?.slice(0, PLUGIN_JOB_REASON_MAX_LENGTH);
    try {
      await runs.finish(
        slot,
        reason === undefined
          ? { status: 'done', finishedAt, durationMs }
          : { status: 'failed', finishedAt, durationMs, reason },
      );
    } catch (error) {
      this.#emit({ type: 'job-store-failed', slot, error });
    }
    this.#emit(
      reason === undefined
        ? { type: 'job-done', slot, durationMs }
        : { type: 'job-failed', slot, durationMs, reason },
    );
  }

  /** Deletes old runs, at most once an hour, in the background. */
  #prune(): void {
    const now = this.#clock.now();
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    const before = new Date(now - (this.#config.keepRunsForMs ?? 7 * 24 * 60 * 60 * 1000)).toISOString();
    const pruning = this.#config.runs
      .prune(before)
      .then(
        () => {},
        (error: unknown) => this.#emit({ type: 'job-store-failed', slot: undefined, error }),
      )
      .finally(() => this.#inFlight.delete(pruning));
    this.#inFlight.add(pruning);
  }

  #emit(event: PluginJobEvent): void {
    try {
      this.#config.onEvent?.(event);
    } catch {
      // A listener's failure must not stop the schedule.
    }
  }
}
