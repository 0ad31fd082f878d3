import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, type ChatEvent, InProcessBus } from '@kaiwa/core';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from './index.js';
import {
  type Chat,
  metricValue,
  openChat,
  range,
  seqs,
  serve,
  sleep,
  TestClient,
  until,
} from './test-support.js';

/** A bus that can hold events back (delayed) or lose them, as a bus between servers might. */
class UnreliableBus implements Bus {
  readonly #inner = new InProcessBus();
  #hold: ((event: ChatEvent) => boolean) | undefined;
  #drop: ((event: ChatEvent) => boolean) | undefined;
  readonly held: ChatEvent[] = [];

  holdWhere(predicate: (event: ChatEvent) => boolean): void {
    this.#hold = predicate;
  }

  dropWhere(predicate: (event: ChatEvent) => boolean): void {
    this.#drop = predicate;
  }

  async release(): Promise<void> {
    this.#hold = undefined;
    for (const event of this.held.splice(0)) await this.#inner.publish(event);
  }

  async publish(event: ChatEvent): Promise<void> {
    if (this.#drop?.(event)) return;
    if (this.#hold?.(event)) {
      this.held.push(event);
      return;
    }
    await this.#inner.publish(event);
  }

  subscribe(listener: (event: ChatEvent) => void): () => void {
    return this.#inner.subscribe(listener);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

const roomEventsOf = (client: TestClient, roomId: string) =>
  client.frames.filter((frame) => frame.roomId === roomId && 'seq' in frame);

describe('realtime: resume, gap fill and slow consumers', () => {
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setUp(options: { filename?: string; bus?: Bus; limits?: Parameters<typeof serve>[1] } = {}) {
    const chat = await openChat(options);
    cleanups.push(() => chat.close());
    const served = await serve(chat, options.limits);
    cleanups.push(() => served.stop());
    return { chat, served };
  }

  async function channel(chat: Chat, name = 'general'): Promise<string> {
    const room = await chat.engine.createRoom(chat.alice.id, {
      kind: 'channel',
      name,
      memberIds: [chat.bob.id],
    });
    return room.id;
  }

  it('replays everything a client missed, edits, deletes and reactions included, in order and once', async () => {
    const { chat, served } = await setUp({ limits: { resumePageSize: 2 } });
    const { engine, alice, bob } = chat;
    const roomId = await channel(chat);
    const client = await TestClient.as(served.url, 'token-alice');
    await client.request({ type: 'subscribe', roomId });
    const first = await engine.sendMessage(bob.id, { roomId, text: 'one' });
    const second = await engine.sendMessage(bob.id, { roomId, text: 'two' });
    await client.roomEvents(roomId, 2);
    await client.close();

    const third = await engine.sendMessage(bob.id, { roomId, text: 'three' });
    await engine.editMessage(bob.id, first.id, { text: 'one, edited' });
    await engine.deleteMessage(bob.id, second.id);
    await engine.addReaction(alice.id, third.id, '🎉');
    await engine.removeReaction(alice.id, third.id, '🎉');

    const resumed = await TestClient.as(served.url, 'token-alice');
    const subscribed = await resumed.request({ type: 'subscribe', roomId, lastSeq: 2 });
    expect(subscribed).toMatchObject({ type: 'subscribed', roomId, fromSeq: 2, room: { lastSeq: 7 } });
    const missed = await resumed.roomEvents(roomId, 5);
    expect(missed.map((event) => [event.seq, event.type])).toEqual([
      [3, 'message.created'],
      [4, 'message.updated'],
      [5, 'message.deleted'],
      [6, 'reaction.added'],
      [7, 'reaction.removed'],
    ]);
    expect(missed[1]).toMatchObject({ payload: { message: { id: first.id, text: 'one, edited' } } });
    expect(missed[2]).toMatchObject({ payload: { message: { id: second.id, text: '' } } });
    // The replay follows the subscribed reply, and live events follow the replay.
    expect(resumed.frames.indexOf(subscribed)).toBeLessThan(resumed.frames.indexOf(missed[0]!));
    await engine.sendMessage(bob.id, { roomId, text: 'four' });
    await resumed.roomEvents(roomId, 6);
    await sleep(20);
    expect(seqs(roomEventsOf(resumed, roomId))).toEqual(range(3, 8));
  });

  it('resumes without gaps or duplicates while new events keep arriving', async () => {
    const { chat, served } = await setUp({ limits: { resumePageSize: 7 } });
    const { engine, bob } = chat;
    const roomId = await channel(chat);
    for (const n of range(1, 40)) await engine.sendMessage(bob.id, { roomId, text: `before ${n}` });

    const client = await TestClient.as(served.url, 'token-alice');
    const writer = (async () => {
      for (const n of range(1, 60)) {
        await engine.sendMessage(bob.id, { roomId, text: `during ${n}` });
        if (n % 10 === 0) await sleep(1);
      }
    })();
    await client.request({ type: 'subscribe', roomId, lastSeq: 5 });
    await writer;
    await client.roomEvents(roomId, 100 - 5);
    await sleep(30);
    expect(seqs(roomEventsOf(client, roomId))).toEqual(range(6, 100));
  });

  it('resumes from the store after a server restart', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kaiwa-realtime-'));
    cleanups.push(() => rmSync(directory, { recursive: true, force: true }));
    const filename = join(directory, 'chat.sqlite');

    const before = await openChat({ filename });
    const roomId = await channel(before);
    const servedBefore = await serve(before);
    const client = await TestClient.as(servedBefore.url, 'token-alice');
    await client.request({ type: 'subscribe', roomId });
    const kept = await before.engine.sendMessage(before.bob.id, { roomId, text: 'kept' });
    const doomed = await before.engine.sendMessage(before.bob.id, { roomId, text: 'doomed' });
    await client.roomEvents(roomId, 2);
    const lastSeq = Math.max(...seqs(roomEventsOf(client, roomId)));
    expect(lastSeq).toBe(2);
    await before.engine.editMessage(before.bob.id, kept.id, { text: 'kept, edited' });
    await before.engine.deleteMessage(before.bob.id, doomed.id);
    await servedBefore.stop();
    expect((await client.closed).code).toBe(CLOSE_CODES.goingAway);
    await before.close();

    const { chat: after, served: servedAfter } = await setUp({ filename });
    const added = await after.engine.sendMessage(after.bob.id, { roomId, text: 'after the restart' });
    await after.engine.addReaction(after.alice.id, added.id, ':wave:');
    const resumed = await TestClient.as(servedAfter.url, 'token-alice');
    await resumed.request({ type: 'subscribe', roomId, lastSeq });
    const missed = await resumed.roomEvents(roomId, 4);
    expect(missed.map((event) => [event.seq, event.type])).toEqual([
      [3, 'message.updated'],
      [4, 'message.deleted'],
      [5, 'message.created'],
      [6, 'reaction.added'],
    ]);
  });

  it('fills a gap in live events from the store, and ignores the late copy', async () => {
    const bus = new UnreliableBus();
    const { chat, served } = await setUp({ bus });
    const { engine, bob } = chat;
    const roomId = await channel(chat);
    const client = await TestClient.as(served.url, 'token-alice');
    await client.request({ type: 'subscribe', roomId });
    await engine.sendMessage(bob.id, { roomId, text: 'one' });
    await client.roomEvents(roomId, 1);

    // Seq 2 is lost on the bus: seq 3 shows the gap, and 2 comes from the store.
    bus.dropWhere((event) => 'seq' in event && event.seq === 2);
    await engine.sendMessage(bob.id, { roomId, text: 'two' });
    await engine.sendMessage(bob.id, { roomId, text: 'three' });
    await client.roomEvents(roomId, 3);
    bus.dropWhere(() => false);

    // Seq 4 is delayed: 5 arrives first, 4 is read from the store, the late 4 is ignored.
    bus.holdWhere((event) => 'seq' in event && event.seq === 4);
    await engine.sendMessage(bob.id, { roomId, text: 'four' });
    await engine.sendMessage(bob.id, { roomId, text: 'five' });
    await client.roomEvents(roomId, 5);
    await bus.release();
    await engine.sendMessage(bob.id, { roomId, text: 'six' });
    await client.roomEvents(roomId, 6);
    await sleep(20);
    expect(seqs(roomEventsOf(client, roomId))).toEqual(range(1, 6));
    const texts = roomEventsOf(client, roomId).map(
      (event) => (event.payload as { message: { text: string } }).message.text,
    );
    expect(texts).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
  });

  it('answers fetch with a page of stored events', async () => {
    const { chat, served } = await setUp();
    const roomId = await channel(chat);
    for (const n of range(1, 5)) await chat.engine.sendMessage(chat.bob.id, { roomId, text: `m${n}` });
    const client = await TestClient.as(served.url, 'token-alice');
    const page = await client.request({ type: 'fetch', roomId, afterSeq: 1, limit: 3 });
    expect(page).toMatchObject({ type: 'events', roomId, hasMore: true });
    expect((page.events as { seq: number }[]).map((event) => event.seq)).toEqual([2, 3, 4]);
    const rest = await client.request({ type: 'fetch', roomId, afterSeq: 4 });
    expect(rest).toMatchObject({ hasMore: false, events: [{ seq: 5 }] });
    const ahead = await client.request({ type: 'subscribe', roomId, lastSeq: 99 });
    expect(ahead).toMatchObject({
      type: 'error',
      code: 'validation_failed',
      details: { issues: [{ path: ['lastSeq'] }] },
    });
  });

  it('cuts a fetched page that would outgrow one batch', async () => {
    const { chat, served } = await setUp({ limits: { maxBatchBytes: 2_500 } });
    const roomId = await channel(chat);
    for (const n of range(1, 5))
      await chat.engine.sendMessage(chat.bob.id, { roomId, text: `${n}`.repeat(700) });
    const client = await TestClient.as(served.url, 'token-alice');
    const page = await client.request({ type: 'fetch', roomId, afterSeq: 0, limit: 5 });
    expect(page).toMatchObject({ type: 'events', hasMore: true, events: [{ seq: 1 }, { seq: 2 }] });
  });

  it('disconnects a consumer that stops reading with 4009, and it resumes afterwards', async () => {
    const { chat, served } = await setUp({
      limits: { maxBufferedBytes: 64 * 1024, slowConsumerGraceMs: 20_000 },
    });
    const { engine, bob } = chat;
    const roomId = await channel(chat);
    const slow = await TestClient.as(served.url, 'token-alice');
    const fast = await TestClient.as(served.url, 'token-bob');
    await slow.request({ type: 'subscribe', roomId });
    await fast.request({ type: 'subscribe', roomId });
    slow.socket.pause();

    const text = 'x'.repeat(16 * 1024);
    let sent = 0;
    while ((await metricValue(served.registry, 'kaiwa_ws_slow_consumer_disconnects_total')) === 0) {
      if (sent >= 3_000) throw new Error('the slow consumer was never disconnected');
      for (const _ of range(1, 10)) await engine.sendMessage(bob.id, { roomId, text });
      sent += 10;
      // Server and clients share this event loop: let the sockets move data, or every reader looks slow.
      await sleep(1);
    }
    // A few more while it is gone.
    for (const _ of range(1, 5)) await engine.sendMessage(bob.id, { roomId, text });
    sent += 5;
    slow.socket.resume();
    expect(await slow.closed).toEqual({ code: CLOSE_CODES.slowConsumer, reason: 'slow consumer' });

    const received = seqs(roomEventsOf(slow, roomId));
    expect(received.length).toBeLessThan(sent);
    expect(received).toEqual(range(1, received.length));
    await fast.roomEvents(roomId, sent, 10_000);
    expect(fast.socket.readyState).toBe(fast.socket.OPEN);

    const resumed = await TestClient.as(served.url, 'token-alice');
    await resumed.request({ type: 'subscribe', roomId, lastSeq: received.length });
    await resumed.roomEvents(roomId, sent - received.length, 10_000);
    await sleep(20);
    expect(seqs(roomEventsOf(resumed, roomId))).toEqual(range(received.length + 1, sent));
    await until(() => served.realtime.connectionCount() === 2);
  });
});
