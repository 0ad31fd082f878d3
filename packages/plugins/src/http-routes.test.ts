import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { checkHttpResponse, matchPluginRoute, type PluginHttpRoute } from './http-routes.js';
import { parsePluginManifest } from './manifest.js';
import { PluginHost } from './plugin-host.js';
import type { PluginEvent } from './plugin-supervisor.js';
import { createProcessRuntime } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';

const fixture = fileURLToPath(new URL('./test-fixtures/http', import.meta.url));

const route = (method: PluginHttpRoute['method'], path: string): PluginHttpRoute => ({
  method,
  path,
  public: false,
});

describe('matchPluginRoute', () => {
  const routes = [
    route('GET', '/'),
    route('GET', '/items/:id'),
    route('GET', '/items/new'),
    route('GET', '/items/:id/parts/:part'),
    route('POST', '/items'),
  ];

  it('matches literal segments and takes :name segments as decoded parameters', () => {
    expect(matchPluginRoute(routes, 'GET', '/items/42')).toMatchObject({
      key: 'GET /items/:id',
      params: { id: '42' },
    });
    expect(matchPluginRoute(routes, 'GET', '/items/a%2Fb%20c/parts/x')).toMatchObject({
      key: 'GET /items/:id/parts/:part',
      params: { id: 'a/b c', part: 'x' },
    });
    expect(matchPluginRoute(routes, 'GET', '/')).toMatchObject({ key: 'GET /', params: {} });
  });

  it('prefers a literal segment to a parameter', () => {
    expect(matchPluginRoute(routes, 'GET', '/items/new')).toMatchObject({
      key: 'GET /items/new',
      params: {},
    });
  });

  it('matches nothing for another method, another length, an empty parameter or a path that does not decode', () => {
    for (const [method, path] of [
      ['DELETE', '/items/1'],
      ['GET', '/items'],
      ['GET', '/items/1/'],
      ['GET', '/items//parts/x'],
      ['GET', '/items/%E0%A4%A'],
      ['POST', '/items/1'],
    ] as const) {
      expect(matchPluginRoute(routes, method, path), `${method} ${path}`).toBeUndefined();
    }
  });
});

describe('checkHttpResponse', () => {
  it('passes a good answer on, serialising a JSON body and naming its content type', () => {
    expect(
      checkHttpResponse({ status: 201, headers: { 'Cache-Control': 'no-store' }, body: { a: 1 } }),
    ).toEqual({
      ok: true,
      response: {
        status: 201,
        headers: { 'cache-control': 'no-store', 'content-type': 'application/json; charset=utf-8' },
        body: '{"a":1}',
      },
    });
    expect(checkHttpResponse({ status: 204 })).toEqual({
      ok: true,
      response: { status: 204, headers: {}, body: undefined },
    });
  });

  it('refuses cookies, CSP, CORS, runnable media types, bad statuses, header injection and large bodies', () => {
    const refused = (answer: unknown) => {
      const checked = checkHttpResponse(answer);
      return checked.ok ? [] : checked.issues.map((issue) => issue.path.join('.'));
    };
    expect(refused({ status: 200, headers: { 'Set-Cookie': 'a=b' } })).toEqual(['headers.Set-Cookie']);
    expect(refused({ status: 200, headers: { 'content-security-policy': 'default-src *' } })).toEqual([
      'headers.content-security-policy',
    ]);
    expect(refused({ status: 200, headers: { 'access-control-allow-origin': '*' } })).toEqual([
      'headers.access-control-allow-origin',
    ]);
    for (const type of ['text/html', 'image/svg+xml', 'application/javascript', 'text/xml']) {
      expect(refused({ status: 200, headers: { 'content-type': type }, body: 'x' }), type).toEqual([
        'headers.content-type',
      ]);
    }
    expect(refused({ status: 200, headers: { etag: 'a\r\nset-cookie: b' } })).toEqual(['headers.etag']);
    for (const status of [100, 199, 600, 200.5, '200'])
      expect(refused({ status }), String(status)).toEqual(['status']);
    expect(refused({ status: 200, body: 'x'.repeat(512 * 1024 + 1) })).toEqual(['body']);
    expect(refused({ status: 200, extra: true })).toEqual(['']);
  });
});

describe('the manifest’s httpRoutes', () => {
  const manifestWith = (httpRoutes: unknown[]) => ({
    id: 'routes',
    version: '1.0.0',
    engines: { kaiwa: '^0.1.0' },
    entry: 'plugin.mjs',
    capabilities: { httpRoutes },
  });

  it('takes literal and :name segments, public false by default', () => {
    const manifest = parsePluginManifest(
      manifestWith([
        { method: 'GET', path: '/items/:id' },
        { method: 'POST', path: '/hook', public: true },
      ]),
    );
    expect(manifest.capabilities.httpRoutes).toEqual([
      { method: 'GET', path: '/items/:id', public: false },
      { method: 'POST', path: '/hook', public: true },
    ]);
  });

  it('names bad paths, parameters used twice and routes declared twice', () => {
    const problems = (routes: unknown[]) => {
      try {
        parsePluginManifest(manifestWith(routes));
        return [];
      } catch (error) {
        return (error as PluginError).issues.map((issue) => issue.path.join('.'));
      }
    };
    for (const path of ['items', '/items/', '/a//b', '/a:b', '/:', '/a?b', '/%2F']) {
      expect(problems([{ method: 'GET', path }]), path).toEqual(['capabilities.httpRoutes.0.path']);
    }
    expect(problems([{ method: 'GET', path: '/:a/:a' }])).toEqual(['capabilities.httpRoutes.0.path']);
    expect(
      problems([
        { method: 'GET', path: '/items/:id' },
        { method: 'GET', path: '/items/:name' },
      ]),
    ).toEqual(['capabilities.httpRoutes.1.path']);
  });
});

describe('PluginHost.serveHttp with a real plugin process', () => {
  let folder: string;
  let host: PluginHost;
  const events: PluginEvent[] = [];
  const caller = { userId: 'user-1', username: 'ada', role: 'member' };
  const request = (method: 'GET' | 'POST' | 'DELETE', path: string, extra: object = {}) =>
    host.serveHttp({ pluginId: 'http', method, path, query: {}, headers: {}, caller, ...extra });

  beforeAll(async () => {
    folder = await buildPluginFolder(fixture);
    // Where unshare is not permitted, these tests are about HTTP routes, not the network: accept that.
    host = new PluginHost({
      ports: createFakePorts().ports,
      runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
      engineVersion: '0.1.0',
      onEvent: (event) => events.push(event),
    });
    await host.add(folder);
    await host.start('http');
  }, 30_000);

  afterAll(async () => {
    await host?.stopAll();
    await rm(folder, { recursive: true, force: true });
  });

  it('finds declared routes, running or not, and nothing else', () => {
    expect(host.findHttpRoute('http', 'GET', '/items/7')).toMatchObject({ params: { id: '7' } });
    expect(host.findHttpRoute('http', 'GET', '/nope')).toBeUndefined();
    expect(host.findHttpRoute('other', 'GET', '/items/7')).toBeUndefined();
  });

  it('hands the plugin the route, its parameters, query, headers, caller and body', async () => {
    const answer = await request('GET', '/items/a%20b', {
      query: { tag: ['x', 'y'], q: '1' },
      headers: { accept: 'application/json' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(answer.body ?? '')).toEqual({
      route: 'GET /items/:id',
      method: 'GET',
      path: '/items/a%20b',
      params: { id: 'a b' },
      query: { tag: ['x', 'y'], q: '1' },
      headers: { accept: 'application/json' },
      caller,
    });
    expect(JSON.parse((await request('GET', '/items/new')).body ?? '')).toEqual({ fresh: true });
    const posted = await request('POST', '/echo', { body: { name: 'Ada' } });
    expect(posted).toMatchObject({ status: 201, headers: { 'cache-control': 'no-store' } });
    expect(JSON.parse(posted.body ?? '').body).toEqual({ name: 'Ada' });
  });

  it('refuses an answer that sets a cookie or serves HTML, and reports it', async () => {
    await expect(request('GET', '/cookie')).rejects.toMatchObject({
      code: 'invalid_response',
      issues: [{ path: ['headers', 'Set-Cookie'], message: expect.stringContaining('not a header') }],
    });
    await expect(request('GET', '/html')).rejects.toMatchObject({ code: 'invalid_response' });
    await expect(request('GET', '/status/101')).rejects.toMatchObject({ code: 'invalid_response' });
    expect((await request('GET', '/status/418')).status).toBe(418);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'invalid-response',
        pluginId: 'http',
        detail: expect.stringContaining('Set-Cookie'),
      }),
    );
  });

  it('fails a handler that throws, answers too much or never answers, within the deadline', async () => {
    await expect(request('GET', '/throws')).rejects.toMatchObject({ code: 'plugin_failed' });
    await expect(request('GET', '/big')).rejects.toMatchObject({
      code: 'plugin_failed',
      message: expect.stringContaining('over the limit'),
    });
    const started = Date.now();
    await expect(request('GET', '/hang')).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
    // A handler that never answers does not block the plugin: it still answers.
    expect((await request('GET', '/items/1')).status).toBe(200);
  });

  it('names an undeclared route, and a declared one without a handler', async () => {
    await expect(request('GET', '/nope')).rejects.toSatisfy(
      (error) => PluginError.isInstance(error) && error.code === 'not_found',
    );
    await expect(request('DELETE', '/unhandled')).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('no handler'),
    });
  });

  it('does not start a plugin that registers a route its manifest does not declare', async () => {
    const undeclared = await buildPluginFolder(fixture);
    try {
      const file = join(undeclared, 'kaiwa-plugin.json');
      const manifest = JSON.parse(await readFile(file, 'utf8'));
      manifest.capabilities.httpRoutes = manifest.capabilities.httpRoutes.filter(
        (each: { path: string }) => each.path !== '/cookie',
      );
      await writeFile(file, JSON.stringify(manifest));
      const other = new PluginHost({
        ports: createFakePorts().ports,
        runtime: createProcessRuntime({ acceptUnisolatedNetwork: true }),
        engineVersion: '0.1.0',
      });
      await other.add(undeclared);
      await expect(other.start('http')).rejects.toMatchObject({
        code: 'start_failed',
        issues: [{ path: ['capabilities', 'httpRoutes'], message: '"GET /cookie" not declared' }],
      });
      await other.stopAll();
    } finally {
      await rm(undeclared, { recursive: true, force: true });
    }
  });
});
