import type { ChatEngine, RoomEvent } from '@kaiwa/core';
import { describe, expect, it } from 'vitest';
import type { EncodedFrame } from './encoded-frame.js';
import { resolveLimits } from './limits.js';
import { type LiveEvent, RoomSubscription, type SubscriptionOwner } from './room-subscription.js';

const ROOM = '01JDQ6R0Q7ZK4M3B8Y2V5N1C9X';
const USER = '01JDQ6R0Q7ZK4M3B8Y2V5N1C9Y';

function event(seq: number, type: RoomEvent['type'] = 'message.updated'): RoomEvent {
  const payload =
    type === 'member.left'
      ? { roomId: ROOM, userId: USER }
      : ({ message: { id: `m${seq}` } } as unknown as RoomEvent['payload']);
  return { roomId: ROOM, seq, type, payload, createdAt: '2026-11-25T09:30:00.000Z' } as RoomEvent;
}

const live = (seq: number, type?: RoomEvent['type']): LiveEvent => ({
  event: event(seq, type),
  frame: undefined,
});

/** A store of events and an owner that records what reaches the socket. */
function harness(options: { stored?: number; maxPendingEvents?: number; resumePageSize?: number } = {}) {
  const stored = Array.from({ length: options.stored ?? 0 }, (_, index) => event(index + 1));
  const delivered: number[] = [];
  const ended: string[] = [];
  const work: Promise<void>[] = [];
  let gate: Promise<void> | undefined;
  let congested = false;
  let drained: (() => void) | undefined;
  const engine = {
    async eventsSince(_userId: string, _roomId: string, afterSeq: number, limit: number) {
      await gate;
      return stored.filter((each) => each.seq > afterSeq).slice(0, limit);
    },
  } as unknown as ChatEngine;
  const owner: SubscriptionOwner = {
    userId: USER,
    userRole: 'member',
    engine,
    limits: resolveLimits({
      maxPendingEvents: options.maxPendingEvents ?? 100,
      resumePageSize: options.resumePageSize ?? 2,
    }),
    deliverEvent(frame: EncodedFrame) {
      delivered.push((JSON.parse(frame.payload.toString()) as { seq: number }).seq);
    },
    isCongested: () => congested,
    waitUntilDrained: () =>
      new Promise<void>((resolve) => {
        drained = resolve;
      }),
    endSubscription(subscription, reason) {
      subscription.close();
      ended.push(reason);
    },
    track(promise) {
      work.push(promise);
    },
  };
  return {
    stored,
    delivered,
    ended,
    owner,
    /** Holds store reads until the returned function is called. */
    holdStore(): () => void {
      let release = (): void => {};
      gate = new Promise((resolve) => {
        release = () => {
          gate = undefined;
          resolve();
        };
      });
      return release;
    },
    congest(value: boolean) {
      congested = value;
      if (!value) drained?.();
    },
    async settle() {
      while (work.length > 0) await work.shift();
    },
  };
}

describe('RoomSubscription', () => {
  it('replays the store, then the live events held meanwhile, each once and in order', async () => {
    const test = harness({ stored: 5 });
    const subscription = new RoomSubscription(test.owner, ROOM);
    subscription.offer(live(4));
    const release = test.holdStore();
    subscription.start(0, 'channel');
    for (const seq of [5, 6, 7]) {
      if (seq > 5) test.stored.push(event(seq));
      subscription.offer(live(seq));
    }
    release();
    await test.settle();
    subscription.offer(live(7));
    subscription.offer(live(8));
    expect(test.delivered).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(subscription.lastSeq).toBe(8);
  });

  it('drops held events beyond its bound and reads them from the store instead', async () => {
    const test = harness({ stored: 2, maxPendingEvents: 3 });
    const subscription = new RoomSubscription(test.owner, ROOM);
    const release = test.holdStore();
    subscription.start(0, 'channel');
    for (let seq = 3; seq <= 12; seq += 1) {
      test.stored.push(event(seq));
      subscription.offer(live(seq));
    }
    release();
    await test.settle();
    expect(test.delivered).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
  });

  it('fills a gap in live events from the store and ignores late copies', async () => {
    const test = harness({ stored: 2 });
    const subscription = new RoomSubscription(test.owner, ROOM);
    subscription.start(2, 'channel');
    await test.settle();
    test.stored.push(event(3), event(4), event(5));
    subscription.offer(live(3));
    subscription.offer(live(5));
    await test.settle();
    subscription.offer(live(4));
    subscription.offer(live(6));
    expect(test.delivered).toEqual([3, 4, 5, 6]);
  });

  it('waits while the connection is congested', async () => {
    const test = harness({ stored: 4 });
    const subscription = new RoomSubscription(test.owner, ROOM);
    test.congest(true);
    subscription.start(0, 'channel');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(test.delivered).toEqual([]);
    test.congest(false);
    await test.settle();
    expect(test.delivered).toEqual([1, 2, 3, 4]);
  });

  it('ends itself when its user leaves a private room, but not a public channel', async () => {
    const group = harness();
    const inGroup = new RoomSubscription(group.owner, ROOM);
    inGroup.start(0, 'group');
    await group.settle();
    inGroup.offer(live(1, 'member.left'));
    expect(group.ended).toEqual(['access_lost']);
    inGroup.offer(live(2));
    expect(group.delivered).toEqual([1]);

    const channel = harness();
    const inChannel = new RoomSubscription(channel.owner, ROOM);
    inChannel.start(0, 'channel');
    await channel.settle();
    inChannel.offer(live(1, 'member.left'));
    inChannel.offer(live(2));
    expect(channel.ended).toEqual([]);
    expect(channel.delivered).toEqual([1, 2]);
  });

  it('gives up with an error when the store never has the missing events', async () => {
    const test = harness({ stored: 1 });
    const subscription = new RoomSubscription(test.owner, ROOM);
    subscription.start(1, 'channel');
    await test.settle();
    subscription.offer(live(3));
    await test.settle();
    expect(test.ended).toEqual(['error']);
    expect(test.delivered).toEqual([]);
  });
});
