import { describe, expect, it } from 'vitest';
import { OrderedRoomEvents } from './ordered-room-events.js';

interface Item {
  seq: number;
}

/** A room whose store holds events 1…`stored`; reads can be slowed to let live events pile up. */
function room(
  stored: number,
  options: { maxPending?: number; readDelayMs?: number; gapWaitMs?: number } = {},
) {
  const store: Item[] = Array.from({ length: stored }, (_, index) => ({ seq: index + 1 }));
  const delivered: number[] = [];
  const errors: unknown[] = [];
  let reads = 0;
  const ordered = new OrderedRoomEvents<Item>({
    seqOf: (item) => item.seq,
    async read(afterSeq, limit) {
      reads += 1;
      if (options.readDelayMs) await new Promise((resolve) => setTimeout(resolve, options.readDelayMs));
      return store.filter((item) => item.seq > afterSeq).slice(0, limit);
    },
    deliver: (item) => delivered.push(item.seq),
    pageSize: 3,
    maxPending: options.maxPending ?? 100,
    ...(options.gapWaitMs ? { gapWaitMs: options.gapWaitMs } : {}),
    onError: (error) => errors.push(error),
  });
  return {
    ordered,
    store,
    delivered,
    errors,
    reads: () => reads,
    /** Commits the next event to the store and returns it, as the engine does before publishing. */
    commit(): Item {
      const item = { seq: store.length + 1 };
      store.push(item);
      return item;
    },
  };
}

const range = (first: number, last: number) =>
  Array.from({ length: last - first + 1 }, (_, index) => first + index);

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 3_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('OrderedRoomEvents', () => {
  it('replays the store from the starting point, then goes live, each event once and in order', async () => {
    const test = room(7);
    test.ordered.offer({ seq: 7 }); // arrives while the permission check runs: held
    test.ordered.start(2);
    await until(() => test.delivered.length === 5);
    const eight = test.commit();
    test.ordered.offer(eight);
    test.ordered.offer(eight);
    expect(test.delivered).toEqual(range(3, 8));
  });

  it('fills a gap from the store when live events arrive out of order or go missing', async () => {
    const test = room(0);
    test.ordered.start(0);
    await until(() => test.reads() === 1);
    const [one, two, three, four, five] = [1, 2, 3, 4, 5].map(() => test.commit());
    test.ordered.offer(one!);
    test.ordered.offer(three!); // 2 is late
    test.ordered.offer(two!);
    test.ordered.offer(five!); // 4 never comes live
    await until(() => test.delivered.length === 5);
    test.ordered.offer(four!);
    expect(test.delivered).toEqual(range(1, 5));
    expect(test.errors).toEqual([]);
  });

  it('waits a moment for late events before reading the store, and reads it when the gap stays open', async () => {
    const test = room(0, { gapWaitMs: 40 });
    test.ordered.start(0);
    await until(() => test.reads() === 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const [one, two, three, four, five] = [1, 2, 3, 4, 5].map(() => test.commit());
    test.ordered.offer(two!);
    test.ordered.offer(three!);
    test.ordered.offer(one!); // late, but within the wait: no store read
    expect(test.delivered).toEqual([1, 2, 3]);
    test.ordered.offer(five!); // 4 never comes live
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(test.delivered).toEqual([1, 2, 3]);
    await until(() => test.delivered.length === 5);
    expect(test.reads()).toBe(2);
    test.ordered.offer(four!);
    expect(test.delivered).toEqual(range(1, 5));
  });

  it('resync reads what was committed while the bus was away, and reads again if asked during a read', async () => {
    const test = room(3, { readDelayMs: 20 });
    test.ordered.start(3);
    await until(() => test.reads() === 1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    // Committed during an outage: never offered live.
    test.commit();
    test.commit();
    test.ordered.resync();
    test.commit();
    test.ordered.resync(); // while the first resync reads
    await until(() => test.delivered.length === 3);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(test.delivered).toEqual([4, 5, 6]);
  });

  it('drops held events beyond its limit and reads them from the store instead', async () => {
    const test = room(0, { maxPending: 2, readDelayMs: 10 });
    test.ordered.start(0);
    for (let index = 0; index < 20; index += 1) test.ordered.offer(test.commit());
    await until(() => test.delivered.length === 20);
    expect(test.delivered).toEqual(range(1, 20));
  });

  it('reports an error when the store never has the missing events, and delivers nothing after', async () => {
    const test = room(1);
    test.ordered.start(0);
    await until(() => test.delivered.length === 1);
    test.ordered.offer({ seq: 5 });
    await until(() => test.errors.length === 1);
    expect(String(test.errors[0])).toContain('after seq 1 are missing');
    test.ordered.offer({ seq: 2 });
    expect(test.delivered).toEqual([1]);
  });

  it('delivers nothing once closed', async () => {
    const test = room(3);
    test.ordered.close();
    test.ordered.start(0);
    test.ordered.offer({ seq: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(test.delivered).toEqual([]);
  });
});
