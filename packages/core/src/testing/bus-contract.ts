import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../events.js';
import type { Bus, BusDelivery } from '../ports/bus.js';
import type { PresenceStore } from '../ports/presence-store.js';

export interface BusContractOptions {
  /** Shown in the test names: `in-process`, `redis`, `nats`. */
  name: string;
  /**
   * A new bus instance, as one server instance would open it. Every call with the same `namespace` must
   * reach the same shared channel (one test = one namespace, so tests do not hear each other).
   */
  create: (namespace: string) => Promise<Bus> | Bus;
  /** Why the suite is skipped (for example, a missing env var); undefined runs it. */
  skip?: string;
  /** Buses that cross the network carry the publisher's trace context and publish time to the other instances. */
  carriesTraceContext?: boolean;
}

/**
 * What every `Bus` must do, run by each implementation's own test file. Several instances created with the
 * same namespace stand for several servers.
 *
 * @example
 * busContract({ name: 'redis', create: (namespace) => createRedisBus({ url, channel: namespace }) });
 */
export function busContract(options: BusContractOptions): void {
  const suite = options.skip ? describe.skip : describe;
  suite(`Bus contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    const opened: Bus[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((bus) => bus.close()));
    });
    const instances = async (count: number): Promise<Bus[]> => {
      const namespace = `kaiwa-test-${randomBytes(5).toString('hex')}`;
      const buses: Bus[] = [];
      for (let index = 0; index < count; index += 1) {
        const bus = await options.create(namespace);
        opened.push(bus);
        buses.push(bus);
      }
      return buses;
    };

    it('delivers every event to every subscriber on every instance, the publisher’s included', async () => {
      const buses = await instances(3);
      const received = buses.flatMap((bus) => [collect(bus), collect(bus)]);
      await Promise.all(buses.map((bus, index) => bus.publish(readEvent(`r${index}`))));
      await until(() => received.every((events) => events.length === 3));
      for (const events of received) {
        expect(events.map((event) => roomIdOf(event)).sort()).toEqual(['r0', 'r1', 'r2']);
      }
      await settle();
      expect(received.every((events) => events.length === 3)).toBe(true);
    });

    it('keeps each publisher’s order', async () => {
      const buses = await instances(3);
      const received = buses.map((bus) => collect(bus));
      const count = 300;
      // Two publishers interleaving: each one's events must arrive in its own order everywhere.
      await Promise.all(
        [buses[0], buses[1]].map(async (bus, publisher) => {
          for (let seq = 1; seq <= count; seq += 1) void bus?.publish(roomEvent(`room-${publisher}`, seq));
        }),
      );
      await until(() => received.every((events) => events.length === 2 * count));
      for (const events of received) {
        for (const roomId of ['room-0', 'room-1']) {
          const seqs = events.filter((event) => roomIdOf(event) === roomId).map((event) => seqOf(event));
          expect(seqs).toEqual(Array.from({ length: count }, (_, index) => index + 1));
        }
      }
    });

    it('carries events unchanged', async () => {
      const [publisher, other] = await instances(2);
      if (!publisher || !other) throw new Error('two buses expected');
      const received = collect(other);
      const event = roomEvent('room-x', 7, 'こんにちは 👋 "quoted" \\ back\nslash');
      await publisher.publish(event);
      await until(() => received.length === 1);
      expect(received[0]).toEqual(event);
    });

    it.skipIf(!options.carriesTraceContext)(
      'hands the publisher’s trace context and publish time to the other instances, and none to its own subscribers',
      async () => {
        const [publisher, other] = await instances(2);
        if (!publisher || !other) throw new Error('two buses expected');
        const deliveries: (BusDelivery | undefined)[] = [];
        const own: (BusDelivery | undefined)[] = [];
        other.subscribe((_event, delivery) => deliveries.push(delivery));
        publisher.subscribe((_event, delivery) => own.push(delivery));
        const traceContext = {
          traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          tracestate: 'kaiwa=test',
        };
        const before = Date.now();
        await publisher.publish(readEvent('traced'), { traceContext });
        await publisher.publish(readEvent('untraced'));
        await until(() => deliveries.length === 2 && own.length === 2);
        const after = Date.now();
        expect(deliveries).toEqual([
          { traceContext, publishedAt: expect.any(Number) },
          { publishedAt: expect.any(Number) },
        ]);
        for (const delivery of deliveries) {
          expect(delivery?.publishedAt).toBeGreaterThanOrEqual(before);
          expect(delivery?.publishedAt).toBeLessThanOrEqual(after);
        }
        expect(own).toEqual([undefined, undefined]);
      },
    );

    it('stops delivering to a subscriber that unsubscribed, and only to it', async () => {
      const [publisher, other] = await instances(2);
      if (!publisher || !other) throw new Error('two buses expected');
      const kept = collect(other);
      const stopped: ChatEvent[] = [];
      const stop = other.subscribe((event) => stopped.push(event));
      await publisher.publish(readEvent('first'));
      await until(() => kept.length === 1 && stopped.length === 1);
      stop();
      stop();
      await publisher.publish(readEvent('second'));
      await until(() => kept.length === 2);
      await settle();
      expect(stopped.map(roomIdOf)).toEqual(['first']);
    });

    it('keeps delivering to the others when a subscriber throws', async () => {
      const [publisher, other] = await instances(2);
      if (!publisher || !other) throw new Error('two buses expected');
      other.subscribe(() => {
        throw new Error('listener failure (expected by the test)');
      });
      const received = collect(other);
      await publisher.publish(readEvent('a'));
      await publisher.publish(readEvent('b'));
      await until(() => received.length === 2);
    });

    it('closes: a closed instance hears nothing more, the others go on, and close can be called twice', async () => {
      const [first, second, third] = await instances(3);
      if (!first || !second || !third) throw new Error('three buses expected');
      const onSecond = collect(second);
      const onThird = collect(third);
      await second.close();
      await second.close();
      await first.publish(readEvent('after-close'));
      await until(() => onThird.length === 1);
      await settle();
      expect(onSecond).toEqual([]);
    });
  });
}

export interface PresenceStoreContractOptions {
  name: string;
  /** A presence store on a namespace shared by every call with the same namespace (several instances). */
  create: (namespace: string) => Promise<PresenceStore> | PresenceStore;
  skip?: string;
}

/**
 * What every `PresenceStore` must do.
 *
 * @example
 * presenceStoreContract({ name: 'redis', create: (namespace) => createRedisPresenceStore({ url, prefix: namespace }) });
 */
export function presenceStoreContract(options: PresenceStoreContractOptions): void {
  const suite = options.skip ? describe.skip : describe;
  suite(`PresenceStore contract: ${options.name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    const opened: PresenceStore[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });
    const instances = async (count: number): Promise<PresenceStore[]> => {
      const namespace = `kaiwa-test-${randomBytes(5).toString('hex')}`;
      const stores: PresenceStore[] = [];
      for (let index = 0; index < count; index += 1) {
        const store = await options.create(namespace);
        opened.push(store);
        stores.push(store);
      }
      return stores;
    };

    it('says online while any instance holds the user, offline once none does', async () => {
      const [a, b] = await instances(2);
      if (!a || !b) throw new Error('two stores expected');
      await a.announce('instance-a', [{ userId: 'u1', status: 'online' }], 30_000);
      await b.announce('instance-b', [{ userId: 'u1', status: 'away' }], 30_000);
      await until(async () => (await b.statuses(['u1'])).u1 === 'online');
      await a.withdraw('instance-a', 'u1');
      await until(async () => (await b.statuses(['u1'])).u1 === 'away');
      await b.withdraw('instance-b', 'u1');
      await until(async () => (await a.statuses(['u1', 'nobody'])).u1 === 'offline');
      expect(await a.statuses(['u1', 'nobody'])).toEqual({ u1: 'offline', nobody: 'offline' });
    });

    it('lets entries of an instance that stopped refreshing expire', async () => {
      const [a, b] = await instances(2);
      if (!a || !b) throw new Error('two stores expected');
      await a.announce('instance-a', [{ userId: 'gone', status: 'online' }], 1_200);
      await b.announce('instance-b', [{ userId: 'kept', status: 'online' }], 30_000);
      await until(async () => (await b.statuses(['gone'])).gone === 'online');
      await until(async () => (await b.statuses(['gone'])).gone === 'offline', 6_000);
      expect(await b.statuses(['kept'])).toEqual({ kept: 'online' });
    });
  });
}

function collect(bus: Bus): ChatEvent[] {
  const events: ChatEvent[] = [];
  bus.subscribe((event) => events.push(event));
  return events;
}

function readEvent(roomId: string): ChatEvent {
  return { type: 'read.updated', payload: { roomId, userId: 'u', lastReadMessageId: null } };
}

function roomEvent(roomId: string, seq: number, text = `message ${seq}`): ChatEvent {
  return {
    roomId,
    seq,
    type: 'message.created',
    createdAt: '2026-11-25T00:00:00.000Z',
    payload: {
      message: {
        id: `m-${roomId}-${seq}`,
        roomId,
        authorId: 'author',
        text,
        createdAt: '2026-11-25T00:00:00.000Z',
      },
    },
  } as unknown as ChatEvent;
}

function roomIdOf(event: ChatEvent): string {
  return 'roomId' in event ? event.roomId : (event.payload as { roomId: string }).roomId;
}

function seqOf(event: ChatEvent): number {
  return 'seq' in event ? event.seq : 0;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Time for a wrongly delivered event to show up. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 150));
}
