import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPluginFolder } from '../../plugins/src/test-support/build-plugin.js';
import { startTestServer, type TestServer } from './test-support.js';

/*
 * Plugins' HTTP routes served by the server at /plugins/<id>/…: the example Hello plugin (a GET and a POST
 * route) and the `http` test fixture (routes that echo what they were given, and ones that misbehave: hang past
 * the 500 ms deadline, set a cookie, serve HTML), both running in the sandboxed process runtime.
 */

const HELLO = fileURLToPath(new URL('../../../examples/plugin-hello', import.meta.url));
const HTTP_FIXTURE = fileURLToPath(new URL('../../plugins/src/test-fixtures/http', import.meta.url));

let pluginDirectory = '';
let test: TestServer;
let member: Awaited<ReturnType<TestServer['signedIn']>>;

beforeAll(async () => {
  pluginDirectory = await mkdtemp(join(tmpdir(), 'kaiwa-plugin-routes-'));
  await rename(await buildPluginFolder(HELLO), join(pluginDirectory, 'hello'));
  await rename(await buildPluginFolder(HTTP_FIXTURE), join(pluginDirectory, 'http'));
  test = await startTestServer({ plugins: { directory: pluginDirectory, acceptUnisolatedNetwork: false } });
  member = await test.signedIn('member');
}, 60_000);

afterAll(async () => {
  await test?.close();
  if (pluginDirectory) await rm(pluginDirectory, { recursive: true, force: true });
});

describe('plugins’ HTTP routes', () => {
  it('serves the Hello plugin’s GET and POST routes to a signed-in user, with the server’s security headers', async () => {
    const got = await test.call('GET', '/plugins/hello/greeting', { token: member.token });
    expect(got.statusCode, got.body).toBe(200);
    expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(got.json()).toEqual({ greeting: 'Hello', greeted: 0 });
    expect(got.headers['content-security-policy']).toContain("default-src 'self'");
    expect(got.headers['x-content-type-options']).toBe('nosniff');
    expect(got.headers['x-ratelimit-limit']).toBe('600');
    // Counted per signed-in user: another's first call has the whole allowance less one.
    const other = await test.signedIn('member');
    const first = await test.call('GET', '/plugins/hello/greeting', { token: other.token });
    expect(first.headers['x-ratelimit-remaining']).toBe('599');

    const posted = await test.call('POST', '/plugins/hello/greetings/Ada?shout=1', {
      token: member.token,
      body: { punctuation: '?' },
    });
    expect(posted.statusCode, posted.body).toBe(201);
    expect(posted.json()).toEqual({ greeting: 'HELLO, ADA?', by: member.user.username });
  });

  it('hands the plugin path parameters, query, safe headers and the caller, never credentials or cookies', async () => {
    const response = await test.call('GET', '/plugins/http/items/a%20b?tag=x&tag=y&q=1', {
      token: member.token,
      headers: {
        accept: 'application/json',
        'user-agent': 'probe/1',
        cookie: 'session=secret',
        'x-custom': '1',
      },
    });
    expect(response.statusCode, response.body).toBe(200);
    const seen = response.json();
    expect(seen).toEqual({
      route: 'GET /items/:id',
      method: 'GET',
      path: '/items/a%20b',
      params: { id: 'a b' },
      query: { tag: ['x', 'y'], q: '1' },
      headers: { accept: 'application/json', 'user-agent': 'probe/1' },
      caller: { userId: member.user.id, username: member.user.username, role: 'member' },
    });
    expect(response.body).not.toContain(member.token);
    expect(response.body).not.toContain('secret');

    const text = await test.call('POST', '/plugins/http/echo', {
      token: member.token,
      headers: { 'content-type': 'text/plain' },
      body: 'plain words',
    });
    expect(text.statusCode, text.body).toBe(201);
    expect(text.headers['cache-control']).toBe('no-store');
    expect(text.json()).toMatchObject({ body: 'plain words', headers: { 'content-type': 'text/plain' } });
  });

  it('refuses callers without credentials unless the route is public; a public route sees no caller', async () => {
    for (const url of ['/plugins/hello/greeting', '/plugins/http/nope', '/plugins/nobody/anything']) {
      const refused = await test.call('GET', url);
      expect(refused.statusCode, url).toBe(401);
      expect(refused.json().error.code).toBe('unauthorized');
    }
    const invalid = await test.call('GET', '/plugins/hello/greeting', { token: 'not-a-token' });
    expect(invalid.statusCode).toBe(401);

    const hook = await test.call('POST', '/plugins/http/hooks/incoming', { body: { event: 'push' } });
    expect(hook.statusCode, hook.body).toBe(200);
    expect(hook.json()).toMatchObject({ caller: null, body: { event: 'push' } });
    const form = await test.call('POST', '/plugins/http/hooks/incoming', {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'payload=%7B%7D&token=abc',
    });
    expect(form.json()).toMatchObject({ caller: null, body: 'payload=%7B%7D&token=abc' });
    const signedHook = await test.call('POST', '/plugins/http/hooks/incoming', {
      token: member.token,
      body: {},
    });
    expect(signedHook.json().caller).toMatchObject({ userId: member.user.id });
  });

  it('answers 404 for an undeclared method or path and an unknown plugin', async () => {
    for (const [method, url] of [
      ['GET', '/plugins/http/nope'],
      ['GET', '/plugins/http/items'],
      ['PUT', '/plugins/http/echo'],
      ['GET', '/plugins/nobody/greeting'],
    ] as const) {
      const response = await test.call(method, url, { token: member.token });
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json().error.code).toBe('not_found');
    }
    // Declared, but the plugin has no handler for it.
    expect((await test.call('DELETE', '/plugins/http/unhandled', { token: member.token })).statusCode).toBe(
      404,
    );
  });

  it('answers 504 within the deadline for a handler that never answers', async () => {
    const started = Date.now();
    const response = await test.call('GET', '/plugins/http/hang', { token: member.token });
    expect(response.statusCode).toBe(504);
    expect(response.json().error.code).toBe('plugin_timeout');
    // The fixture's callTimeoutMs is 500.
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('refuses with 502 an answer that sets a cookie or serves HTML, and tells admins', async () => {
    const cookie = await test.call('GET', '/plugins/http/cookie', { token: member.token });
    expect(cookie.statusCode).toBe(502);
    expect(cookie.headers['set-cookie']).toBeUndefined();
    expect(cookie.json().error).toMatchObject({
      code: 'plugin_invalid_response',
      details: { issues: [{ path: ['headers', 'Set-Cookie'], message: expect.any(String) }] },
    });
    const html = await test.call('GET', '/plugins/http/html', { token: member.token });
    expect(html.statusCode).toBe(502);
    expect(html.body).not.toContain('<script>');
    expect((await test.call('GET', '/plugins/http/throws', { token: member.token })).json().error.code).toBe(
      'plugin_failed',
    );
    const teapot = await test.call('GET', '/plugins/http/status/418', { token: member.token });
    expect(teapot.statusCode).toBe(418);
    expect(teapot.body).toBe('status');

    const admin = await test.signedIn('admin');
    const listed = (await test.call('GET', '/api/v1/plugins', { token: admin.token })).json();
    const http = listed.plugins.find((plugin: { id: string }) => plugin.id === 'http');
    expect(http.lastProblem).toMatchObject({ type: 'invalid-response' });
  });

  it('answers 413 for a body over 1 MiB and 415 for a body it does not take', async () => {
    const large = await test.call('POST', '/plugins/http/echo', {
      token: member.token,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(1024 * 1024) }),
    });
    expect(large.statusCode).toBe(413);
    expect(large.json().error.code).toBe('payload_too_large');
    const binary = await test.call('POST', '/plugins/http/echo', {
      token: member.token,
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from([1, 2, 3]) as unknown as string,
    });
    expect(binary.statusCode).toBe(415);
  });

  it('answers 503 while the plugin is stopped, and serves again once it is started', async () => {
    const admin = await test.signedIn('admin');
    expect((await test.call('POST', '/api/v1/plugins/http/stop', { token: admin.token })).statusCode).toBe(
      200,
    );
    try {
      const stopped = await test.call('GET', '/plugins/http/items/1', { token: member.token });
      expect(stopped.statusCode).toBe(503);
      expect(stopped.json().error).toMatchObject({ code: 'plugin_unavailable', message: expect.any(String) });
    } finally {
      await test.call('POST', '/api/v1/plugins/http/start', { token: admin.token });
    }
    expect((await test.call('GET', '/plugins/http/items/1', { token: member.token })).statusCode).toBe(200);
  });
});
