import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';
import { MAX_JSON_BODY_DEPTH } from './json-body.js';

/** `{ a: { a: … 1 } }`, `depth` objects deep. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}

describe('hostile REST input answers 400 naming the field', () => {
  let test: TestServer;
  let token: string;
  let roomId: string;
  beforeAll(async () => {
    test = await startTestServer();
    token = (await test.signedIn('member')).token;
    const room = await test.call('POST', '/api/v1/rooms', {
      token,
      body: { kind: 'channel', name: 'hostile' },
    });
    roomId = room.json().room?.id ?? room.json().id;
  });
  afterAll(() => test.close());

  const send = (body: unknown) => test.call('POST', `/api/v1/rooms/${roomId}/messages`, { token, body });

  it('refuses metadata 1,900 levels deep (11 KB; once a 500 with a stack) with validation_failed on metadata', async () => {
    const response = await send({ text: 'deep', metadata: nested(1900) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'validation_failed',
      details: {
        issues: [{ path: ['metadata'], message: `is nested deeper than ${MAX_JSON_BODY_DEPTH} levels` }],
      },
    });
  });

  it('refuses metadata past the metadata depth bound, within the body bound, naming metadata', async () => {
    const response = await send({ text: 'deep', metadata: nested(40) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'validation_failed',
      details: { issues: [{ path: ['metadata'], message: 'must be nested at most 32 levels deep' }] },
    });
  });

  it('refuses any JSON body nested past the bound on every route, before the route runs', async () => {
    // 150,000 levels in 900 KB: parsing is iterative, but JSON.stringify of it would overflow the stack
    // (which is why the body is written out by hand here).
    const levels = 150_000;
    const response = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/rooms',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: `{"kind":"channel","name":"x","topic":${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'validation_failed',
      details: { issues: [{ path: ['topic'] }] },
    });
    const array = await test.call('POST', '/api/v1/rooms', { token, body: [nested(MAX_JSON_BODY_DEPTH)] });
    expect(array.statusCode).toBe(400);
    expect(array.json().error.details.issues[0].path).toEqual([0]);
  });

  it('still refuses prototype poisoning and broken JSON as before', async () => {
    const poisoned = await test.server.app.inject({
      method: 'POST',
      url: `/api/v1/rooms/${roomId}/messages`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"text":"x","__proto__":{"admin":true}}',
    });
    expect(poisoned.statusCode).toBe(400);
    expect(poisoned.json().error.code).toBe('bad_request');
  });

  it('refuses a lone surrogate in message text with validation_failed on text, storing nothing', async () => {
    const response = await send({ text: 'half \ud83d of an emoji' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({
      code: 'validation_failed',
      details: { issues: [{ path: ['text'] }] },
    });
    const history = await test.call('GET', `/api/v1/rooms/${roomId}/messages`, { token });
    expect(history.json().messages).toEqual([]);
  });

  it('accepts shallow metadata and well-formed text', async () => {
    const response = await send({ text: 'fine 😀', metadata: { a: nested(5) } });
    expect(response.statusCode).toBe(201);
    expect(response.json().message?.text ?? response.json().text).toBe('fine 😀');
  });
});
