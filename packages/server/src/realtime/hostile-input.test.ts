import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Chat, openChat, type Served, serve, TestClient } from './test-support.js';

/** `{ a: { a: … 1 } }`, `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe('realtime: hostile message input gets a validation error frame', () => {
  let chat: Chat;
  let served: Served;
  let roomId: string;

  beforeEach(async () => {
    chat = await openChat();
    served = await serve(chat);
    roomId = (await chat.engine.createRoom(chat.alice.id, { kind: 'channel', name: 'general' })).id;
  });

  afterEach(async () => {
    await served.stop();
    await chat.close();
  });

  it('answers metadata 1,900 levels deep with validation_failed naming metadata, and stays usable', async () => {
    const alice = await TestClient.as(served.url, 'token-alice');
    const reply = await alice.request({
      type: 'send',
      roomId,
      clientMessageId: 'deep-1',
      text: 'deep',
      metadata: nested(1900),
    });
    expect(reply).toMatchObject({
      type: 'error',
      code: 'validation_failed',
      details: { issues: [{ path: ['metadata'], message: 'must be nested at most 32 levels deep' }] },
    });
    const shallow = await alice.request({
      type: 'send',
      roomId,
      clientMessageId: 'shallow-1',
      text: 'shallow',
      metadata: { a: nested(3) },
    });
    expect(shallow).toMatchObject({ type: 'ack' });
    expect((await chat.engine.history(chat.alice.id, { roomId })).messages.map((m) => m.text)).toEqual([
      'shallow',
    ]);
  });

  it('answers metadata.workflow in a send or an edit with validation_failed naming it: only the server sets it', async () => {
    const alice = await TestClient.as(served.url, 'token-alice');
    const workflow = { workflowId: 'w', runId: 'r', startedBy: chat.alice.id };
    const refused = {
      type: 'error',
      code: 'validation_failed',
      details: { issues: [{ path: ['metadata.workflow'] }] },
    };
    expect(
      await alice.request({
        type: 'send',
        roomId,
        clientMessageId: 'forged-1',
        text: 'forged',
        metadata: { workflow },
      }),
    ).toMatchObject(refused);
    const sent = await alice.request({ type: 'send', roomId, clientMessageId: 'plain-1', text: 'plain' });
    const messageId = (sent.message as { id: string }).id;
    expect(
      await alice.request({ type: 'edit', messageId, text: 'forged', metadata: { workflow } }),
    ).toMatchObject(refused);
    expect((await chat.engine.history(chat.alice.id, { roomId })).messages.map((m) => m.metadata)).toEqual([
      {},
    ]);
  });

  it('answers a lone surrogate in the text with validation_failed naming text, storing nothing', async () => {
    const alice = await TestClient.as(served.url, 'token-alice');
    // JSON.stringify writes a lone surrogate as the escape \ud800, which JSON.parse turns back into it.
    const reply = await alice.request({
      type: 'send',
      roomId,
      clientMessageId: 'half-1',
      text: 'half \ud83d of an emoji',
    });
    expect(reply).toMatchObject({
      type: 'error',
      code: 'validation_failed',
      details: { issues: [{ path: ['text'] }] },
    });
    expect((await chat.engine.history(chat.alice.id, { roomId })).messages).toEqual([]);
  });
});
