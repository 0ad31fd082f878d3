import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

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

  it('answers unknown routes and methods with 404 not_found and broken JSON with 400 bad_request', async () => {
    const unknown = await rawRequest(
      port,
      'GET /nothing HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\n\r\n',
    );
    expect(unknown.status).toBe(404);
    expectKaiwaError(unknown.body, 'not_found');
    // Fastify has no 405: a method no route takes is an unknown route.
    const method = await rawRequest(
      port,
      'PROPFIND /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\n\r\n',
    );
    expect(method.status).toBe(404);
    expectKaiwaError(method.body, 'not_found');
    const broken = await rawRequest(
      port,
      'POST /api/v1/rooms HTTP/1.1\r\nHost: kaiwa\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${token}\r\nContent-Length: 9\r\n\r\n{"kind": `,
    );
    expect(broken.status).toBe(400);
    expectKaiwaError(broken.body, 'bad_request');
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
