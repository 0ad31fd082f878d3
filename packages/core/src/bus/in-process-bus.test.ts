import { describe, expect, it } from 'vitest';
import type { ChatEvent } from '../events.js';
import { InProcessBus } from './in-process-bus.js';

const event: ChatEvent = {
  type: 'read.updated',
  payload: { roomId: 'r', userId: 'u', lastReadMessageId: null },
};

describe('InProcessBus', () => {
  it('delivers to every subscriber until it unsubscribes', async () => {
    const bus = new InProcessBus();
    const first: ChatEvent[] = [];
    const second: ChatEvent[] = [];
    const stop = bus.subscribe((e) => first.push(e));
    bus.subscribe((e) => second.push(e));
    await bus.publish(event);
    stop();
    await bus.publish(event);
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(2);
  });

  it('keeps delivering when one subscriber throws', async () => {
    const failures: unknown[] = [];
    const bus = new InProcessBus({ onListenerError: (error) => failures.push(error) });
    const received: ChatEvent[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((e) => received.push(e));
    await bus.publish(event);
    expect(received).toEqual([event]);
    expect(failures).toHaveLength(1);
  });
});
