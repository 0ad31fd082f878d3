import { connect } from 'node:net';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerMetrics } from '../operations/server-metrics.js';
import { startTestServer, type TestServer } from '../test-support.js';
import { allowedMethods, installErrorHandling } from './error-handler.js';

/** Writes `request` to a fresh TCP connection and resolves with everything the server sent back. */
function rawRequest(
  port: number,
  request: string,
): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = received.split('\r\n\r\n', 2);
      resolve({ status: Number(head.split(' ')[1]), headers: head, body });
    });
    setTimeout(() => socket.destroy(new Error(`no answer in 5 s; got ${received.slice(0, 200)}`)), 5000);
  });
}

const expectKaiwaError = (body: string, code: string) => {
  expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String) } });
};

describe('every error in the one error format, also those Fastify and Node answer themselves', () => {
  let test: TestServer;
  let port: number;
  let token: string;
  beforeAll(async () => {
    test = await startTestServer({ host: '127.0.0.1', port: 0 });
    port = Number(new URL(await test.server.listen()).port);
    token = (await test.signedIn('member')).token;
  });
  afterAll(() => test.close());

  it('answers a path parameter over the router limit with 414 uri_too_long', async () => {
    // GET has the web UI's catch-all to fall back to; POST finds only the parametric route and gives up.
    const answer = await rawRequest(
      port,
      `POST /api/v1/rooms/${'a'.repeat(300)}/messages HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\n` +
        'Content-Length: 0\r\n\r\n',
    );
    expect(answer.status).toBe(414);
    expectKaiwaError(answer.body, 'uri_too_long');
  });

  it('answers headers over the size limit with 431 headers_too_large, closing the connection', async () => {
    const answer = await rawRequest(
      port,
      `GET /health HTTP/1.1\r\nHost: kaiwa\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
    expect(answer.headers).toMatch(/^Connection: close$/im);
    expectKaiwaError(answer.body, 'headers_too_large');
    // A URL beyond the header limit is the same overflow for Node's parser.
    const longUrl = await rawRequest(
      port,
      `GET /health?${'q'.repeat(20_000)} HTTP/1.1\r\nHost: kaiwa\r\n\r\n`,
    );
    expect(longUrl.status).toBe(431);
    expectKaiwaError(longUrl.body, 'headers_too_large');
  });

  it('answers requests Node cannot parse with 400 bad_request', async () => {
    for (const request of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'FOO /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\n\r\n',
      'POST /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\nContent-Length: abc\r\n\r\n',
      'POST /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]) {
      const answer = await rawRequest(port, request);
      expect(answer.status, request).toBe(400);
      expectKaiwaError(answer.body, 'bad_request');
    }
  });

  it('answers unknown routes with 404 not_found, unknown methods with 405 and broken JSON with 400', async () => {
    const unknown = await rawRequest(
      port,
      'GET /nothing HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\n\r\n',
    );
    expect(unknown.status).toBe(404);
    expectKaiwaError(unknown.body, 'not_found');
    // A method no route at a known path takes: 405, saying which methods it takes.
    const method = await rawRequest(
      port,
      'PROPFIND /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\n\r\n',
    );
    expect(method.status).toBe(405);
    expect(method.headers).toMatch(/^allow: GET, HEAD, POST$/im);
    expectKaiwaError(method.body, 'method_not_allowed');
    const broken = await rawRequest(
      port,
      'POST /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${token}\r\nContent-Length: 9\r\n\r\n{"kind": `,
    );
    expect(broken.status).toBe(400);
    expectKaiwaError(broken.body, 'bad_request');
  });
});

describe('405 method_not_allowed', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(() => test.close());

  it('answers a method no route takes at a known path with 405 and Allow, before authentication', async () => {
    const rooms = await test.call('PUT', '/api/v1/rooms');
    expect(rooms.statusCode).toBe(405);
    expect(rooms.headers.allow).toBe('GET, HEAD, POST');
    expectKaiwaError(rooms.body, 'method_not_allowed');
    // Path parameters and query strings count as the route they match.
    const room = await test.call('POST', `/api/v1/rooms/${'0'.repeat(26)}?x=1`);
    expect(room.statusCode).toBe(405);
    expect(room.headers.allow).toBe('GET, HEAD, PATCH');
    const login = await test.call('GET', '/api/v1/auth/login');
    expect(login.statusCode).toBe(405);
    expect(login.headers.allow).toBe('POST');
    const health = await test.call('DELETE', '/health');
    expect(health.statusCode).toBe(405);
    expect(health.headers.allow).toBe('GET, HEAD');
  });

  it('still answers unknown paths with 404, whatever the method', async () => {
    for (const [method, url] of [
      ['PUT', '/api/v1/nothing'],
      ['GET', '/api/v1/rooms/x/y/z'],
      ['DELETE', '/api/v1'],
      ['GET', '/nothing'],
    ] as const) {
      const answer = await test.call(method, url);
      expect(answer.statusCode, `${method} ${url}`).toBe(404);
      expect(answer.headers.allow, `${method} ${url}`).toBeUndefined();
      expectKaiwaError(answer.body, 'not_found');
    }
  });

  it('does not count catch-all routes: a path only a wildcard matches is unknown', async () => {
    const app = Fastify();
    installErrorHandling(app, new ServerMetrics());
    app.get('/*', (_request, reply) => reply.callNotFound());
    app.get('/pages/:page', async () => 'page');
    app.post('/pages/:page', async () => 'saved');
    await app.ready();
    try {
      expect(allowedMethods(app, '/pages/one')).toEqual(['GET', 'HEAD', 'POST']);
      expect(allowedMethods(app, '/elsewhere')).toEqual([]);
      const unknown = await app.inject({ method: 'PUT', url: '/elsewhere' });
      expect(unknown.statusCode).toBe(404);
      const fallback = await app.inject({ method: 'GET', url: '/elsewhere' });
      expect(fallback.statusCode).toBe(404);
      const wrong = await app.inject({ method: 'DELETE', url: '/pages/one' });
      expect(wrong.statusCode).toBe(405);
      expect(wrong.headers.allow).toBe('GET, HEAD, POST');
    } finally {
      await app.close();
    }
  });
});

describe('while closing', () => {
  it('answers 503 unavailable in the one format', async () => {
    const test = await startTestServer({ host: '127.0.0.1', port: 0 });
    const port = Number(new URL(await test.server.listen()).port);
    // Hold the shutdown in its first steps (closing the sockets), while the listener still takes requests.
    let release = (): void => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const closeRealtime = test.server.realtime.close.bind(test.server.realtime);
    test.server.realtime.close = async () => {
      await held;
      await closeRealtime();
    };
    const closed = test.close();
    try {
      const answer = await rawRequest(port, 'GET /health HTTP/1.1\r\nHost: kaiwa\r\n\r\n');
      expect(answer.status).toBe(503);
      expect(answer.headers).toMatch(/^connection: close$/im);
      expectKaiwaError(answer.body, 'unavailable');
    } finally {
      release();
      await closed;
    }
  });
});
