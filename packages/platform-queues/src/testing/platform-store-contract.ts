import { randomBytes } from 'node:crypto';
import type { ChatStore, PlatformOutboxOperation } from '@kaiwa/core';
import { createId } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export interface PlatformStoreContractOptions {
  /** Shown in the test names, e.g. `sqlite`. */
  name: string;
  /** Opens a fresh, migrated store of its own. Called once per suite; `close()` is called at the end. */
  open: () => Promise<ChatStore>;
  /** When set, the suite is skipped and this reason printed once. */
  skip?: string;
}

const T0 = Date.parse('2030-01-01T00:00:00.000Z');
/** A fixed time `seconds` after the suite's epoch, so tests never depend on the wall clock. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

/**
 * The conformance suite of the platform storage ports (inbox, outbox, bridge links and mappings). Every
 * `ChatStore` implementation runs it on each database it supports.
 *
 * @example
 * platformStoreContract({ name: 'sqlite', open: () => openTestStore('sqlite') });
 */
export function platformStoreContract(options: PlatformStoreContractOptions): void {
  if (options.skip) {
    console.info(`[${options.name}] platform storage conformance suite skipped: ${options.skip}`);
    describe.skip(`Platform store contract: ${options.name}`, () => {
      it('is skipped', () => {});
    });
    return;
  }

  describe(`Platform store contract: ${options.name}`, () => {
    let store: ChatStore;
    beforeAll(async () => {
      store = await options.open();
    });
    afterAll(async () => {
      await store?.close();
    });

    /** Consumers unique to this run, so suites may share a database. */
    const consumer = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;
    const record = (name: string, eventId: string, event: unknown = { eventId }, seconds = 0) =>
      store.platformInbox.record({
        id: createId(),
        consumer: name,
        platform: 'slack',
        eventId,
        event: event as never,
        receivedAt: at(seconds),
      });
    const claimInbox = (name: string, seconds: number, limit = 10, leaseSeconds = 30) =>
      store.platformInbox.claim({
        consumer: name,
        now: at(seconds),
        leaseUntil: at(seconds + leaseSeconds),
        limit,
      });

    describe('inbox', () => {
      it('records an event once per consumer and platform event id', async () => {
        const bot = consumer('bot');
        expect(await record(bot, 'Ev1')).toBe('recorded');
        expect(await record(bot, 'Ev1')).toBe('duplicate');
        expect(await record(consumer('bridge'), 'Ev1')).toBe('recorded');
        const items = await store.platformInbox.list({ consumer: bot, limit: 10 });
        expect(items).toHaveLength(1);
        expect(items[0]).toMatchObject({ platform: 'slack', eventId: 'Ev1', status: 'pending', attempts: 0 });
      });

      it('keeps the event JSON exactly, Japanese, emoji and nesting included', async () => {
        const bot = consumer('bot');
        const event = { kind: 'message', text: 'こんにちは 👋🏽 `code`', nested: { list: [1, null, true] } };
        await record(bot, 'Ev-json', event);
        const [item] = await store.platformInbox.list({ consumer: bot, limit: 1 });
        expect(item?.event).toEqual(event);
        expect(await store.platformInbox.findById(item!.id)).toEqual(item);
      });

      it('leases claimed items and counts attempts; an expired lease hands them out again', async () => {
        const bot = consumer('bot');
        await record(bot, 'A');
        await record(bot, 'B');
        const first = await claimInbox(bot, 1);
        expect(first.map((item) => item.eventId)).toEqual(['A', 'B']);
        expect(first.every((item) => item.attempts === 1)).toBe(true);
        expect(await claimInbox(bot, 2)).toEqual([]);
        // The worker crashed: after its lease the items come back, with a second attempt counted.
        const again = await claimInbox(bot, 40);
        expect(again.map((item) => [item.eventId, item.attempts])).toEqual([
          ['A', 2],
          ['B', 2],
        ]);
      });

      it('never hands one item to two concurrent claims', async () => {
        const bot = consumer('bot');
        for (let index = 0; index < 12; index++) await record(bot, `E${index}`);
        const claims = await Promise.all([
          claimInbox(bot, 1, 12),
          claimInbox(bot, 1, 12),
          claimInbox(bot, 1, 12),
        ]);
        const ids = claims.flat().map((item) => item.eventId);
        expect(ids).toHaveLength(12);
        expect(new Set(ids).size).toBe(12);
      });

      it('retries a failed item at its retry time, marks it dead, requeues it and marks it done', async () => {
        const bot = consumer('bot');
        await record(bot, 'F');
        const [item] = await claimInbox(bot, 1);
        await store.platformInbox.markFailed(item!.id, { error: 'boom', retryAt: at(10), at: at(2) });
        expect(await claimInbox(bot, 5)).toEqual([]);
        const [retry] = await claimInbox(bot, 10);
        expect(retry).toMatchObject({ attempts: 2, lastError: 'boom' });
        await store.platformInbox.markFailed(item!.id, { error: 'boom again', retryAt: null, at: at(11) });
        const dead = await store.platformInbox.list({ consumer: bot, status: 'dead', limit: 10 });
        expect(dead).toMatchObject([
          { eventId: 'F', status: 'dead', lastError: 'boom again', finishedAt: at(11) },
        ]);
        expect(await claimInbox(bot, 100)).toEqual([]);
        expect(await store.platformInbox.requeue(item!.id, at(20))).toBe(true);
        expect(await store.platformInbox.requeue(item!.id, at(20))).toBe(false);
        const [requeued] = await claimInbox(bot, 20);
        expect(requeued).toMatchObject({ attempts: 1, status: 'pending' });
        await store.platformInbox.markDone(item!.id, at(21));
        expect(await store.platformInbox.findById(item!.id)).toMatchObject({
          status: 'done',
          finishedAt: at(21),
        });
        expect(await claimInbox(bot, 1000)).toEqual([]);
      });

      it('pages items by id', async () => {
        const bot = consumer('bot');
        for (const id of ['P1', 'P2', 'P3']) await record(bot, id);
        const first = await store.platformInbox.list({ consumer: bot, limit: 2 });
        const rest = await store.platformInbox.list({ consumer: bot, after: first[1]!.id, limit: 2 });
        expect([...first, ...rest].map((item) => item.eventId)).toEqual(['P1', 'P2', 'P3']);
      });
    });

    describe('outbox', () => {
      const enqueue = (
        name: string,
        key: string,
        target: string,
        operation: PlatformOutboxOperation = 'send',
      ) =>
        store.platformOutbox.enqueue({
          id: createId(),
          consumer: name,
          idempotencyKey: key,
          platform: 'discord',
          target,
          operation,
          payload: { text: `payload of ${key}` },
          meta: { key },
          createdAt: at(0),
        });
      const claimOutbox = (name: string, seconds: number, limit = 10) =>
        store.platformOutbox.claim({ consumer: name, now: at(seconds), leaseUntil: at(seconds + 30), limit });

      it('enqueues once per idempotency key', async () => {
        const bridge = consumer('bridge');
        const first = await enqueue(bridge, 'k1', 'C1');
        const again = await enqueue(bridge, 'k1', 'C2');
        expect(first.outcome).toBe('enqueued');
        expect(again.outcome).toBe('duplicate');
        expect(again.item).toEqual(first.item);
        expect(first.item).toMatchObject({
          idempotencyKey: 'k1',
          target: 'C1',
          operation: 'send',
          payload: { text: 'payload of k1' },
          meta: { key: 'k1' },
          status: 'pending',
          result: null,
        });
        expect((await enqueue(consumer('other'), 'k1', 'C1')).outcome).toBe('enqueued');
      });

      it('hands out one item per target at a time, in order, while other targets go on', async () => {
        const bridge = consumer('bridge');
        await enqueue(bridge, 'a1', 'A');
        await enqueue(bridge, 'a2', 'A', 'edit');
        await enqueue(bridge, 'b1', 'B');
        await enqueue(bridge, 'a3', 'A', 'delete');
        const first = await claimOutbox(bridge, 1);
        expect(first.map((item) => item.idempotencyKey)).toEqual(['a1', 'b1']);
        expect(await claimOutbox(bridge, 2)).toEqual([]);
        // a1 fails and waits: A's later items wait behind it.
        await store.platformOutbox.markFailed(first[0]!.id, { error: 'down', retryAt: at(60), at: at(3) });
        await store.platformOutbox.markDone(
          first[1]!.id,
          { refs: [{ channelId: 'B', messageId: 'm1' }] },
          at(3),
        );
        expect(await claimOutbox(bridge, 10)).toEqual([]);
        const [retry] = await claimOutbox(bridge, 60);
        expect(retry).toMatchObject({ idempotencyKey: 'a1', attempts: 2, lastError: 'down' });
        await store.platformOutbox.markDone(retry!.id, { refs: [] }, at(61));
        const [next] = await claimOutbox(bridge, 61);
        expect(next?.idempotencyKey).toBe('a2');
        // A dead item no longer holds its target back.
        await store.platformOutbox.markFailed(next!.id, { error: 'invalid', retryAt: null, at: at(62) });
        expect((await claimOutbox(bridge, 62)).map((item) => item.idempotencyKey)).toEqual(['a3']);
        const b1 = await store.platformOutbox.findByKey(bridge, 'b1');
        expect(b1).toMatchObject({ status: 'done', result: { refs: [{ channelId: 'B', messageId: 'm1' }] } });
        expect(
          await store.platformOutbox.list({ consumer: bridge, status: 'dead', limit: 10 }),
        ).toMatchObject([{ idempotencyKey: 'a2' }]);
        expect(await store.platformOutbox.requeue(next!.id, at(70))).toBe(true);
        expect(await store.platformOutbox.findByKey(bridge, 'a2')).toMatchObject({
          status: 'pending',
          attempts: 0,
        });
      });
    });

    describe('bridges', () => {
      it('links endpoints many-to-many and finds them from either side', async () => {
        const one = consumer('bridge');
        const two = consumer('bridge');
        const endpoint = (bridgeId: string, platform: string, channelId: string, seconds: number) =>
          store.bridges.addEndpoint({ bridgeId, platform, channelId, createdAt: at(seconds) });
        expect(await endpoint(one, 'kaiwa', 'room-1', 1)).toBe(true);
        expect(await endpoint(one, 'slack', 'C1', 2)).toBe(true);
        expect(await endpoint(one, 'slack', 'C1', 3)).toBe(false);
        expect(await endpoint(two, 'slack', 'C1', 4)).toBe(true);
        expect((await store.bridges.listEndpoints(one)).map((e) => `${e.platform}:${e.channelId}`)).toEqual([
          'kaiwa:room-1',
          'slack:C1',
        ]);
        const onC1 = (await store.bridges.findEndpoints('slack', 'C1')).filter((e) =>
          [one, two].includes(e.bridgeId),
        );
        expect(onC1.map((e) => e.bridgeId).sort()).toEqual([one, two].sort());
        expect(await store.bridges.removeEndpoint(one, 'slack', 'C1')).toBe(true);
        expect(await store.bridges.removeEndpoint(one, 'slack', 'C1')).toBe(false);
        expect(await store.bridges.listEndpoints(one)).toHaveLength(1);
      });

      it('maps a message to its copies and back', async () => {
        const bridgeId = consumer('bridge');
        const groupId = createId();
        const mapping = (
          platform: string,
          channelId: string,
          messageId: string,
          role: 'origin' | 'copy',
          s: number,
        ) =>
          store.bridges.recordMessage({
            bridgeId,
            groupId,
            platform,
            channelId,
            messageId,
            threadId: role === 'copy' && platform === 'slack' ? '1700.1' : null,
            role,
            createdAt: at(s),
          });
        expect(await mapping('discord', 'D1', 'd-9', 'copy', 2)).toBe(true);
        expect(await mapping('kaiwa', 'room-1', 'm-1', 'origin', 1)).toBe(true);
        expect(await mapping('slack', 'C1', '1700.2', 'copy', 3)).toBe(true);
        expect(await mapping('slack', 'C1', '1700.2', 'copy', 4)).toBe(false);
        const group = await store.bridges.listGroup(bridgeId, groupId);
        expect(group.map((entry) => [entry.platform, entry.messageId, entry.role])).toEqual([
          ['kaiwa', 'm-1', 'origin'],
          ['discord', 'd-9', 'copy'],
          ['slack', '1700.2', 'copy'],
        ]);
        expect(group[2]?.threadId).toBe('1700.1');
        const found = (await store.bridges.findMessage('slack', 'C1', '1700.2')).filter(
          (m) => m.bridgeId === bridgeId,
        );
        expect(found).toMatchObject([{ groupId, role: 'copy' }]);
        expect(await store.bridges.findMessage('slack', 'C2', '1700.2')).toEqual([]);
      });
    });
  });
}
