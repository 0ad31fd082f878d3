import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from './index.js';
import { type Chat, metricValue, openChat, type Served, serve, TestClient, until } from './test-support.js';

describe('realtime: authentication and connection lifecycle', () => {
  let chat: Chat;
  let served: Served | undefined;

  beforeEach(async () => {
    chat = await openChat();
  });

  afterEach(async () => {
    await served?.stop();
    served = undefined;
    await chat.close();
  });

  it('answers a good token with ready, the user and a session id', async () => {
    served = await serve(chat);
    const client = await TestClient.connect(served.url);
    const ready = await client.request({ type: 'auth', token: 'token-alice' });
    expect(ready).toMatchObject({ type: 'ready', user: { id: chat.alice.id, username: 'alice' } });
    expect(ready.sessionId).toMatch(/^[0-9A-Z]{26}$/);
    expect(typeof ready.serverTime).toBe('string');
    expect(served.realtime.connectionCount()).toBe(1);
    expect(await metricValue(served.registry, 'kaiwa_ws_connections')).toBe(1);
    await client.close();
    await until(() => served?.realtime.connectionCount() === 0);
  });

  it('closes with 4001 on a bad token and when the first frame is not auth', async () => {
    served = await serve(chat);
    const refused = await TestClient.connect(served.url);
    refused.send({ type: 'auth', token: 'token-mallory' });
    expect(await refused.closed).toEqual({
      code: CLOSE_CODES.authenticationFailed,
      reason: 'authentication failed',
    });

    const impatient = await TestClient.connect(served.url);
    impatient.send({ type: 'ping' });
    expect((await impatient.closed).code).toBe(CLOSE_CODES.authenticationFailed);

    const garbled = await TestClient.connect(served.url);
    garbled.send('{not json');
    expect((await garbled.closed).code).toBe(CLOSE_CODES.authenticationFailed);
  });

  it('closes with 4008 when no auth frame comes before the deadline', async () => {
    served = await serve(chat, { authTimeoutMs: 150 });
    const silent = await TestClient.connect(served.url);
    const started = Date.now();
    expect(await silent.closed).toEqual({
      code: CLOSE_CODES.authenticationTimeout,
      reason: 'authentication timeout',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });

  it('handles frames sent right behind the auth frame after authenticating', async () => {
    served = await serve(chat);
    const client = await TestClient.connect(served.url);
    client.send({ type: 'auth', token: 'token-bob', id: 'a' });
    client.send({ type: 'ping', id: 'p' });
    const pong = await client.waitFor((frame) => frame.id === 'p');
    expect(pong.type).toBe('pong');
    expect(client.frames.findIndex((frame) => frame.type === 'ready')).toBeLessThan(
      client.frames.indexOf(pong),
    );
    // A token for the same user renews the connection; one for someone else is refused.
    const again = await client.request({ type: 'auth', token: 'token-bob' });
    expect(again).toMatchObject({ type: 'reauthenticated' });
    const other = await client.request({ type: 'auth', token: 'token-alice' });
    expect(other).toMatchObject({ type: 'error', code: 'already_authenticated' });
  });

  it('terminates a peer that stops answering pings, and keeps one that answers', async () => {
    served = await serve(chat, { heartbeatIntervalMs: 50 });
    const dead = await TestClient.as(served.url, 'token-alice', { autoPong: false });
    const healthy = await TestClient.as(served.url, 'token-bob');
    expect((await dead.closed).code).toBe(1006);
    await until(() => served?.realtime.connectionCount() === 1);
    expect(healthy.socket.readyState).toBe(healthy.socket.OPEN);
    const pong = await healthy.request({ type: 'ping' });
    expect(pong.type).toBe('pong');
  });

  it('close() sends 1001 to every connection and refuses new ones', async () => {
    served = await serve(chat);
    const first = await TestClient.as(served.url, 'token-alice');
    const second = await TestClient.connect(served.url);
    await served.realtime.close();
    expect((await first.closed).code).toBe(CLOSE_CODES.goingAway);
    expect((await second.closed).code).toBe(CLOSE_CODES.goingAway);
    expect(served.realtime.connectionCount()).toBe(0);
    await expect(TestClient.connect(served.url)).rejects.toThrow();
  });

  it('answers upgrades on other paths with 404', async () => {
    served = await serve(chat);
    await expect(TestClient.connect(served.url.replace('/ws', '/other'))).rejects.toThrow(/404/);
  });
});
