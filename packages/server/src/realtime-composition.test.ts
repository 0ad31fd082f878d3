import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from './test-support.js';

/** A WebSocket client that keeps every frame it receives. */
async function connect(url: string) {
  const socket = new WebSocket(url);
  const frames: { type: string; [key: string]: unknown }[] = [];
  // The server may batch frames into one JSON array.
  socket.on('message', (data) => frames.push(...[JSON.parse(String(data))].flat()));
  await once(socket, 'open');
  const next = async (type: string, timeoutMs = 5000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const index = frames.findIndex((frame) => frame.type === type);
      if (index >= 0) return frames.splice(index, 1)[0]!;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no ${type} frame; got ${JSON.stringify(frames)}`);
  };
  return { socket, next, send: (frame: object) => socket.send(JSON.stringify(frame)) };
}

describe('realtime on the server', () => {
  let test: TestServer;
  let url: string;
  beforeAll(async () => {
    test = await startTestServer({ port: 0, host: '127.0.0.1' });
    url = `${(await test.server.listen()).replace('http', 'ws')}/ws`;
  });
  afterAll(() => test.close());

  it('authenticates with the REST access token and delivers changes made over REST', async () => {
    const { token, user } = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'live' } })
    ).json();
    const client = await connect(url);
    client.send({ type: 'auth', token });
    expect(await client.next('ready')).toMatchObject({ user: expect.objectContaining({ id: user.id }) });
    client.send({ type: 'subscribe', roomId: room.id, lastSeq: 0 });
    await client.next('subscribed');
    await test.call('POST', `/api/v1/rooms/${room.id}/messages`, { token, body: { text: 'over REST' } });
    const event = await client.next('message.created');
    expect(event).toMatchObject({ roomId: room.id, seq: 1, payload: { message: { text: 'over REST' } } });
    expect(test.server.realtime.connectionCount()).toBe(1);
    client.socket.close();
  });

  it('accepts bot API keys and refuses bad tokens and users who must change their password', async () => {
    const bot = await test.server.accounts.createAccount({ username: 'live-bot', role: 'bot' });
    const { key } = await test.server.accounts.createApiKey(bot.user.id, 'live');
    const botClient = await connect(url);
    botClient.send({ type: 'auth', token: key });
    await botClient.next('ready');
    botClient.socket.close();

    const { password } = await test.server.accounts.createAccount({
      username: 'fresh-person',
      role: 'member',
    });
    const pending = await test.server.accounts.login('fresh-person', password!);
    for (const token of ['not-a-token', pending.accessToken]) {
      const client = await connect(url);
      const closed = once(client.socket, 'close') as Promise<[number, Buffer]>;
      client.send({ type: 'auth', token });
      expect((await closed)[0]).toBe(4001);
    }
  });
});
