import { OrderedRoomEvents, type RoomEvent } from '@kaiwa/core';
import { type BackoffOptions, backoffDelay } from '@kaiwa/platform-queues';

/** How a failing hand-on is tried again before the room stalls. */
export interface RoomFeedRetry {
  /** Attempts per event before the room stalls. Default 5. */
  maxAttempts?: number;
  /** Waits between attempts. Default 100 ms, doubling, at most 5 s, with jitter. */
  backoff?: BackoffOptions;
}

export interface RoomFeedOptions {
  roomId: string;
  /** The store's events after `afterSeq`, in order (the engine's `eventsSince`). */
  read(afterSeq: number, limit: number): Promise<RoomEvent[]>;
  /** Hands one event on (to the sink); throwing means "not handed on, try again". */
  handle(event: RoomEvent): Promise<void>;
  /**
   * The room stalled: `event` kept failing (or, without an event, catching up from the store failed).
   * Nothing after it is handed on until the next live event of the room or `resync()` tries again.
   */
  onStalled(error: unknown, event: RoomEvent | undefined): void;
  retry?: RoomFeedRetry;
  /** Keeps background work in view, so `idle()` and `disconnect()` can wait for it. */
  track(work: Promise<void>): void;
}

/** Events per store read; also how many delivered events may wait for the sink before catching up pauses. */
const PAGE_SIZE = 200;
/** Live events held while the store is read; more are dropped and read from the store again. */
const MAX_PENDING = 10_000;
/** A live event that skips a number waits this long for the missing one before the store is read. */
const GAP_WAIT_MS = 30;
const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 100, maxMs: 5_000 };

/**
 * One room's events handed to a sink one at a time, in sequence order, each once it was handled.
 *
 * Ordering and gaps are core's {@link OrderedRoomEvents}: live events that arrive out of order (several
 * server instances publishing on Redis or NATS) are put back in order, a gap that stays open is filled from
 * the store, and after a bus reconnect the store is read again. `handledSeq` only moves past an event once
 * `handle` resolved for it. A failing `handle` is retried with backoff, up to `maxAttempts`; then the room
 * stalls: `onStalled` is told, the events held in memory are dropped and nothing later is handed on (it
 * would overtake the failed one). The next live event of the room, or `resync()`, starts again from
 * `handledSeq`, reading the failed event and everything after it from the store. So every event is handed
 * on at least once and in order; one that failed may be handed on again, which the inbox deduplicates by its
 * event id.
 *
 * @example
 * const feed = new RoomFeed({ roomId, read, handle: (event) => sink.accept(toInbound(event)), onStalled, track });
 * feed.start(storedCursor);
 * bus.subscribe((event) => isRoomEvent(event) && event.roomId === roomId && feed.offer(event));
 */
export class RoomFeed {
  readonly roomId: string;
  /** Sequence number of the last event handled (or the starting point). */
  handledSeq = 0;
  readonly #options: RoomFeedOptions;
  readonly #maxAttempts: number;
  readonly #backoff: BackoffOptions;
  #ordered: OrderedRoomEvents<RoomEvent>;
  /** Delivered in order by `#ordered`, waiting for `handle`. */
  #queue: RoomEvent[] = [];
  #draining = false;
  #stalled = false;
  #started = false;
  #closed = false;
  /** Wakes a backoff wait early when the feed closes. */
  #wake: (() => void) | undefined;
  /** Wakes a paused catch-up once the queue is short again. */
  #drained: (() => void) | undefined;

  constructor(options: RoomFeedOptions) {
    this.roomId = options.roomId;
    this.#options = options;
    this.#maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 5);
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.retry?.backoff };
    this.#ordered = this.#orderedEvents();
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Hands on the events after `fromSeq`: the store's first, then the live ones offered meanwhile. */
  start(fromSeq: number): void {
    if (this.#closed || this.#started) return;
    this.#started = true;
    this.handledSeq = fromSeq;
    this.#ordered.start(fromSeq);
  }

  /** A live event of this room. Before `start`, it is held. A stalled room tries again from `handledSeq`. */
  offer(event: RoomEvent): void {
    if (this.#closed) return;
    if (this.#stalled) this.#restart();
    this.#ordered.offer(event);
  }

  /** Reads the store after what was handed on (after a bus reconnect); a stalled room tries again. */
  resync(): void {
    if (this.#closed || !this.#started) return;
    if (this.#stalled) this.#restart();
    else this.#ordered.resync();
  }

  /** Stops after the attempt in hand; events not handled yet are dropped (the store keeps them). */
  close(): void {
    this.#closed = true;
    this.#ordered.close();
    this.#queue = [];
    this.#wake?.();
    this.#drained?.();
  }

  #orderedEvents(): OrderedRoomEvents<RoomEvent> {
    return new OrderedRoomEvents<RoomEvent>({
      seqOf: (event) => event.seq,
      read: (afterSeq, limit) => this.#options.read(afterSeq, limit),
      deliver: (event) => {
        this.#queue.push(event);
        this.#drain();
      },
      pageSize: PAGE_SIZE,
      maxPending: MAX_PENDING,
      gapWaitMs: GAP_WAIT_MS,
      // Catching up waits while the sink is behind, so a long replay does not pile up in memory.
      pace: () =>
        this.#queue.length < PAGE_SIZE
          ? undefined
          : new Promise<void>((resolve) => {
              this.#drained = resolve;
            }),
      onError: (error) => this.#stall(error, undefined),
      track: (work) => this.#options.track(work),
    });
  }

  /** After a stall: a fresh ordering from `handledSeq`, which reads the failed event again from the store. */
  #restart(): void {
    this.#stalled = false;
    this.#ordered.close();
    this.#ordered = this.#orderedEvents();
    this.#ordered.start(this.handledSeq);
  }

  #stall(error: unknown, event: RoomEvent | undefined): void {
    if (this.#closed || this.#stalled) return;
    this.#stalled = true;
    this.#ordered.close();
    this.#queue = [];
    this.#drained?.();
    this.#options.onStalled(error, event);
  }

  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#options.track(
      this.#handleQueued().finally(() => {
        this.#draining = false;
        // Delivered while the last attempt was finishing.
        if (this.#queue.length > 0 && !this.#closed && !this.#stalled) this.#drain();
      }),
    );
  }

  async #handleQueued(): Promise<void> {
    for (;;) {
      const event = this.#queue.shift();
      if (event === undefined || this.#closed || this.#stalled) return;
      if (this.#queue.length < PAGE_SIZE / 2) {
        this.#drained?.();
        this.#drained = undefined;
      }
      if (event.seq <= this.handledSeq) continue;
      const error = await this.#attempt(event);
      if (this.#closed) return;
      if (error !== undefined) {
        this.#stall(error.cause, event);
        return;
      }
      this.handledSeq = event.seq;
    }
  }

  /** Tries `handle` until it succeeds (undefined) or the attempts are spent (the last error). */
  async #attempt(event: RoomEvent): Promise<{ cause: unknown } | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.#options.handle(event);
        return undefined;
      } catch (error) {
        if (attempt >= this.#maxAttempts || this.#closed) return { cause: error };
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffDelay(attempt, this.#backoff));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
        if (this.#closed) return { cause: error };
      }
    }
  }
}
