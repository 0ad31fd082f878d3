import type { ChatEngine, RoomEvent, RoomKind, UserRole } from '@kaiwa/core';
import { EncodedFrame } from './encoded-frame.js';
import type { RealtimeLimits } from './limits.js';

/** A live event from the bus, serialised at most once however many subscribers it reaches. */
export interface LiveEvent {
  readonly event: RoomEvent;
  frame: EncodedFrame | undefined;
}

export function frameOf(live: LiveEvent): EncodedFrame {
  live.frame ??= EncodedFrame.ofRoomEvent(live.event);
  return live.frame;
}

/** What a subscription needs from its connection. */
export interface SubscriptionOwner {
  readonly userId: string;
  readonly userRole: UserRole;
  readonly engine: ChatEngine;
  readonly limits: RealtimeLimits;
  /** Queues an event frame for the socket. */
  deliverEvent(frame: EncodedFrame): void;
  /** More than half of the send budget is in use: catching up should wait. */
  isCongested(): boolean;
  /** Resolves when the send budget is below half again, or the connection closed. */
  waitUntilDrained(): Promise<void>;
  /** Ends the subscription and tells the client why. */
  endSubscription(subscription: RoomSubscription, reason: 'access_lost' | 'error', error?: unknown): void;
  /** Keeps background work in view so shutdown can wait for it. */
  track(work: Promise<void>): void;
}

/** Empty pages in a row, while a live event shows the store must have more, before giving up. */
const MAX_EMPTY_GAP_READS = 10;

/**
 * One connection's subscription to one room. It delivers each room event exactly once and in sequence
 * order: it tracks the last sequence number delivered, reads what is missing from the store (on resume
 * and whenever a live event skips a number), and holds live events back while it reads.
 */
export class RoomSubscription {
  readonly roomId: string;
  readonly owner: SubscriptionOwner;
  /** Sequence number of the last event delivered (or the client's starting point). */
  lastSeq = 0;
  closed = false;
  #roomKind: RoomKind | undefined;
  #started = false;
  /** While true, live events wait in `#pending` and the store is the source. */
  #syncing = true;
  #pending: LiveEvent[] = [];
  #pendingHead = 0;

  constructor(owner: SubscriptionOwner, roomId: string) {
    this.owner = owner;
    this.roomId = roomId;
  }

  /**
   * Starts delivery after `fromSeq`: reads the events after it from the store, then the live events that
   * arrived meanwhile. Until this is called (while the permission check runs) live events are only held.
   */
  start(fromSeq: number, roomKind: RoomKind): void {
    this.lastSeq = fromSeq;
    this.#roomKind = roomKind;
    this.#started = true;
    this.#catchUp();
  }

  /** Permission checked and not closed: ephemeral frames (typing, read receipts) may reach it. */
  get active(): boolean {
    return this.#started && !this.closed;
  }

  /** A live event for this room from the bus. */
  offer(live: LiveEvent): void {
    if (this.closed) return;
    if (this.#syncing) {
      // The store has every event that was published, so an overflowing buffer can be dropped and re-read.
      if (this.#pending.length - this.#pendingHead >= this.owner.limits.maxPendingEvents) {
        this.#pending = [];
        this.#pendingHead = 0;
      }
      this.#pending.push(live);
      return;
    }
    const seq = live.event.seq;
    if (seq <= this.lastSeq) return;
    if (seq === this.lastSeq + 1) {
      this.#deliver(live.event, frameOf(live));
      return;
    }
    // A gap: events before this one have not reached us yet (or were lost); the store has them.
    this.#syncing = true;
    this.#pending.push(live);
    this.#catchUp();
  }

  close(): void {
    this.closed = true;
    this.#pending = [];
    this.#pendingHead = 0;
  }

  #catchUp(): void {
    this.owner.track(
      this.#synchronise().catch((error: unknown) => {
        if (!this.closed) this.owner.endSubscription(this, 'error', error);
      }),
    );
  }

  async #synchronise(): Promise<void> {
    let emptyGapReads = 0;
    for (;;) {
      const read = await this.#readStore();
      if (this.closed) return;
      const outcome = await this.#drainPending();
      if (this.closed) return;
      if (outcome === 'caught-up') {
        this.#syncing = false;
        return;
      }
      // A held event is ahead of the store's answer; the missing events are committed, so read again.
      emptyGapReads = read === 0 ? emptyGapReads + 1 : 0;
      if (emptyGapReads >= MAX_EMPTY_GAP_READS) {
        throw new Error(`room ${this.roomId}: events after seq ${this.lastSeq} are missing from the store`);
      }
      if (emptyGapReads > 0) await delay(20 * emptyGapReads);
    }
  }

  /** Delivers everything the store has after `lastSeq`, page by page. Returns how many it delivered. */
  async #readStore(): Promise<number> {
    const pageSize = this.owner.limits.resumePageSize;
    let delivered = 0;
    for (;;) {
      const page = await this.owner.engine.eventsSince(
        this.owner.userId,
        this.roomId,
        this.lastSeq,
        pageSize,
      );
      if (this.closed) return delivered;
      for (const event of page) {
        if (event.seq <= this.lastSeq) continue;
        if (this.owner.isCongested()) {
          await this.owner.waitUntilDrained();
          if (this.closed) return delivered;
        }
        this.#deliver(event, EncodedFrame.ofRoomEvent(event));
        delivered += 1;
        if (this.closed) return delivered;
      }
      if (page.length < pageSize) return delivered;
    }
  }

  /** Delivers held live events in order until they run out ('caught-up') or one is ahead ('gap'). */
  async #drainPending(): Promise<'caught-up' | 'gap'> {
    for (;;) {
      const live = this.#pending[this.#pendingHead];
      if (live === undefined) {
        this.#pending = [];
        this.#pendingHead = 0;
        return 'caught-up';
      }
      const seq = live.event.seq;
      if (seq > this.lastSeq + 1) return 'gap';
      this.#pendingHead += 1;
      if (seq <= this.lastSeq) continue;
      if (this.owner.isCongested()) {
        await this.owner.waitUntilDrained();
        if (this.closed) return 'caught-up';
      }
      this.#deliver(live.event, frameOf(live));
      if (this.closed) return 'caught-up';
    }
  }

  #deliver(event: RoomEvent, frame: EncodedFrame): void {
    this.lastSeq = event.seq;
    this.owner.deliverEvent(frame);
    if (event.type === 'member.left' && event.payload.userId === this.owner.userId && !this.#canStillRead()) {
      this.owner.endSubscription(this, 'access_lost');
    }
  }

  /** After leaving, only public channels stay readable, and not for guests (see core's permissions). */
  #canStillRead(): boolean {
    return this.#roomKind === 'channel' && this.owner.userRole !== 'guest';
  }
}

function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}
