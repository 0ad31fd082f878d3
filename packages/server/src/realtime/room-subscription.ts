import {
  type ChatEngine,
  OrderedRoomEvents,
  type OrderedRoomEventsOptions,
  type RoomEvent,
  type RoomKind,
  type UserRole,
} from '@kaiwa/core';
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

/**
 * With several instances publishing, a room's events can reach this one slightly out of order; the
 * missing one is usually a few milliseconds behind, so it is awaited this long before reading the store.
 */
const GAP_WAIT_MS = 30;

/**
 * One connection's subscription to one room. It delivers each room event exactly once and in sequence
 * order through core's {@link OrderedRoomEvents}: live events from the bus, and what is missing read from
 * the store (on resume, whenever a live event skips a number, and after the bus reconnected).
 */
export class RoomSubscription {
  readonly roomId: string;
  readonly owner: SubscriptionOwner;
  #roomKind: RoomKind | undefined;
  /** Whether the room is archived, as the last event delivered left it: rights change when it flips. */
  #archived = false;
  /**
   * The `room.rights` frames being worked out, one after another, so they leave in the events' order;
   * undefined while none is (an idle subscription keeps no promise).
   */
  #rights: Promise<void> | undefined;
  readonly #ordered: OrderedRoomEvents<LiveEvent>;

  constructor(owner: SubscriptionOwner, roomId: string) {
    this.owner = owner;
    this.roomId = roomId;
    this.#ordered = new OrderedRoomEvents<LiveEvent>(new RoomSubscription.#Feed(this));
  }

  /**
   * What the ordering needs, as methods of one small object rather than a closure each: every idle
   * subscription keeps it (issue 18).
   */
  static readonly #Feed = class implements OrderedRoomEventsOptions<LiveEvent> {
    readonly #subscription: RoomSubscription;
    readonly gapWaitMs = GAP_WAIT_MS;

    constructor(subscription: RoomSubscription) {
      this.#subscription = subscription;
    }

    get pageSize(): number {
      return this.#subscription.owner.limits.resumePageSize;
    }

    get maxPending(): number {
      return this.#subscription.owner.limits.maxPendingEvents;
    }

    seqOf(live: LiveEvent): number {
      return live.event.seq;
    }

    async read(afterSeq: number, limit: number): Promise<LiveEvent[]> {
      const { owner, roomId } = this.#subscription;
      const page = await owner.engine.eventsSince(owner.userId, roomId, afterSeq, limit);
      return page.map((event) => ({ event, frame: undefined }));
    }

    deliver(live: LiveEvent): void {
      this.#subscription.#deliver(live);
    }

    pace(): Promise<void> | undefined {
      const { owner } = this.#subscription;
      return owner.isCongested() ? owner.waitUntilDrained() : undefined;
    }

    onError(error: unknown): void {
      this.#subscription.owner.endSubscription(this.#subscription, 'error', error);
    }

    track(work: Promise<void>): void {
      this.#subscription.owner.track(work);
    }
  };

  /** Sequence number of the last event delivered (or the client's starting point). */
  get lastSeq(): number {
    return this.#ordered.lastSeq;
  }

  get closed(): boolean {
    return this.#ordered.closed;
  }

  /**
   * Starts delivery after `fromSeq`: reads the events after it from the store, then the live events that
   * arrived meanwhile. Until this is called (while the permission check runs) live events are only held.
   */
  start(fromSeq: number, roomKind: RoomKind, archived = false): void {
    this.#roomKind = roomKind;
    this.#archived = archived;
    this.#ordered.start(fromSeq);
  }

  /** Permission checked and not closed: ephemeral frames (typing, read receipts) may reach it. */
  get active(): boolean {
    return this.#ordered.started && !this.#ordered.closed;
  }

  /** A live event for this room from the bus. */
  offer(live: LiveEvent): void {
    this.#ordered.offer(live);
  }

  /** Rereads the store after `lastSeq`: after a bus reconnect, events published meanwhile never arrive live. */
  resync(): void {
    this.#ordered.resync();
  }

  close(): void {
    this.#ordered.close();
  }

  #deliver(live: LiveEvent): void {
    const { event } = live;
    this.owner.deliverEvent(frameOf(live));
    if (event.type === 'member.left' && event.payload.userId === this.owner.userId && !this.#canStillRead()) {
      this.owner.endSubscription(this, 'access_lost');
      return;
    }
    if (this.#changesMyRights(event)) this.#sendRights();
  }

  /** My role here changed, I joined or left (a channel I still read), or the room was (un)archived. */
  #changesMyRights(event: RoomEvent): boolean {
    switch (event.type) {
      case 'member.joined':
      case 'member.updated':
        return event.payload.membership.userId === this.owner.userId;
      case 'member.left':
        return event.payload.userId === this.owner.userId;
      case 'room.updated': {
        const changed = event.payload.room.archived !== this.#archived;
        this.#archived = event.payload.room.archived;
        return changed;
      }
      default:
        return false;
    }
  }

  /**
   * Sends `room.rights`, as the engine rules them now, after the event that changed them. Read from the
   * store rather than worked out here: the rights depend on my membership, which a room event may not carry.
   */
  #sendRights(): void {
    const { owner, roomId } = this;
    const work: Promise<void> = (this.#rights ?? Promise.resolve())
      .then(async () => {
        if (this.closed) return;
        const rights = await owner.engine.roomRights(owner.userId, roomId);
        if (!this.closed) owner.deliverEvent(EncodedFrame.of({ type: 'room.rights', roomId, rights }));
      })
      .catch(() => {
        // Only a hint for the client's controls (the server checks every request): a room no longer readable
        // ends the subscription by itself, and the room list carries the rights again after a reconnect.
      });
    this.#rights = work;
    owner.track(
      work.then(() => {
        if (this.#rights === work) this.#rights = undefined;
      }),
    );
  }

  /** After leaving, only public channels stay readable, and not for guests (see core's permissions). */
  #canStillRead(): boolean {
    return this.#roomKind === 'channel' && this.owner.userRole !== 'guest';
  }
}
