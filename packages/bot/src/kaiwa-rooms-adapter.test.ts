import {
  type Bus,
  ChatEngine,
  type ChatEvent,
  type ChatStore,
  InProcessBus,
  isRoomEvent,
  type PlatformEventSink,
  type PlatformInboundEvent,
  type RoomEvent,
} from '@kaiwa/core';
import { PlatformInbox } from '@kaiwa/platform-queues';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { KaiwaRoomsAdapter, type KaiwaRoomsAdapterConfig } from './kaiwa-rooms-adapter.js';

/*
 * How KaiwaRoomsAdapter hands room events to its sink when the bus misbehaves (events out of order or
 * missing, as with several server instances on Redis or NATS) and when the sink fails: a real engine on a
 * real SQLite store, a real PlatformInbox as the sink, and a bus that reorders what the engine publishes.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * The in-process bus with a fault switch, standing in for another instance's late or lost publication:
 * a message whose text is in `holdBack` is kept back until the next room event has gone out (then
 * published after it), and one in `lose` is never published at all. The store has both either way.
 */
class ReorderingBus implements Bus {
  readonly holdBack = new Set<string>();
  readonly lose = new Set<string>();
  readonly #inner = new InProcessBus();
  #held: ChatEvent[] = [];

  async publish(event: ChatEvent): Promise<void> {
    const text = event.type === 'message.created' ? event.payload.message.text : undefined;
    if (text !== undefined && this.lose.has(text)) return;
    if (text !== undefined && this.holdBack.has(text)) {
      this.#held.push(event);
      return;
    }
    await this.#inner.publish(event);
    if (isRoomEvent(event)) {
      const held = this.#held;
      this.#held = [];
      for (const late of held) await this.#inner.publish(late);
    }
  }

  subscribe(listener: (event: ChatEvent) => void): () => void {
    return this.#inner.subscribe(listener);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** What the bot's handler saw, in the order it saw it. */
interface Setup {
  store: ChatStore;
  engine: ChatEngine;
  bus: ReorderingBus;
  kaiwa: KaiwaRoomsAdapter;
  inbox: PlatformInbox;
  aliceId: string;
  botId: string;
  roomId: string;
  handled: string[];
  stalls: { roomId: string; event: RoomEvent | undefined }[];
  send(text: string, roomId?: string): Promise<void>;
}

/**
 * A bot user in a room with alice, its adapter handing events to `sink(inbox)` (the real inbox by
 * default), and an inbox handling one event at a time so the order it handles them in is the order
 * they were recorded in.
 */
async function setup(
  options: {
    sink?: (inbox: PlatformInbox) => PlatformEventSink;
    adapter?: Partial<KaiwaRoomsAdapterConfig>;
  } = {},
): Promise<Setup> {
  const store = await createSqliteStore({ filename: ':memory:' });
  await store.migrate();
  const bus = new ReorderingBus();
  const engine = new ChatEngine({ store, bus });
  const bot = await engine.createUser({ username: 'helper' });
  const alice = await engine.createUser({ username: 'alice' });
  const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'lobby', memberIds: [bot.id] });
  const handled: string[] = [];
  const inbox = new PlatformInbox({
    store,
    consumer: 'bot:helper',
    concurrency: 1,
    pollMs: 10,
    backoff: { initialMs: 1, jitter: false },
    handler: async (event: PlatformInboundEvent) => {
      if (event.kind === 'message') handled.push(event.text);
    },
  });
  const stalls: Setup['stalls'] = [];
  const kaiwa = new KaiwaRoomsAdapter({
    engine,
    botUserId: bot.id,
    resumeKey: 'bot:helper',
    retry: { maxAttempts: 3, backoff: { initialMs: 5, jitter: false } },
    onError: (_error, context) => stalls.push(context),
    ...options.adapter,
  });
  await kaiwa.connect(options.sink ? options.sink(inbox) : inbox);
  inbox.start();
  cleanups.push(async () => {
    await kaiwa.disconnect();
    await inbox.stop();
    engine.close();
    await store.close();
  });
  return {
    store,
    engine,
    bus,
    kaiwa,
    inbox,
    aliceId: alice.id,
    botId: bot.id,
    roomId: room.id,
    handled,
    stalls,
    async send(text, roomId = room.id) {
      await engine.sendMessage(alice.id, { roomId, text });
    },
  };
}

/** The bot's cursor: a personal room setting (`platform-cursor:<bot id>:<resumeKey>`). */
const cursorOf = (test: Setup, roomId = test.roomId) =>
  test.store.roomSettings.get(roomId, `platform-cursor:${test.botId}:bot:helper`);

describe('KaiwaRoomsAdapter delivery', () => {
  it('hands on an event that arrives after the next one in sequence order, once', async () => {
    const test = await setup();
    test.bus.holdBack.add('two');
    for (const text of ['one', 'two', 'three', 'four']) await test.send(text);
    await test.kaiwa.idle();
    await until(() => test.handled.length === 4, 'four handled messages');
    expect(test.handled).toEqual(['one', 'two', 'three', 'four']);
    const room = await test.engine.getRoom(test.aliceId, test.roomId);
    expect(await cursorOf(test)).toBe(room.lastSeq);
  });

  it('fills a gap from the store when an event never arrives live', async () => {
    const test = await setup();
    test.bus.lose.add('lost');
    for (const text of ['before', 'lost', 'after']) await test.send(text);
    await test.kaiwa.idle();
    await until(() => test.handled.length === 3, 'three handled messages');
    expect(test.handled).toEqual(['before', 'lost', 'after']);
    expect(test.stalls).toEqual([]);
  });

  it('tries a sink that throws once again, and nothing overtakes the event meanwhile', async () => {
    const accepted: string[] = [];
    let failures = 1;
    const test = await setup({
      sink: (inbox) => ({
        async accept(event) {
          if (event.kind === 'message' && event.text === 'two' && failures-- > 0) {
            throw new Error('the database went away for a moment');
          }
          if (event.kind === 'message') accepted.push(event.text);
          await inbox.accept(event);
        },
      }),
    });
    for (const text of ['one', 'two', 'three']) await test.send(text);
    await test.kaiwa.idle();
    expect(accepted).toEqual(['one', 'two', 'three']);
    await until(() => test.handled.length === 3, 'three handled messages');
    expect(test.handled).toEqual(['one', 'two', 'three']);
    expect(test.stalls).toEqual([]);
  });

  it('stalls a room whose sink keeps failing, keeps its cursor before the event, and catches up later', async () => {
    let down = true;
    const test = await setup({
      sink: (inbox) => ({
        async accept(event) {
          if (down && event.kind === 'message' && event.text === 'two') throw new Error('inbox unavailable');
          await inbox.accept(event);
        },
      }),
    });
    const other = await test.engine.createRoom(test.aliceId, {
      kind: 'channel',
      name: 'other',
      memberIds: [test.botId],
    });
    await test.send('one');
    await test.kaiwa.idle();
    const cursorAfterOne = await cursorOf(test);
    await test.send('two');
    await test.send('three');
    await test.kaiwa.idle();
    // Three attempts, then the room stalls: told once, the cursor stays before "two", "three" waits.
    expect(test.stalls.map((stall) => stall.event?.type)).toEqual(['message.created']);
    expect(test.stalls[0]!.roomId).toBe(test.roomId);
    expect(await cursorOf(test)).toBe(cursorAfterOne);
    // Other rooms go on.
    await test.send('elsewhere', other.id);
    await test.kaiwa.idle();
    await until(() => test.handled.includes('elsewhere'), 'the other room');
    expect(test.handled).toEqual(['one', 'elsewhere']);

    // The inbox is back; the room's next event tries again from "two".
    down = false;
    await test.send('four');
    await test.kaiwa.idle();
    await until(() => test.handled.length === 5, 'five handled messages');
    expect(test.handled).toEqual(['one', 'elsewhere', 'two', 'three', 'four']);
    const room = await test.engine.getRoom(test.aliceId, test.roomId);
    expect(await cursorOf(test)).toBe(room.lastSeq);
  });

  it('resumes a stalled room after a restart from its stored cursor, the failed event first', async () => {
    let down = true;
    const test = await setup({
      sink: (inbox) => ({
        async accept(event) {
          if (down && event.kind === 'message' && event.text === 'two') throw new Error('inbox unavailable');
          await inbox.accept(event);
        },
      }),
    });
    for (const text of ['one', 'two', 'three']) await test.send(text);
    await test.kaiwa.idle();
    await until(() => test.handled.length === 1, 'one handled message');
    await test.kaiwa.disconnect();
    down = false;
    const again = new KaiwaRoomsAdapter({
      engine: test.engine,
      botUserId: test.botId,
      resumeKey: 'bot:helper',
    });
    await again.connect(test.inbox);
    cleanups.push(() => again.disconnect());
    await until(() => test.handled.length === 3, 'three handled messages');
    expect(test.handled).toEqual(['one', 'two', 'three']);
  });

  it('resumes from a cursor stored under the key of earlier versions (platform-cursor:<resumeKey>)', async () => {
    const test = await setup();
    await test.send('one');
    await until(() => test.handled.length === 1, 'one handled message');
    await test.kaiwa.idle();
    await test.kaiwa.disconnect();
    // As an earlier version left it: only the old key, at the event already delivered.
    const delivered = await cursorOf(test);
    expect(delivered).toBeTypeOf('number');
    await test.store.roomSettings.delete(test.roomId, `platform-cursor:${test.botId}:bot:helper`);
    await test.store.roomSettings.set(
      test.roomId,
      'platform-cursor:bot:helper',
      delivered!,
      new Date().toISOString(),
    );
    await test.send('two');
    const again = new KaiwaRoomsAdapter({
      engine: test.engine,
      botUserId: test.botId,
      resumeKey: 'bot:helper',
    });
    await again.connect(test.inbox);
    cleanups.push(() => again.disconnect());
    await until(() => test.handled.length === 2, 'two handled messages');
    await again.idle();
    expect(test.handled).toEqual(['one', 'two']);
    expect(await cursorOf(test)).toBe((await test.engine.getRoom(test.aliceId, test.roomId)).lastSeq);
  });

  it('follows a room the bot joins after connecting, from the event that let it in', async () => {
    const test = await setup({ adapter: { resumeKey: undefined } });
    const late = await test.engine.createRoom(test.aliceId, { kind: 'channel', name: 'late' });
    await test.send('before the bot joined', late.id);
    await test.engine.joinRoom(test.botId, late.id);
    test.bus.holdBack.add('first');
    for (const text of ['first', 'second']) await test.send(text, late.id);
    await test.kaiwa.idle();
    await until(() => test.handled.length === 2, 'two handled messages');
    expect(test.handled).toEqual(['first', 'second']);
  });
});
