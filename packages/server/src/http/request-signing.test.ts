import type { User } from '@kaiwa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, TEST_PASSWORD, type TestServer } from '../test-support.js';
import { InMemoryNonceStore } from './request-signing.js';
import { canonicalQuery, SIGNATURE_HEADERS, signRequest, stringToSign } from './signed-request.js';

/*
 * Signed requests end to end: keys made over REST, requests signed with the client helper and sent to a
 * composed server on SQLite. Admin routes and bots are configured to require signatures.
 */

describe('the string to sign', () => {
  it('sorts the query as sent and keeps the path apart', () => {
    expect(canonicalQuery('?b=2&a=1&&c=%20')).toBe('a=1&b=2&c=%20');
    expect(
      stringToSign({
        method: 'post',
        target: '/api/v1/users?z=1&a=2',
        timestamp: '1700000000',
        nonce: 'n'.repeat(16),
        bodyHash: 'h',
      }),
    ).toBe(`KAIWA-HMAC-SHA256-V1\nPOST\n/api/v1/users\na=2&z=1\n1700000000\n${'n'.repeat(16)}\nh`);
  });

  it('forgets a nonce only after its time to live', async () => {
    let now = 1_000;
    const nonces = new InMemoryNonceStore(() => now);
    expect(await nonces.claim('k:a', 100)).toBe(true);
    expect(await nonces.claim('k:a', 100)).toBe(false);
    now += 101;
    expect(await nonces.claim('k:a', 100)).toBe(true);
  });
});

describe('signed requests on the server', () => {
  let test: TestServer;
  let adminToken: string;
  let adminId: string;
  let bot: User;

  beforeAll(async () => {
    test = await startTestServer({ requireSignedRequests: ['admin', 'bot'] });
    const admin = await test.signedIn('admin');
    adminToken = admin.token;
    adminId = admin.user.id;
    bot = (await test.server.accounts.createAccount({ username: 'signed-bot', role: 'bot' })).user;
  });
  afterAll(async () => {
    await test?.close();
  });

  /** Makes a key with a signed admin request (the admin's own first key is made as `kaiwa create-signing-key` does). */
  async function signingKeyFor(userId: string): Promise<{ keyId: string; secret: string }> {
    const { user: admin } = await test.server.accounts.createAccount({
      username: `key-maker-${Math.random().toString(36).slice(2, 8)}`,
      role: 'admin',
      password: TEST_PASSWORD,
    });
    // The first key of an admin cannot be made by a signed request: make it as the CLI does.
    const { secret, apiKey } = await signingOf(test).createSigningKey(admin, admin.id, 'bootstrap');
    const body = JSON.stringify({ name: 'deploy' });
    const url = `/api/v1/users/${userId}/signing-keys`;
    const response = await test.server.app.inject({
      method: 'POST',
      url,
      payload: body,
      headers: {
        'content-type': 'application/json',
        ...signRequest({ keyId: apiKey.id, secret, method: 'POST', url, body }),
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    const created = response.json() as { keyId: string; secret: string };
    expect(created.secret).toMatch(/^kss_/);
    return created;
  }

  function signed(
    key: { keyId: string; secret: string },
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
    overrides: { timestamp?: number; nonce?: string } = {},
  ) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = signRequest({ ...key, method, url, ...(payload ? { body: payload } : {}), ...overrides });
    return {
      headers,
      send: (extra: Record<string, string> = {}, sentPayload = payload) =>
        test.server.app.inject({
          method,
          url,
          headers: { ...(sentPayload ? { 'content-type': 'application/json' } : {}), ...headers, ...extra },
          ...(sentPayload ? { payload: sentPayload } : {}),
        }),
    };
  }

  it('refuses unsigned calls to admin routes and from bots, and lets members call as before', async () => {
    const unsignedAdmin = await test.call('GET', '/api/v1/admin/audit', { token: adminToken });
    expect(unsignedAdmin.statusCode).toBe(401);
    expect(unsignedAdmin.json()).toMatchObject({ error: { code: 'signature_required' } });

    const member = await test.signedIn('member');
    const rooms = await test.call('GET', '/api/v1/rooms', { token: member.token });
    expect(rooms.statusCode).toBe(200);
    // A bearer admin token still works where the route is not admin-only.
    expect((await test.call('GET', '/api/v1/rooms', { token: adminToken })).statusCode).toBe(200);

    const { key } = await test.server.accounts.createApiKey(bot.id, 'plain');
    const unsignedBot = await test.server.app.inject({
      method: 'GET',
      url: '/api/v1/rooms',
      headers: { 'x-api-key': key },
    });
    expect(unsignedBot.statusCode).toBe(401);
    expect(unsignedBot.json()).toMatchObject({ error: { code: 'signature_required' } });
  });

  it('accepts a signed admin request with a body, and a signed bot request', async () => {
    // An admin makes keys for bots and for themselves only.
    const forOtherAdmin = await signedAsNewAdmin('POST', `/api/v1/users/${adminId}/signing-keys`, {
      name: 'not mine',
    });
    expect(forOtherAdmin.statusCode).toBe(403);
    const botKey = await signingKeyFor(bot.id);
    const room = await signed(botKey, 'POST', '/api/v1/rooms', {
      name: `signed-${Date.now()}`,
      kind: 'channel',
    }).send();
    expect(room.statusCode, room.body).toBe(201);
    const list = await signed(botKey, 'GET', '/api/v1/rooms?limit=5&archived=false').send();
    expect(list.statusCode, list.body).toBe(200);
  });

  it('refuses a changed body, path, method or query, a replay, a stale timestamp and a revoked key', async () => {
    const key = await signingKeyFor(bot.id);
    const body = { name: `tamper-${Date.now()}`, kind: 'channel' };

    const changedBody = signed(key, 'POST', '/api/v1/rooms', body);
    const tampered = await changedBody.send({}, JSON.stringify({ ...body, name: 'other' }));
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json()).toMatchObject({ error: { code: 'bad_signature' } });

    const forQuery = signed(key, 'GET', '/api/v1/rooms?limit=5');
    const otherQuery = await test.server.app.inject({
      method: 'GET',
      url: '/api/v1/rooms?limit=50',
      headers: forQuery.headers,
    });
    expect(otherQuery.json()).toMatchObject({ error: { code: 'bad_signature' } });

    const once = signed(key, 'GET', '/api/v1/rooms');
    expect((await once.send()).statusCode).toBe(200);
    const replay = await once.send();
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ error: { code: 'replayed_request' } });

    const stale = await signed(key, 'GET', '/api/v1/rooms', undefined, {
      timestamp: Math.floor(Date.now() / 1000) - 3600,
    }).send();
    expect(stale.json()).toMatchObject({ error: { code: 'stale_signature' } });

    const withBearer = await signed(key, 'GET', '/api/v1/rooms').send({
      authorization: `Bearer ${adminToken}`,
    });
    expect(withBearer.json()).toMatchObject({ error: { code: 'bad_signature' } });

    const wrongSecret = await test.server.app.inject({
      method: 'GET',
      url: '/api/v1/rooms',
      headers: signRequest({ keyId: key.keyId, secret: 'kss_wrong', method: 'GET', url: '/api/v1/rooms' }),
    });
    expect(wrongSecret.statusCode).toBe(401);

    // Rotation: a second key works beside the first; revoking the first leaves the second.
    const next = await signingKeyFor(bot.id);
    const revoke = await signedAsNewAdmin('DELETE', `/api/v1/users/${bot.id}/api-keys/${key.keyId}`);
    expect(revoke.statusCode, revoke.body).toBe(204);
    const revoked = await signed(key, 'GET', '/api/v1/rooms').send();
    expect(revoked.statusCode).toBe(401);
    expect((await signed(next, 'GET', '/api/v1/rooms').send()).statusCode).toBe(200);
  });

  it('never lets a signing secret work as an API key', async () => {
    const key = await signingKeyFor(bot.id);
    const response = await test.server.app.inject({
      method: 'GET',
      url: '/api/v1/rooms',
      headers: { 'x-api-key': key.secret },
    });
    expect(response.statusCode).toBe(401);
    expect(SIGNATURE_HEADERS.signature).toBe('x-kaiwa-signature');
  });

  async function signedAsNewAdmin(method: 'DELETE' | 'GET' | 'POST', url: string, body?: unknown) {
    const { user: admin } = await test.server.accounts.createAccount({
      username: `revoker-${Math.random().toString(36).slice(2, 8)}`,
      role: 'admin',
      password: TEST_PASSWORD,
    });
    const { secret, apiKey } = await signingOf(test).createSigningKey(admin, admin.id, 'bootstrap');
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return test.server.app.inject({
      method,
      url,
      headers: {
        ...(payload ? { 'content-type': 'application/json' } : {}),
        ...signRequest({ keyId: apiKey.id, secret, method, url, ...(payload ? { body: payload } : {}) }),
      },
      ...(payload ? { payload } : {}),
    });
  }
});

function signingOf(test: TestServer) {
  return test.server.signing;
}
