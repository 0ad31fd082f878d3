import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChatEngine,
  type ChatStore,
  type PlatformAdapter,
  PlatformError,
  type PlatformInboundEvent,
  type PlatformInboundMessage,
  type PlatformMessageRef,
  type PlatformOutboundMessage,
  type PlatformTarget,
} from '@kaiwa/core';
import { PlatformInbox, PlatformOutbox } from '@kaiwa/platform-queues';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KaiwaRoomsAdapter } from './kaiwa-rooms-adapter.js';

// The durable inbox and outbox of @kaiwa/core, on a real SQLite store (core's own tests do not load stores).

const dir = mkdtempSync(join(tmpdir(), 'kaiwa-platform-queues-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stores: ChatStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});

async function openStore(filename = ':memory:'): Promise<ChatStore> {
  const store = await createSqliteStore({ filename });
  await store.migrate();
  stores.push(store);
  return store;
}

function message(eventId: string, text = eventId): PlatformInboundMessage {
  return {
    platform: 'slack',
    kind: 'message',
    eventId,
    channelId: 'C1',
    at: '2030-01-01T00:00:00.000Z',
    messageId: `m-${eventId}`,
    threadId: null,
    replyToMessageId: null,
    author: { id: 'U1', name: 'alice', isBot: false },
    text,
    mentions: { userIds: [], bot: false },
    attachments: [{ name: 'a.bin', mimeType: 'application/octet-stream', data: new Uint8Array([0, 1, 255]) }],
    direct: false,
  };
}

const quickRetries = { initialMs: 1, maxMs: 5, jitter: false };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('PlatformInbox', () => {
  it('handles an event once however often the platform delivers it, bytes intact', async () => {
    const store = await openStore();
    const handled: PlatformInboundEvent[] = [];
    const inbox = new PlatformInbox({
      store,
      consumer: 'test',
      handler: async (event) => void handled.push(event),
    });
    await inbox.accept(message('Ev1'));
    await inbox.accept(message('Ev1'));
    expect(await inbox.record(message('Ev1'))).toBe('duplicate');
    await inbox.accept(message('Ev2'));
    expect(await inbox.drain()).toBe(2);
    await inbox.accept(message('Ev1'));
    expect(await inbox.drain()).toBe(0);
    expect(handled.map((event) => event.eventId)).toEqual(['Ev1', 'Ev2']);
    expect((handled[0] as PlatformInboundMessage).attachments[0]?.data).toEqual(new Uint8Array([0, 1, 255]));
  });

  it('retries with backoff, keeps an event that keeps failing as dead, and handles it after a requeue', async () => {
    const store = await openStore();
    let broken = true;
    const attempts: number[] = [];
    const dead: string[] = [];
    const inbox = new PlatformInbox({
      store,
      consumer: 'test',
      maxAttempts: 3,
      backoff: quickRetries,
      handler: async (_event, item) => {
        attempts.push(item.attempts);
        if (broken) throw new Error('database of the handler is down');
      },
      onDead: (item) => dead.push(item.eventId),
    });
    await inbox.accept(message('Ev-fail'));
    for (let round = 0; round < 20 && dead.length === 0; round++) {
      await inbox.drain();
      await sleep(3);
    }
    expect(attempts).toEqual([1, 2, 3]);
    const [item] = await inbox.listDead();
    expect(item).toMatchObject({ eventId: 'Ev-fail', status: 'dead', attempts: 3 });
    expect(item?.lastError).toContain('database of the handler is down');
    broken = false;
    expect(await inbox.requeue(item!.id)).toBe(true);
    expect(await inbox.drain()).toBe(1);
    expect(await inbox.listDead()).toEqual([]);
    expect(await store.platformInbox.findById(item!.id)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('stops retrying at once on a PlatformError that cannot get better', async () => {
    const store = await openStore();
    let calls = 0;
    const inbox = new PlatformInbox({
      store,
      consumer: 'test',
      onDead: () => {},
      handler: async () => {
        calls++;
        throw new PlatformError('slack', 'forbidden', 'not in channel');
      },
    });
    await inbox.accept(message('Ev-forbidden'));
    await inbox.drain();
    expect(calls).toBe(1);
    expect(await inbox.listDead()).toHaveLength(1);
  });

  it('hands events recorded by a stopped process, and those it held when it crashed, to the next one', async () => {
    const filename = join(dir, 'inbox-restart.sqlite');
    const first = await openStore(filename);
    let now = Date.now();
    const clock = () => new Date(now);
    const crashed = new PlatformInbox({ store: first, consumer: 'bot', handler: async () => {}, clock });
    for (const id of ['Ev-a', 'Ev-b', 'Ev-c']) await crashed.accept(message(id));
    // The first process took Ev-a on a one-minute lease and died before finishing it.
    await first.platformInbox.claim({
      consumer: 'bot',
      now: clock().toISOString(),
      leaseUntil: new Date(now + 60_000).toISOString(),
      limit: 1,
    });
    await first.close();
    stores.splice(stores.indexOf(first), 1);

    const second = await openStore(filename);
    const handled: string[] = [];
    const inbox = new PlatformInbox({
      store: second,
      consumer: 'bot',
      clock,
      handler: async (event) => void handled.push(event.eventId),
    });
    await inbox.drain();
    expect(handled).toEqual(['Ev-b', 'Ev-c']);
    now += 61_000;
    await inbox.drain();
    expect(handled).toEqual(['Ev-b', 'Ev-c', 'Ev-a']);
    expect(await second.platformInbox.list({ consumer: 'bot', status: 'done', limit: 10 })).toHaveLength(3);
  });

  it('rejects an event without an id, naming the field, and keeps over-long ids distinct', async () => {
    const store = await openStore();
    const handled: string[] = [];
    const inbox = new PlatformInbox({
      store,
      consumer: 'test',
      handler: async (event) => void handled.push(event.eventId),
    });
    await expect(inbox.accept(message(''))).rejects.toMatchObject({
      name: 'ValidationError',
      issues: [{ path: ['eventId'] }],
    });
    const long = 'x'.repeat(300);
    expect(await inbox.record(message(`${long}1`))).toBe('recorded');
    expect(await inbox.record(message(`${long}2`))).toBe('recorded');
    expect(await inbox.record(message(`${long}1`))).toBe('duplicate');
    await inbox.drain();
    expect(handled).toEqual([`${long}1`, `${long}2`]);
  });

  it('handles several events at once when asked, and drain waits for all of them', async () => {
    const store = await openStore();
    let running = 0;
    let most = 0;
    const handled: string[] = [];
    const inbox = new PlatformInbox({
      store,
      consumer: 'test',
      concurrency: 3,
      handler: async (event) => {
        running++;
        most = Math.max(most, running);
        await sleep(20);
        running--;
        handled.push(event.eventId);
      },
    });
    for (let index = 0; index < 7; index++) await inbox.record(message(`Ev-${index}`));
    await inbox.drain();
    expect(most).toBe(3);
    expect(handled.sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((index) => `Ev-${index}`));
    expect(await store.platformInbox.list({ consumer: 'test', status: 'done', limit: 10 })).toHaveLength(7);
  });

  it('works in the background: accept wakes the worker', async () => {
    const store = await openStore();
    const handled: string[] = [];
    const inbox = new PlatformInbox({
      store,
      consumer: 'test',
      pollMs: 10_000,
      handler: async (event) => void handled.push(event.eventId),
    });
    inbox.start();
    await inbox.accept(message('Ev-live'));
    for (let wait = 0; wait < 100 && handled.length === 0; wait++) await sleep(5);
    await inbox.stop();
    expect(handled).toEqual(['Ev-live']);
  });
});

/** A platform that is down while `down` is set: the Kaiwa adapter behind a switch. */
class OutagePlatform implements PlatformAdapter {
  readonly platform = 'kaiwa';
  down = false;
  calls = 0;
  readonly #inner: KaiwaRoomsAdapter;

  constructor(inner: KaiwaRoomsAdapter) {
    this.#inner = inner;
  }
  get capabilities() {
    return this.#inner.capabilities;
  }
  get self() {
    return this.#inner.self;
  }
  connect = (sink: Parameters<PlatformAdapter['connect']>[0]) => this.#inner.connect(sink);
  disconnect = () => this.#inner.disconnect();
  #gate(): void {
    this.calls++;
    if (this.down)
      throw new PlatformError('kaiwa', 'unavailable', 'service unavailable', { retryAfterMs: 2 });
  }
  async send(target: PlatformTarget, outbound: PlatformOutboundMessage) {
    this.#gate();
    return this.#inner.send(target, outbound);
  }
  async edit(ref: PlatformMessageRef, outbound: PlatformOutboundMessage) {
    this.#gate();
    return this.#inner.edit(ref, outbound);
  }
  async delete(ref: PlatformMessageRef) {
    this.#gate();
    return this.#inner.delete(ref);
  }
  async react(ref: PlatformMessageRef, emoji: string) {
    this.#gate();
    return this.#inner.react(ref, emoji);
  }
  async unreact(ref: PlatformMessageRef, emoji: string) {
    this.#gate();
    return this.#inner.unreact(ref, emoji);
  }
}

describe('PlatformOutbox', () => {
  async function setup(filename?: string) {
    const store = await openStore(filename);
    const engine = new ChatEngine({ store });
    const bot = await engine.createUser({ username: 'relay' });
    const owner = await engine.createUser({ username: 'owner' });
    const one = await engine.createRoom(owner.id, { kind: 'channel', name: 'one', memberIds: [bot.id] });
    const two = await engine.createRoom(owner.id, { kind: 'channel', name: 'two', memberIds: [bot.id] });
    const platform = new OutagePlatform(new KaiwaRoomsAdapter({ engine, botUserId: bot.id }));
    const texts = async (roomId: string) =>
      (await engine.history(owner.id, { roomId, limit: 100 })).messages.map((entry) => entry.text);
    return { store, engine, bot, one, two, platform, texts };
  }

  it('catches up after an outage: every message once, in order per channel', async () => {
    const { store, one, two, platform, texts } = await setup();
    const outbox = new PlatformOutbox({
      store,
      consumer: 'relay',
      adapters: [platform],
      backoff: quickRetries,
    });
    platform.down = true;
    const send = (room: string, key: string) =>
      outbox.enqueue({
        operation: 'send',
        platform: 'kaiwa',
        idempotencyKey: key,
        target: { channelId: room },
        message: { text: key },
      });
    for (let index = 1; index <= 5; index++) await send(one.id, `one-${index}`);
    for (let index = 1; index <= 3; index++) await send(two.id, `two-${index}`);
    // Edit and delete of messages that have not gone out yet: they wait behind their sends.
    await outbox.enqueue({
      operation: 'edit',
      platform: 'kaiwa',
      idempotencyKey: 'edit-one-2',
      ref: { sentBy: 'one-2', channelId: one.id },
      message: { text: 'one-2 (edited)' },
    });
    await outbox.enqueue({
      operation: 'delete',
      platform: 'kaiwa',
      idempotencyKey: 'delete-two-3',
      ref: { sentBy: 'two-3', channelId: two.id },
    });
    for (let round = 0; round < 5; round++) {
      await outbox.drain();
      await sleep(6);
    }
    // Only the head of each channel was tried while the platform was down.
    expect(await texts(one.id)).toEqual([]);
    const pending = await outbox.list({ status: 'pending' });
    expect(pending).toHaveLength(10);
    expect(pending.filter((item) => item.attempts > 0).map((item) => item.idempotencyKey)).toEqual([
      'one-1',
      'two-1',
    ]);

    platform.down = false;
    for (let round = 0; round < 20 && (await outbox.list({ status: 'pending' })).length > 0; round++) {
      await outbox.drain();
      await sleep(6);
    }
    expect(await texts(one.id)).toEqual(['one-1', 'one-2 (edited)', 'one-3', 'one-4', 'one-5']);
    expect(await texts(two.id)).toEqual(['two-1', 'two-2', '']);
    // The same keys again send nothing.
    expect((await send(one.id, 'one-1')).outcome).toBe('duplicate');
    expect(await outbox.drain()).toBe(0);
    expect(await texts(one.id)).toHaveLength(5);
    const first = await outbox.find('one-1');
    expect(first).toMatchObject({ status: 'done' });
    expect((first!.result as { refs: { channelId: string }[] }).refs[0]?.channelId).toBe(one.id);
  });

  it('rejects an operation for a platform it has no adapter for, naming the field', async () => {
    const { store, one, platform } = await setup();
    const outbox = new PlatformOutbox({ store, consumer: 'relay', adapters: [platform] });
    await expect(
      outbox.enqueue({
        operation: 'send',
        platform: 'slack',
        idempotencyKey: 'k',
        target: { channelId: one.id },
        message: { text: 'x' },
      }),
    ).rejects.toMatchObject({ name: 'ValidationError', issues: [{ path: ['platform'] }] });
    expect(await outbox.list()).toEqual([]);
  });

  it('keeps a call the platform refuses for good as dead, and goes on with the next', async () => {
    const { store, one, platform, texts } = await setup();
    const dead: string[] = [];
    const outbox = new PlatformOutbox({
      store,
      consumer: 'relay',
      adapters: [platform],
      onDead: (item) => dead.push(item.idempotencyKey),
    });
    await outbox.enqueue({
      operation: 'send',
      platform: 'kaiwa',
      idempotencyKey: 'bad',
      target: { channelId: one.id },
      message: {
        text: '   ',
        attachments: [{ name: 'x', mimeType: 'text/plain', data: new Uint8Array([1]) }],
      },
    });
    await outbox.enqueue({
      operation: 'send',
      platform: 'kaiwa',
      idempotencyKey: 'good',
      target: { channelId: one.id },
      message: { text: 'good' },
    });
    await outbox.drain();
    expect(dead).toEqual(['bad']);
    expect(await texts(one.id)).toEqual(['good']);
    expect((await outbox.list({ status: 'dead' }))[0]?.lastError).toContain('cannot upload');
  });

  it('delivers what a stopped process left in the outbox after a restart', async () => {
    const filename = join(dir, 'outbox-restart.sqlite');
    const first = await setup(filename);
    const outbox = new PlatformOutbox({ store: first.store, consumer: 'relay', adapters: [first.platform] });
    await outbox.enqueue({
      operation: 'send',
      platform: 'kaiwa',
      idempotencyKey: 'left-1',
      target: { channelId: first.one.id },
      message: { text: 'left behind' },
    });
    first.engine.close();
    await first.store.close();
    stores.splice(stores.indexOf(first.store), 1);

    const store = await openStore(filename);
    const engine = new ChatEngine({ store });
    const again = new PlatformOutbox({
      store,
      consumer: 'relay',
      adapters: [new KaiwaRoomsAdapter({ engine, botUserId: first.bot.id })],
    });
    expect(await again.drain()).toBe(1);
    const history = await engine.history(first.bot.id, { roomId: first.one.id, limit: 10 });
    expect(history.messages.map((entry) => entry.text)).toEqual(['left behind']);
    engine.close();
  });
});
