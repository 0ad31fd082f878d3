import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from './index.js';
import { type Chat, metricValue, openChat, type Served, serve, sleep, TestClient } from './test-support.js';

describe('realtime: malformed frames and limits', () => {
  let chat: Chat;
  let served: Served | undefined;
  let roomId: string;

  beforeEach(async () => {
    chat = await openChat();
    const room = await chat.engine.createRoom(chat.alice.id, { kind: 'channel', name: 'general' });
    roomId = room.id;
  });

  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await chat.close();
  });

  async function storedEvents(): Promise<number> {
    return (await chat.engine.getRoom(chat.alice.id, roomId)).lastSeq;
  }

  it('answers malformed frames with error frames naming the problem, stores nothing and stays open', async () => {
    served = await serve(chat);
    const client = await TestClient.as(served.url, 'token-alice');
    const errorAfter = async (frame: object | string) => {
      const from = client.frames.length;
      client.send(frame);
      return client.waitFor((each) => each.type === 'error', { from });
    };

    expect(await errorAfter('{"type": "send",')).toMatchObject({ code: 'bad_json' });
    expect(await errorAfter('[1, 2]')).toMatchObject({ code: 'validation_failed' });
    expect(await errorAfter({ type: 'shout', id: 'x1' })).toMatchObject({
      id: 'x1',
      code: 'unknown_type',
      details: { issues: [{ path: ['type'] }] },
    });
    expect(
      await errorAfter({ type: 'send', id: 7, roomId: 'nope', clientMessageId: 'c', text: 'hi' }),
    ).toMatchObject({
      id: 7,
      code: 'validation_failed',
      message: expect.stringContaining('roomId'),
      details: { issues: [{ path: ['roomId'] }] },
    });
    expect(await errorAfter({ type: 'send', roomId, text: 'no client message id' })).toMatchObject({
      code: 'validation_failed',
      details: { issues: [{ path: ['clientMessageId'] }] },
    });
    // Passes the frame schema, fails the engine's: the same kind of answer.
    expect(
      await errorAfter({ type: 'send', id: 'blank', roomId, clientMessageId: 'c-2', text: '   ' }),
    ).toMatchObject({
      id: 'blank',
      code: 'validation_failed',
      details: { issues: [{ path: ['text'] }] },
    });
    expect(await errorAfter({ type: 'react', messageId: roomId, emoji: ':+1:' })).toMatchObject({
      code: 'not_found',
    });
    client.socket.send(Buffer.from('{"type":"ping"}'), { binary: true });
    expect(await client.waitFor((frame) => frame.code === 'binary_not_supported')).toMatchObject({
      type: 'error',
    });
    const oversized = { type: 'send', roomId, clientMessageId: 'big', text: 'a'.repeat(100 * 1024) };
    expect(await errorAfter(oversized)).toMatchObject({
      code: 'frame_too_large',
      details: { maxFrameBytes: 96 * 1024 },
    });

    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(await storedEvents()).toBe(0);
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    expect(await metricValue(served.registry, 'kaiwa_ws_frames_received_total')).toBeGreaterThanOrEqual(10);
  });

  it('closes with 1009 when a frame passes the hard size limit', async () => {
    served = await serve(chat, { maxFrameBytes: 1024, maxPayloadBytes: 4096 });
    const client = await TestClient.as(served.url, 'token-alice');
    client.send({ type: 'send', roomId, clientMessageId: 'm', text: 'b'.repeat(2048) });
    // An oversized frame is not parsed, so its error carries no id.
    const soft = await client.waitFor((frame) => frame.type === 'error');
    expect(soft).toMatchObject({ code: 'frame_too_large', details: { maxFrameBytes: 1024 } });
    expect(soft.id).toBeUndefined();
    client.send({ type: 'send', roomId, clientMessageId: 'm', text: 'b'.repeat(8192) });
    expect((await client.closed).code).toBe(CLOSE_CODES.messageTooBig);
    expect(await storedEvents()).toBe(0);
  });

  it('rate-limits frames with error frames and closes a connection that keeps flooding', async () => {
    served = await serve(chat, { framesPerSecond: 20, frameBurst: 5, maxRateLimitedFrames: 20 });
    const client = await TestClient.as(served.url, 'token-alice');
    await sleep(300);
    for (let index = 0; index < 10; index += 1) client.send({ type: 'ping', id: `p${index}` });
    await client.waitFor((frame) => frame.id === 'p4');
    const limited = await client.waitFor((frame) => frame.code === 'rate_limited');
    expect(limited).toMatchObject({ type: 'error', details: { retryAfterMs: expect.any(Number) } });
    await sleep(150);
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(client.frames.filter((frame) => frame.type === 'pong').length).toBeLessThan(10);

    for (let index = 0; index < 60; index += 1) client.send({ type: 'ping' });
    expect((await client.closed).code).toBe(CLOSE_CODES.rateLimited);
    expect(await metricValue(served.registry, 'kaiwa_ws_rate_limited_frames_total')).toBeGreaterThan(20);
  });

  it('limits the subscriptions of one connection', async () => {
    served = await serve(chat, { maxSubscriptions: 2 });
    const second = await chat.engine.createRoom(chat.alice.id, { kind: 'channel', name: 'second' });
    const third = await chat.engine.createRoom(chat.alice.id, { kind: 'channel', name: 'third' });
    const client = await TestClient.as(served.url, 'token-alice');
    expect(await client.request({ type: 'subscribe', roomId })).toMatchObject({ type: 'subscribed' });
    expect(await client.request({ type: 'subscribe', roomId: second.id })).toMatchObject({
      type: 'subscribed',
    });
    expect(await client.request({ type: 'subscribe', roomId: third.id })).toMatchObject({
      type: 'error',
      code: 'too_many_subscriptions',
    });
    // Subscribing again to a room already subscribed replaces it rather than adding one.
    expect(await client.request({ type: 'subscribe', roomId })).toMatchObject({ type: 'subscribed' });
    expect(await client.request({ type: 'unsubscribe', roomId })).toMatchObject({ type: 'unsubscribed' });
    expect(await client.request({ type: 'subscribe', roomId: third.id })).toMatchObject({
      type: 'subscribed',
    });
  });

  it('coalesces the events of one tick into a JSON array frame', async () => {
    served = await serve(chat);
    const client = await TestClient.as(served.url, 'token-alice');
    await client.request({ type: 'subscribe', roomId });
    // The engine on SQLite settles in microtasks, so these land in one tick.
    for (let index = 0; index < 20; index += 1) {
      await chat.engine.sendMessage(chat.alice.id, { roomId, text: `burst ${index}` });
    }
    await client.roomEvents(roomId, 20);
    expect(client.batches).toBeGreaterThan(0);
  });
});
