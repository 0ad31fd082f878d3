/** What {@link OrderedRoomEvents} needs from its user. `T` is a room event, or a wrapper of one. */
export interface OrderedRoomEventsOptions<T> {
  /** The room sequence number of an item. */
  seqOf(item: T): number;
  /**
   * The store's events after `afterSeq`, at most `limit`, in sequence order (for example
   * `engine.eventsSince(userId, roomId, afterSeq, limit)` wrapped as `T`).
   */
  read(afterSeq: number, limit: number): Promise<T[]>;
  /** Receives each item once, in sequence order, with no gap. */
  deliver(item: T): void;
  /** Events per store read. */
  pageSize: number;
  /** Live events held while reading the store; beyond, they are dropped and read again from the store. */
  maxPending: number;
  /**
   * How long a gap may stay open before the store is read (default 0: at once). With several publishing
   * instances, events often arrive a little out of order; waiting a few milliseconds for the missing one
   * saves a store read per subscriber.
   */
  gapWaitMs?: number;
  /**
   * Called before each delivery while catching up: a promise to wait on (the receiver is congested), or
   * undefined to go on at once.
   */
  pace?: () => Promise<void> | undefined;
  /**
   * Catching up failed (the store failed, or never had the missing events); nothing more is delivered
   * until `close()`, which the receiver should call.
   */
  onError(error: unknown): void;
  /** Keeps background work in view (shutdown waits for it). */
  track?: (work: Promise<void>) => void;
}

/** Empty pages in a row, while a live event shows the store must have more, before giving up. */
const MAX_EMPTY_GAP_READS = 10;

/**
 * Turns the live events of one room, as a bus delivers them (late, out of order, with gaps, twice),
 * into exactly-once delivery in sequence order. It tracks the last sequence number delivered; when a live
 * event skips a number, or on `resync()` (after a bus reconnect), it reads what is missing from the store
 * and holds live events back meanwhile. The store has every event that was published, so nothing is lost.
 *
 * @example
 * const ordered = new OrderedRoomEvents({
 *   seqOf: (event) => event.seq,
 *   read: (afterSeq, limit) => engine.eventsSince(userId, roomId, afterSeq, limit),
 *   deliver: (event) => socket.send(JSON.stringify(event)),
 *   pageSize: 200,
 *   maxPending: 10_000,
 *   onError: (error) => console.error(error),
 * });
 * ordered.start(lastSeqTheClientHas);
 * bus.subscribe((event) => isRoomEvent(event) && event.roomId === roomId && ordered.offer(event));
 */
export class OrderedRoomEvents<T> {
  /** Sequence number of the last item delivered (or the starting point). */
  lastSeq = 0;
  #closed = false;
  #started = false;
  /** While true, live items wait in `#pending` and the store is the source. */
  #syncing = true;
  #pending: T[] = [];
  #pendingHead = 0;
  /** A resync was asked for while one was running: read the store once more before going live. */
  #readAgain = false;
  /** Live items ahead of a gap, by sequence number, while waiting `gapWaitMs` for the missing ones. */
  readonly #held = new Map<number, T>();
  #gapTimer: ReturnType<typeof setTimeout> | undefined;
  /** Settles the tracked promise of the current gap wait. */
  #gapWaitOver: (() => void) | undefined;
  readonly #options: OrderedRoomEventsOptions<T>;

  constructor(options: OrderedRoomEventsOptions<T>) {
    this.#options = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Starts delivery after `fromSeq`: the store first, then the live items held meanwhile. */
  start(fromSeq: number): void {
    this.lastSeq = fromSeq;
    this.#started = true;
    this.#catchUp();
  }

  /** A live item from the bus. Before `start`, it is held. */
  offer(item: T): void {
    if (this.#closed) return;
    if (this.#syncing) {
      if (this.#pending.length - this.#pendingHead >= this.#options.maxPending) {
        this.#pending = [];
        this.#pendingHead = 0;
      }
      this.#pending.push(item);
      return;
    }
    const seq = this.#options.seqOf(item);
    if (seq <= this.lastSeq) return;
    if (seq === this.lastSeq + 1) {
      this.#deliver(item);
      if (this.#held.size > 0) this.#deliverHeld();
      return;
    }
    // A gap: events before this one have not reached us yet (or were lost); the store has them.
    const waitMs = this.#options.gapWaitMs ?? 0;
    if (waitMs > 0 && this.#held.size < this.#options.maxPending) {
      this.#held.set(seq, item);
      if (this.#gapTimer === undefined) {
        this.#gapTimer = setTimeout(() => this.#readHeldGap(), waitMs);
        // Tracked like a store read, so whoever waits for background work waits for this too.
        this.#options.track?.(
          new Promise<void>((resolve) => {
            this.#gapWaitOver = resolve;
          }),
        );
      }
      return;
    }
    this.#held.set(seq, item);
    this.#readHeldGap();
  }

  /** Delivers held items that follow on without a gap now. */
  #deliverHeld(): void {
    for (let next = this.#held.get(this.lastSeq + 1); next !== undefined && !this.#closed; ) {
      this.#held.delete(this.lastSeq + 1);
      this.#deliver(next);
      next = this.#held.get(this.lastSeq + 1);
    }
    for (const seq of this.#held.keys()) if (seq <= this.lastSeq) this.#held.delete(seq);
    if (this.#held.size === 0) this.#clearGapTimer();
  }

  /** The gap stayed open: read the store, holding what arrived ahead of it. */
  #readHeldGap(): void {
    this.#clearGapTimer();
    if (this.#closed || this.#syncing) return;
    this.#syncing = true;
    this.#pending = [...this.#held.values()].sort((a, b) => this.#options.seqOf(a) - this.#options.seqOf(b));
    this.#pendingHead = 0;
    this.#held.clear();
    this.#catchUp();
  }

  #clearGapTimer(): void {
    if (this.#gapTimer === undefined) return;
    clearTimeout(this.#gapTimer);
    this.#gapTimer = undefined;
    this.#gapWaitOver?.();
    this.#gapWaitOver = undefined;
  }

  /** Reads the store for anything after `lastSeq`, as on a gap (after the bus reconnected). */
  resync(): void {
    if (!this.#started || this.#closed) return;
    if (this.#held.size > 0) {
      this.#readHeldGap();
      return;
    }
    if (this.#syncing) {
      this.#readAgain = true;
      return;
    }
    this.#syncing = true;
    this.#catchUp();
  }

  close(): void {
    this.#closed = true;
    this.#pending = [];
    this.#pendingHead = 0;
    this.#held.clear();
    this.#clearGapTimer();
  }

  #catchUp(): void {
    const work = this.#synchronise().catch((error: unknown) => {
      if (!this.#closed) this.#options.onError(error);
    });
    this.#options.track?.(work);
  }

  async #synchronise(): Promise<void> {
    let emptyGapReads = 0;
    for (;;) {
      const read = await this.#readStore();
      if (this.#closed) return;
      const outcome = await this.#drainPending();
      if (this.#closed) return;
      if (outcome === 'caught-up') {
        if (this.#readAgain) {
          this.#readAgain = false;
          continue;
        }
        this.#syncing = false;
        return;
      }
      // A held event is ahead of the store's answer; the missing events are committed, so read again.
      emptyGapReads = read === 0 ? emptyGapReads + 1 : 0;
      if (emptyGapReads >= MAX_EMPTY_GAP_READS) {
        throw new Error(`events after seq ${this.lastSeq} are missing from the store`);
      }
      if (emptyGapReads > 0) await delay(20 * emptyGapReads);
    }
  }

  /** Delivers everything the store has after `lastSeq`, page by page. Returns how many it delivered. */
  async #readStore(): Promise<number> {
    const { pageSize } = this.#options;
    let delivered = 0;
    for (;;) {
      const page = await this.#options.read(this.lastSeq, pageSize);
      if (this.#closed) return delivered;
      for (const item of page) {
        if (this.#options.seqOf(item) <= this.lastSeq) continue;
        if (!(await this.#paced())) return delivered;
        this.#deliver(item);
        delivered += 1;
        if (this.#closed) return delivered;
      }
      if (page.length < pageSize) return delivered;
    }
  }

  /** Delivers held live items in order until they run out ('caught-up') or one is ahead ('gap'). */
  async #drainPending(): Promise<'caught-up' | 'gap'> {
    for (;;) {
      const item = this.#pending[this.#pendingHead];
      if (item === undefined) {
        this.#pending = [];
        this.#pendingHead = 0;
        return 'caught-up';
      }
      const seq = this.#options.seqOf(item);
      if (seq > this.lastSeq + 1) return 'gap';
      this.#pendingHead += 1;
      if (seq <= this.lastSeq) continue;
      if (!(await this.#paced())) return 'caught-up';
      this.#deliver(item);
      if (this.#closed) return 'caught-up';
    }
  }

  /** Waits while the receiver is congested; false when closed meanwhile. */
  async #paced(): Promise<boolean> {
    const wait = this.#options.pace?.();
    if (wait) await wait;
    return !this.#closed;
  }

  #deliver(item: T): void {
    this.lastSeq = this.#options.seqOf(item);
    this.#options.deliver(item);
  }
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
