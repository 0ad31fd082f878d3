import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Chat,
  type Frame,
  metricValue,
  openChat,
  range,
  type Served,
  seqs,
  serve,
  sleep,
  TestClient,
} from './test-support.js';

describe('realtime: subscriptions, sends and fan-out', () => {
  let chat: Chat;
  let served: Served;
  let roomId: string;

  beforeEach(async () => {
    chat = await openChat();
    served = await serve(chat);
    const room = await chat.engine.createRoom(chat.alice.id, {
      kind: 'channel',
      name: 'general',
      memberIds: [chat.bob.id, chat.carol.id],
    });
    roomId = room.id;
  });

  afterEach(async () => {
    await served.stop();
    await chat.close();
  });

  it('refuses to subscribe to a private group the user is not in, as not found', async () => {
    const group = await chat.engine.createRoom(chat.alice.id, { kind: 'group', name: 'secret' });
    const carol = await TestClient.as(served.url, 'token-carol');
    const reply = await carol.request({ type: 'subscribe', roomId: group.id });
    expect(reply).toMatchObject({ type: 'error', code: 'not_found' });
    await chat.engine.sendMessage(chat.alice.id, { roomId: group.id, text: 'secret plans' });
    await sleep(50);
    expect(carol.frames.some((frame) => frame.roomId === group.id && 'seq' in frame)).toBe(false);

    const alice = await TestClient.as(served.url, 'token-alice');
    const subscribed = await alice.request({ type: 'subscribe', roomId: group.id });
    expect(subscribed).toMatchObject({ type: 'subscribed', roomId: group.id, fromSeq: 1 });
  });

  it('acknowledges a send with the stored message and its seq; a repeated clientMessageId stores nothing new', async () => {
    const alice = await TestClient.as(served.url, 'token-alice');
    await alice.request({ type: 'subscribe', roomId });
    const ack = await alice.request({ type: 'send', roomId, clientMessageId: 'c-1', text: 'hello' });
    expect(ack).toMatchObject({
      type: 'ack',
      clientMessageId: 'c-1',
      seq: 1,
      message: { text: 'hello', roomId },
    });
    const message = ack.message as { id: string };
    expect(await chat.engine.getMessage(chat.alice.id, message.id)).toMatchObject({ text: 'hello' });

    const repeat = await alice.request({ type: 'send', roomId, clientMessageId: 'c-1', text: 'hello' });
    expect(repeat).toMatchObject({ type: 'ack', seq: 1, message: { id: message.id } });
    const history = await chat.engine.history(chat.alice.id, { roomId });
    expect(history.messages.map((each) => each.id)).toEqual([message.id]);
    // The event came before the ack, and only once.
    const created = alice.frames.filter((frame) => frame.type === 'message.created');
    expect(created).toHaveLength(1);
    expect(alice.frames.indexOf(created[0]!)).toBeLessThan(alice.frames.indexOf(ack));
    expect(await metricValue(served.registry, 'kaiwa_ws_messages_sent_total')).toBe(2);
  });

  it('fans every event out to every subscriber exactly once and in order', async () => {
    const clients = await Promise.all(
      ['token-alice', 'token-bob', 'token-carol', 'token-bob'].map((token) =>
        TestClient.as(served.url, token),
      ),
    );
    for (const client of clients) await client.request({ type: 'subscribe', roomId });
    const senders = clients.slice(0, 3);
    const acks = await Promise.all(
      senders.flatMap((client, index) =>
        range(1, 20).map((n) =>
          client.request({ type: 'send', roomId, clientMessageId: `m-${index}-${n}`, text: `${index}:${n}` }),
        ),
      ),
    );
    expect(acks.every((ack) => ack.type === 'ack')).toBe(true);
    for (const client of clients) {
      const events = await client.roomEvents(roomId, 60);
      await sleep(20);
      expect(seqs(client.frames.filter((frame) => frame.roomId === roomId))).toEqual(range(1, 60));
      expect(events.every((event) => event.type === 'message.created')).toBe(true);
    }
    // Messages of one sender are stored and delivered in the order it sent them.
    const texts = clients[0]!.frames
      .filter((frame) => frame.type === 'message.created')
      .map((frame) => (frame.payload as { message: { text: string } }).message.text)
      .filter((text) => text.startsWith('1:'));
    expect(texts).toEqual(range(1, 20).map((n) => `1:${n}`));
    expect(await metricValue(served.registry, 'kaiwa_ws_events_delivered_total')).toBeGreaterThanOrEqual(240);
  });

  it('fans out to hundreds of subscribers, written over several turns of the event loop, each in order', async () => {
    // More connections than one flush writes before it lets the event loop turn (issue 18).
    const tokens = ['token-alice', 'token-bob', 'token-carol'];
    const clients = await Promise.all(
      range(0, 299).map((index) => TestClient.as(served.url, tokens[index % 3]!)),
    );
    await Promise.all(clients.map((client) => client.request({ type: 'subscribe', roomId })));
    // Sent while earlier events are still being written: later ones queue behind them.
    await Promise.all(
      range(1, 30).map((n) =>
        chat.engine.sendMessage(chat.alice.id, { roomId, clientMessageId: `w-${n}`, text: `${n}` }),
      ),
    );
    for (const client of clients) {
      await client.roomEvents(roomId, 30);
      expect(seqs(client.frames.filter((frame) => frame.roomId === roomId))).toEqual(range(1, 30));
    }
    await Promise.all(clients.map((client) => client.close()));
  });

  it('delivers edits, deletes and reactions, each acknowledged', async () => {
    const alice = await TestClient.as(served.url, 'token-alice');
    const bob = await TestClient.as(served.url, 'token-bob');
    await alice.request({ type: 'subscribe', roomId });
    await bob.request({ type: 'subscribe', roomId });
    const sent = await alice.request({ type: 'send', roomId, clientMessageId: 'e-1', text: 'first draft' });
    const messageId = (sent.message as { id: string }).id;

    const edited = await alice.request({ type: 'edit', messageId, text: 'final text' });
    expect(edited).toMatchObject({ type: 'ack', message: { id: messageId, text: 'final text' } });
    const reacted = await bob.request({ type: 'react', messageId, emoji: ':+1:' });
    expect(reacted).toMatchObject({ type: 'ack', message: { reactions: [{ emoji: ':+1:', count: 1 }] } });
    const unreacted = await bob.request({ type: 'unreact', messageId, emoji: ':+1:' });
    expect(unreacted).toMatchObject({ type: 'ack', message: { reactions: [] } });
    const deleted = await alice.request({ type: 'delete', messageId });
    expect(deleted).toMatchObject({ type: 'ack', message: { id: messageId, text: '' } });

    const events = await bob.roomEvents(roomId, 5);
    expect(events.map((event) => [event.seq, event.type])).toEqual([
      [1, 'message.created'],
      [2, 'message.updated'],
      [3, 'reaction.added'],
      [4, 'reaction.removed'],
      [5, 'message.deleted'],
    ]);
    expect(events[1]).toMatchObject({ payload: { message: { text: 'final text' } } });
    expect(events[2]).toMatchObject({ payload: { messageId, emoji: ':+1:', userId: chat.bob.id } });

    const forbidden = await bob.request({ type: 'edit', messageId, text: 'not mine' });
    expect(forbidden).toMatchObject({ type: 'error', code: 'forbidden' });
  });

  it('forwards typing to the other subscribers, throttles repeats and expires', async () => {
    await served.stop();
    served = await serve(chat, { typingThrottleMs: 10_000, typingExpiryMs: 300 });
    const alice = await TestClient.as(served.url, 'token-alice');
    const bob = await TestClient.as(served.url, 'token-bob');
    const notSubscribed = await alice.request({ type: 'typing', roomId, typing: true });
    expect(notSubscribed).toMatchObject({ type: 'error', code: 'not_subscribed' });
    await alice.request({ type: 'subscribe', roomId });
    await bob.request({ type: 'subscribe', roomId });

    const isTyping = (frame: Frame) => frame.type === 'typing.updated';
    alice.send({ type: 'typing', roomId, typing: true });
    alice.send({ type: 'typing', roomId, typing: true });
    const started = await bob.waitFor(isTyping);
    expect(started).toEqual({ type: 'typing.updated', roomId, userId: chat.alice.id, typing: true });
    const stopped = await bob.waitFor((frame) => isTyping(frame) && frame.typing === false, {
      timeoutMs: 2_000,
    });
    expect(stopped.userId).toBe(chat.alice.id);
    // The repeat within the throttle interval was not forwarded, and alice never hears her own typing.
    expect(bob.frames.filter(isTyping)).toHaveLength(2);
    expect(alice.frames.filter(isTyping)).toHaveLength(0);

    // A send ends the indicator at once.
    alice.send({ type: 'typing', roomId, typing: true });
    await bob.waitFor((frame) => isTyping(frame) && frame.typing === true, {
      from: bob.frames.indexOf(stopped) + 1,
    });
    const from = bob.frames.length;
    await alice.request({ type: 'send', roomId, clientMessageId: 't-1', text: 'done typing' });
    await bob.waitFor((frame) => isTyping(frame) && frame.typing === false, { from, timeoutMs: 200 });
  });

  it('announces presence when a user first connects and after their last connection closes', async () => {
    const watcher = await TestClient.as(served.url, 'token-carol');
    const isAlicePresence = (frame: Frame) =>
      frame.type === 'presence.updated' && frame.userId === chat.alice.id;
    const first = await TestClient.as(served.url, 'token-alice');
    await watcher.waitFor((frame) => isAlicePresence(frame) && frame.status === 'online');
    const second = await TestClient.as(served.url, 'token-alice');
    expect(
      await watcher.request({ type: 'presence.query', userIds: [chat.alice.id, chat.bob.id] }),
    ).toMatchObject({
      type: 'presence.state',
      statuses: { [chat.alice.id]: 'online', [chat.bob.id]: 'offline' },
    });
    await first.close();
    await sleep(50);
    await second.close();
    await watcher.waitFor((frame) => isAlicePresence(frame) && frame.status === 'offline');
    expect(watcher.frames.filter(isAlicePresence).map((frame) => frame.status)).toEqual([
      'online',
      'offline',
    ]);

    // A client that opts out of presence gets none.
    const quiet = await TestClient.as(served.url, 'token-bob', { presence: false });
    await TestClient.as(served.url, 'token-alice');
    await watcher.waitFor((frame) => isAlicePresence(frame) && frame.status === 'online', { from: 1 });
    expect(quiet.frames.some((frame) => frame.type === 'presence.updated')).toBe(false);
  });

  it('marks a room read and tells its subscribers', async () => {
    const alice = await TestClient.as(served.url, 'token-alice');
    const bob = await TestClient.as(served.url, 'token-bob');
    await alice.request({ type: 'subscribe', roomId });
    const sent = await alice.request({ type: 'send', roomId, clientMessageId: 'r-1', text: 'read me' });
    const messageId = (sent.message as { id: string }).id;
    const ack = await bob.request({ type: 'read', roomId });
    expect(ack).toMatchObject({ type: 'ack', roomId, lastReadMessageId: messageId });
    const receipt = await alice.waitFor((frame) => frame.type === 'read.updated');
    expect(receipt).toEqual({
      type: 'read.updated',
      roomId,
      userId: chat.bob.id,
      lastReadMessageId: messageId,
    });
    const [summary] = await chat.engine.listRooms(chat.bob.id);
    expect(summary?.membership.lastReadMessageId).toBe(messageId);
  });

  it('tells a user of a room they were added to, and drops the subscription when they lose access', async () => {
    const group = await chat.engine.createRoom(chat.alice.id, {
      kind: 'group',
      name: 'team',
      memberIds: [chat.bob.id],
    });
    const bob = await TestClient.as(served.url, 'token-bob');
    await bob.request({ type: 'subscribe', roomId: group.id });
    await chat.engine.inviteToRoom(chat.alice.id, group.id, chat.carol.id);
    const carolJoins = await bob.waitFor((frame) => frame.type === 'member.joined');
    expect(carolJoins).toMatchObject({ roomId: group.id, seq: 1 });

    const carol = await TestClient.as(served.url, 'token-carol');
    const created = await chat.engine.createRoom(chat.alice.id, {
      kind: 'group',
      name: 'other',
      memberIds: [chat.carol.id],
    });
    await carol.waitFor(
      (frame) => frame.type === 'room.created' && (frame.room as { id: string }).id === created.id,
    );

    await chat.engine.removeFromRoom(chat.alice.id, group.id, chat.bob.id);
    await bob.waitFor((frame) => frame.type === 'member.left' && frame.roomId === group.id);
    const dropped = await bob.waitFor((frame) => frame.type === 'unsubscribed');
    expect(dropped).toEqual({ type: 'unsubscribed', roomId: group.id, reason: 'access_lost' });
    await chat.engine.sendMessage(chat.alice.id, { roomId: group.id, text: 'after bob left' });
    await sleep(50);
    expect(bob.frames.some((frame) => frame.type === 'message.created')).toBe(false);
  });
});
