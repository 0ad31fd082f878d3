import { createHash } from 'node:crypto';
import type { ChatStore, PlatformInboxItem } from '@kaiwa/core';
import {
  createId,
  PlatformError,
  type PlatformEventSink,
  type PlatformInboundEvent,
  ValidationError,
} from '@kaiwa/core';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { fromPlatformJson, toPlatformJson } from './platform-json.js';
import { QueueWorker } from './queue-worker.js';

/** Handles one inbound event; throwing makes the inbox try again later. */
export type PlatformEventHandler = (event: PlatformInboundEvent, item: PlatformInboxItem) => Promise<void>;

export interface PlatformInboxConfig {
  store: ChatStore;
  /** Whose inbox this is (`bridge`, `bot:helper`): each consumer dedupes and handles events on its own. */
  consumer: string;
  handler: PlatformEventHandler;
  /** Attempts before an event is declared dead. Default 5. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** How long a claimed event is reserved for this process; after a crash it comes back then. Default 60 s. */
  leaseMs?: number;
  /** How often to look for due events when nothing woke the worker. Default 1 s. */
  pollMs?: number;
  /** Events claimed per pass. Default 20. */
  batchSize?: number;
  /**
   * Events handled at the same time. Default 1: events are handled one after another, in arrival order
   * (the bridge relies on that). A bot whose replies stream for a while wants more, so one slow answer
   * does not hold up everyone else.
   */
  concurrency?: number;
  clock?: () => Date;
  /** Told about each failed attempt (for logs); the event is retried or dead either way. */
  onError?: (error: unknown, item: PlatformInboxItem) => void;
  /** Told when an event is declared dead. */
  onDead?: (item: PlatformInboxItem, error: unknown) => void;
}

/**
 * The durable inbox between platform adapters and whoever handles their events. `accept` records the event
 * (once per platform event id, so a platform's redelivery is a no-op) and returns, so the adapter can
 * acknowledge at once; a worker then handles the events in the order they came, with retries and
 * exponential backoff. An event that keeps failing is kept as `dead`, visible through `listDead` and
 * `requeue`. Events recorded but not handled when a process stops are handled by the next one.
 *
 * @example
 * const inbox = new PlatformInbox({ store, consumer: 'bot:helper', handler: async (event) => { … } });
 * await slack.connect(inbox);
 * inbox.start();
 */
export class PlatformInbox implements PlatformEventSink {
  readonly consumer: string;
  readonly #store: ChatStore;
  readonly #handler: PlatformEventHandler;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #clock: () => Date;
  readonly #onError: (error: unknown, item: PlatformInboxItem) => void;
  readonly #onDead: (item: PlatformInboxItem, error: unknown) => void;
  readonly #worker: QueueWorker;

  constructor(config: PlatformInboxConfig) {
    this.consumer = config.consumer;
    this.#store = config.store;
    this.#handler = config.handler;
    this.#maxAttempts = config.maxAttempts ?? 5;
    this.#backoff = config.backoff ?? {};
    this.#leaseMs = config.leaseMs ?? 60_000;
    this.#batchSize = config.batchSize ?? 20;
    this.#concurrency = Math.max(1, Math.floor(config.concurrency ?? 1));
    this.#clock = config.clock ?? (() => new Date());
    this.#onError = config.onError ?? (() => {});
    this.#onDead =
      config.onDead ??
      ((item, error) =>
        console.error(
          `kaiwa: platform event ${item.platform}/${item.eventId} is dead after ${item.attempts} attempts`,
          error,
        ));
    this.#worker = new QueueWorker(
      () => this.#pass(),
      config.pollMs ?? 1000,
      (error) => console.error(`kaiwa: inbox ${this.consumer} pass failed`, error),
    );
  }

  /** Records the event durably (a repeat is ignored) and wakes the worker. */
  async accept(event: PlatformInboundEvent): Promise<void> {
    await this.record(event);
  }

  /** Like `accept`, and says whether the event was new. */
  async record(event: PlatformInboundEvent): Promise<'recorded' | 'duplicate'> {
    if (typeof event?.platform !== 'string' || event.platform === '' || event.platform.length > 32) {
      throw ValidationError.field('platform', 'must be a platform name of 1–32 characters');
    }
    if (typeof event.eventId !== 'string' || event.eventId === '') {
      throw ValidationError.field('eventId', 'must be a non-empty string');
    }
    const outcome = await this.#store.platformInbox.record({
      id: createId(),
      consumer: this.consumer,
      platform: event.platform,
      eventId: storedKey(event.eventId),
      event: toPlatformJson(event),
      receivedAt: this.#now(),
    });
    if (outcome === 'recorded') this.#worker.wake();
    return outcome;
  }

  /** Starts handling events in the background. */
  start(): void {
    this.#worker.start();
  }

  /** Stops the worker after the event in hand; unhandled events stay for the next start. */
  async stop(): Promise<void> {
    await this.#worker.stop();
    await this.#settled();
  }

  /** Handles every event due now (and those that become due while it runs); returns how many it took. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const taken = await this.#worker.runPass();
      total += taken;
      if (taken === 0) {
        if (this.#inFlight.size === 0) return total;
        await this.#settled();
      }
    }
  }

  /** Resolves when no event is being handled. */
  async #settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /** Events that failed for good, oldest first. */
  listDead(page: { after?: string; limit?: number } = {}): Promise<PlatformInboxItem[]> {
    return this.#store.platformInbox.list({
      consumer: this.consumer,
      status: 'dead',
      limit: page.limit ?? 100,
      ...(page.after ? { after: page.after } : {}),
    });
  }

  /** Gives a dead event another round of attempts. @returns false when it was not dead. */
  async requeue(id: string): Promise<boolean> {
    const requeued = await this.#store.platformInbox.requeue(id, this.#now());
    if (requeued) this.#worker.wake();
    return requeued;
  }

  async #pass(): Promise<number> {
    const free = this.#concurrency === 1 ? this.#batchSize : this.#concurrency - this.#inFlight.size;
    if (free <= 0) return 0;
    const now = this.#clock();
    const items = await this.#store.platformInbox.claim({
      consumer: this.consumer,
      now: now.toISOString(),
      leaseUntil: new Date(now.getTime() + this.#leaseMs).toISOString(),
      limit: Math.min(free, this.#batchSize),
    });
    if (this.#concurrency === 1) {
      for (const item of items) await this.#handle(item);
      return items.length;
    }
    for (const item of items) {
      const handling: Promise<void> = this.#handle(item)
        .catch((error: unknown) =>
          console.error(`kaiwa: inbox ${this.consumer} could not settle an event`, error),
        )
        .finally(() => {
          this.#inFlight.delete(handling);
          // A slot is free: look for more work now rather than at the next poll.
          this.#worker.wake();
        });
      this.#inFlight.add(handling);
    }
    return items.length;
  }

  async #handle(item: PlatformInboxItem): Promise<void> {
    try {
      await this.#handler(fromPlatformJson<PlatformInboundEvent>(item.event), item);
    } catch (error) {
      this.#onError(error, item);
      const permanent = error instanceof PlatformError && !error.retryable;
      const dead = permanent || item.attempts >= this.#maxAttempts;
      const now = this.#clock();
      await this.#store.platformInbox.markFailed(item.id, {
        error: describeError(error),
        retryAt: dead
          ? null
          : new Date(now.getTime() + backoffDelay(item.attempts, this.#backoff)).toISOString(),
        at: now.toISOString(),
      });
      if (dead) this.#onDead({ ...item, status: 'dead' }, error);
      return;
    }
    await this.#store.platformInbox.markDone(item.id, this.#now());
  }

  #now(): string {
    return this.#clock().toISOString();
  }
}

export function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 2000);
}

/** The store keeps keys of up to 191 characters; longer ones are kept as their SHA-256. */
export function storedKey(key: string): string {
  if (key.length <= 191) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
