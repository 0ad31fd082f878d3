import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';

describe('one error format', () => {
  let test: TestServer;
  let token: string;
  beforeAll(async () => {
    test = await startTestServer({ loginRateLimitPerMinute: 3 });
    token = (await test.signedIn('member')).token;
  });
  afterAll(() => test.close());

  const expectErrorShape = (body: unknown, code: string) => {
    expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  };

  it('answers unknown routes with 404 not_found, under the API and outside it', async () => {
    for (const url of ['/api/v1/nothing-here', '/nothing-here', '/api/v2/rooms']) {
      const response = await test.call('GET', url, { token });
      expect(response.statusCode).toBe(404);
      expectErrorShape(response.json(), 'not_found');
    }
  });

  it('answers a body over the limit with 413', async () => {
    const response = await test.call('POST', '/api/v1/rooms', {
      token,
      body: { kind: 'channel', name: 'big', topic: 'x'.repeat(2 * 1024 * 1024) },
    });
    expect(response.statusCode).toBe(413);
    expectErrorShape(response.json(), 'payload_too_large');
  });

  it('answers broken JSON with 400 and a wrong content type with 415', async () => {
    const broken = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/rooms',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"kind": ',
    });
    expect(broken.statusCode).toBe(400);
    expectErrorShape(broken.json(), 'bad_request');
    const xml = await test.server.app.inject({
      method: 'POST',
      url: '/api/v1/rooms',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/xml' },
      payload: '<room/>',
    });
    expect(xml.statusCode).toBe(415);
    expectErrorShape(xml.json(), 'unsupported_media_type');
  });

  it('rate-limits sign-in with 429 and Retry-After', async () => {
    const attempt = () =>
      test.call('POST', '/api/v1/auth/login', {
        body: { username: 'admin', password: 'guessing-1234' },
        headers: { 'x-forwarded-for': '203.0.113.9' },
      });
    const statuses = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await attempt()).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const limited = await attempt();
    expect(limited.statusCode).toBe(429);
    expectErrorShape(limited.json(), 'rate_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers unexpected failures with 500 and nothing from the inside', async () => {
    const spy = vi
      .spyOn(test.server.engine, 'listRooms')
      .mockRejectedValueOnce(new Error('connect ECONNREFUSED postgres://kaiwa:hunter2@10.0.0.5/kaiwa'));
    const response = await test.call('GET', '/api/v1/rooms', { token });
    spy.mockRestore();
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'internal', message: 'internal server error' } });
    expect(response.body).not.toContain('hunter2');
    expect(response.body).not.toContain('ECONNREFUSED');
  });

  it('echoes a sane X-Request-Id and makes one up otherwise', async () => {
    const given = await test.call('GET', '/health', { headers: { 'x-request-id': 'trace-42' } });
    expect(given.headers['x-request-id']).toBe('trace-42');
    const made = await test.call('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('security headers', () => {
  it('sends a nonce-based CSP without unsafe-inline, HSTS and the other headers in production', async () => {
    // Without a built UI, `/` is the server's own page with an inline style under the nonce.
    const test = await startTestServer({
      nodeEnvironment: 'production',
      uiDirectory: join(tmpdir(), 'kaiwa-no-ui'),
    });
    try {
      const page = await test.call('GET', '/', { headers: { accept: 'text/html' } });
      expect(page.statusCode).toBe(200);
      const csp = page.headers['content-security-policy'] as string;
      const nonce = /'nonce-([0-9a-f]{32})'/.exec(csp)?.[1];
      expect(nonce).toBeDefined();
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain("object-src 'none'");
      expect(csp).toContain('report-uri /api/v1/csp-report');
      expect(csp).toContain('upgrade-insecure-requests');
      expect(page.body).toContain(`nonce="${/style-src[^;]*'nonce-([0-9a-f]{32})'/.exec(csp)?.[1]}"`);
      expect(page.body).toContain('UI is still being built');
      expect(page.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      expect(page.headers['referrer-policy']).toBe('no-referrer');
      expect(page.headers['permissions-policy']).toContain('geolocation=()');

      // Every answer gets a fresh nonce.
      const again = await test.call('GET', '/', { headers: { accept: 'text/html' } });
      expect(again.headers['content-security-policy']).not.toContain(nonce);
    } finally {
      await test.close();
    }
  });

  it('leaves HSTS off outside production', async () => {
    const test = await startTestServer();
    try {
      const response = await test.call('GET', '/health');
      expect(response.headers['strict-transport-security']).toBeUndefined();
      expect(response.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
    } finally {
      await test.close();
    }
  });

  it('takes CSP reports', async () => {
    const test = await startTestServer();
    try {
      const response = await test.server.app.inject({
        method: 'POST',
        url: '/api/v1/csp-report',
        headers: { 'content-type': 'application/csp-report' },
        payload: JSON.stringify({
          'csp-report': { 'violated-directive': 'script-src', 'blocked-uri': 'inline' },
        }),
      });
      expect(response.statusCode).toBe(204);
    } finally {
      await test.close();
    }
  });

  it('allows the configured CORS origins only', async () => {
    const test = await startTestServer({ corsOrigins: ['https://chat.example.com'] });
    try {
      const preflight = (origin: string) =>
        test.server.app.inject({
          method: 'OPTIONS',
          url: '/api/v1/rooms',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization',
          },
        });
      const allowed = await preflight('https://chat.example.com');
      expect(allowed.headers['access-control-allow-origin']).toBe('https://chat.example.com');
      const other = await preflight('https://evil.example');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await test.close();
    }
  });
});

describe('operations', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(() => test.close());

  it('says the process is up and the store is ready', async () => {
    expect((await test.call('GET', '/health')).json()).toMatchObject({ status: 'ok' });
    expect((await test.call('GET', '/ready')).json()).toEqual({ status: 'ready', bus: 'memory' });
  });

  it('answers /ready with 503 when the store is gone', async () => {
    const store = await createSqliteStore({ filename: ':memory:' });
    const broken = await startTestServer({}, { store });
    try {
      await store.close();
      const response = await broken.call('GET', '/ready');
      expect(response.statusCode).toBe(503);
      expect(response.json().error.code).toBe('unavailable');
      expect((await broken.call('GET', '/health')).statusCode).toBe(200);
    } finally {
      await broken.close();
    }
  });

  it('exposes Prometheus metrics by route pattern, for messages, storage, uploads, errors and WebSockets', async () => {
    const { token } = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'metered' } })
    ).json();
    await test.call('POST', `/api/v1/rooms/${room.id}/messages`, { token, body: { text: 'count me' } });
    await test.call('GET', `/api/v1/rooms/${room.id}`, { token });
    await test.call('GET', '/api/v1/does-not-exist');

    const response = await test.call('GET', '/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toContain(
      'kaiwa_http_requests_total{method="GET",route="/api/v1/rooms/:roomId",status_code="200"} 1',
    );
    expect(text).toContain('kaiwa_http_requests_total{method="GET",route="unmatched",status_code="404"} 1');
    expect(text).toMatch(
      /kaiwa_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/v1\/rooms"/,
    );
    expect(text).toContain('kaiwa_messages_sent_total 1');
    expect(text).toMatch(
      /kaiwa_store_query_duration_seconds_count\{repository="messages",method="insert"\} 1/,
    );
    expect(text).toContain('kaiwa_errors_total{code="not_found"} 1');
    expect(text).toContain('kaiwa_uploads_total');
    expect(text).toContain('kaiwa_ws_connections 0');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('guards /metrics with a token when one is configured', async () => {
    const guarded = await startTestServer({ metricsToken: 'metrics-secret-123456' });
    try {
      expect((await guarded.call('GET', '/metrics')).statusCode).toBe(401);
      expect((await guarded.call('GET', '/metrics', { token: 'wrong-secret-1234567' })).statusCode).toBe(401);
      expect((await guarded.call('GET', '/metrics', { token: 'metrics-secret-123456' })).statusCode).toBe(
        200,
      );
    } finally {
      await guarded.close();
    }
  });

  it('compresses large JSON answers and leaves small ones alone', async () => {
    const { token } = await test.signedIn('member');
    const room = (
      await test.call('POST', '/api/v1/rooms', { token, body: { kind: 'channel', name: 'chatty' } })
    ).json();
    for (let index = 0; index < 20; index += 1) {
      await test.call('POST', `/api/v1/rooms/${room.id}/messages`, {
        token,
        body: { text: `message number ${index}` },
      });
    }
    const large = await test.call('GET', `/api/v1/rooms/${room.id}/messages`, {
      token,
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(large.headers['content-encoding']).toBe('gzip');
    const page = JSON.parse(gunzipSync(large.rawPayload).toString());
    expect(page.messages).toHaveLength(20);
    expect(large.rawPayload.length).toBeLessThan(JSON.stringify(page).length);
    const small = await test.call('GET', '/health', { headers: { 'accept-encoding': 'gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});

describe('OpenAPI document', () => {
  let test: TestServer;
  let document: {
    openapi: string;
    paths: Record<string, Record<string, { responses?: Record<string, unknown>; security?: unknown[] }>>;
    components: { schemas: Record<string, object> };
  };
  beforeAll(async () => {
    test = await startTestServer({ allowSignup: true });
    const response = await test.call('GET', '/api/docs/json');
    expect(response.statusCode).toBe(200);
    document = response.json();
  });
  afterAll(() => test.close());

  it('lists every API route', () => {
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    for (const route of [
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/refresh',
      'POST /api/v1/auth/logout',
      'POST /api/v1/auth/change-password',
      'POST /api/v1/auth/signup',
      'GET /api/v1/auth/me',
      'GET /api/v1/users',
      'POST /api/v1/users',
      'GET /api/v1/users/{userId}',
      'PATCH /api/v1/users/{userId}',
      'POST /api/v1/users/{userId}/api-keys',
      'DELETE /api/v1/users/{userId}/api-keys/{apiKeyId}',
      'GET /api/v1/rooms',
      'GET /api/v1/rooms/channels',
      'POST /api/v1/rooms',
      'POST /api/v1/rooms/direct',
      'GET /api/v1/rooms/{roomId}',
      'PATCH /api/v1/rooms/{roomId}',
      'POST /api/v1/rooms/{roomId}/join',
      'POST /api/v1/rooms/{roomId}/leave',
      'GET /api/v1/rooms/{roomId}/members',
      'POST /api/v1/rooms/{roomId}/members',
      'DELETE /api/v1/rooms/{roomId}/members/{userId}',
      'GET /api/v1/rooms/{roomId}/messages',
      'POST /api/v1/rooms/{roomId}/messages',
      'GET /api/v1/rooms/{roomId}/events',
      'POST /api/v1/rooms/{roomId}/read',
      'GET /api/v1/messages/{messageId}',
      'PATCH /api/v1/messages/{messageId}',
      'DELETE /api/v1/messages/{messageId}',
      'POST /api/v1/messages/{messageId}/reactions',
      'DELETE /api/v1/messages/{messageId}/reactions/{emoji}',
      'GET /api/v1/search',
      'GET /api/v1/projects',
      'POST /api/v1/projects',
      'PATCH /api/v1/projects/{projectId}',
      'GET /api/v1/tickets',
      'POST /api/v1/tickets',
      'PATCH /api/v1/tickets/{ticketId}',
      'POST /api/v1/files',
      'GET /api/v1/files/{fileId}/content',
      'GET /health',
      'GET /ready',
      'GET /metrics',
    ]) {
      expect(operations).toContain(route);
    }
    expect(operations.some((operation) => operation.includes('/api/docs'))).toBe(false);
  });

  it('is a valid document: every reference resolves and every schema compiles', () => {
    const text = JSON.stringify(document);
    for (const [, reference] of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      expect(document.components.schemas, reference).toHaveProperty(reference!);
    }
    // The document is one JSON Schema resource, so its internal references resolve; every schema in it compiles.
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const base = 'https://kaiwa.invalid/openapi.json';
    ajv.addSchema({ ...document, $id: base });
    const pointer = (...segments: string[]) =>
      segments.map((segment) => segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
    let compiled = 0;
    for (const name of Object.keys(document.components.schemas)) {
      expect(
        () => ajv.compile({ $ref: `${base}#/${pointer('components', 'schemas', name)}` }),
        name,
      ).not.toThrow();
      compiled += 1;
    }
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        const responses = (operation.responses ?? {}) as Record<
          string,
          { content?: Record<string, unknown> }
        >;
        expect(Object.keys(responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(responses)) {
          for (const mediaType of Object.keys(response.content ?? {})) {
            const at = pointer('paths', path, method, 'responses', status, 'content', mediaType, 'schema');
            expect(
              () => ajv.compile({ $ref: `${base}#/${at}` }),
              `${method} ${path} ${status}`,
            ).not.toThrow();
            compiled += 1;
          }
        }
      }
    }
    expect(compiled).toBeGreaterThan(50);
    expect(document.components.schemas).toHaveProperty('Error');
  });

  it('documents security, public routes and the multipart upload', () => {
    expect(document.paths['/api/v1/auth/login']?.post?.security).toEqual([]);
    expect(document.paths['/api/v1/rooms']?.get?.security).toBeUndefined();
    const upload = document.paths['/api/v1/files']?.post as {
      requestBody?: { content: Record<string, unknown> };
    };
    expect(Object.keys(upload.requestBody?.content ?? {})).toEqual(['multipart/form-data']);
  });

  it('serves the documentation page', async () => {
    const page = await test.call('GET', '/api/docs');
    expect([200, 302]).toContain(page.statusCode);
  });
});
