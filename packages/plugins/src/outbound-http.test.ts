import { readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type JsonValue, RpcErrorCode } from '@kaiwa/plugin-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CapabilityDenial, createHostApi } from './host-api.js';
import { parsePluginManifest } from './manifest.js';
import { createOutboundHttp, isPublicAddress } from './outbound-http.js';
import { PluginHost } from './plugin-host.js';
import type { PluginEvent } from './plugin-supervisor.js';
import { createProcessRuntime, detectNetworkIsolation } from './process-runtime.js';
import { buildPluginFolder } from './test-support/build-plugin.js';
import { createFakePorts } from './test-support/fake-ports.js';

const fixture = fileURLToPath(new URL('./test-fixtures/outbound', import.meta.url));
const isolation = detectNetworkIsolation();
const MiB = 1024 * 1024;

/** A local server: what it was asked (headers, body sizes) and how many connections it saw. */
async function listen(
  handler: (request: IncomingMessage, body: Buffer) => [number, object, string | Buffer],
) {
  const seen: { url: string; method: string; headers: IncomingMessage['headers']; bytes: number }[] = [];
  let connections = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({
        url: request.url ?? '',
        method: request.method ?? '',
        headers: request.headers,
        bytes: body.length,
      });
      const [status, headers, answer] = handler(request, body);
      response.writeHead(status, headers as Record<string, string>);
      response.end(answer);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    seen,
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
  };
}

describe('outbound HTTP through Kaiwa (http.fetch)', () => {
  let declared: Awaited<ReturnType<typeof listen>>;
  let undeclared: Awaited<ReturnType<typeof listen>>;
  const big = Buffer.alloc(5 * MiB + 1, 'y');

  beforeAll(async () => {
    undeclared = await listen(() => [200, {}, 'should never be reached']);
    declared = await listen((request, body) => {
      const path = request.url ?? '/';
      if (path === '/hello')
        return [200, { 'content-type': 'text/plain', 'set-cookie': 'sid=1', 'x-custom': 'yes' }, 'hello'];
      if (path === '/echo')
        return [201, { 'content-type': 'application/json' }, JSON.stringify({ bytes: body.length })];
      if (path === '/to-hello') return [302, { location: '/hello' }, ''];
      if (path === '/to-undeclared') return [302, { location: `http://127.0.0.1:${undeclared.port}/` }, ''];
      if (path === '/to-https') return [301, { location: `https://127.0.0.1:${declared.port}/hello` }, ''];
      if (path === '/loop') return [302, { location: '/loop' }, ''];
      if (path === '/big') return [200, { 'content-type': 'application/octet-stream' }, big];
      return [404, {}, 'no'];
    });
  });

  afterAll(() => {
    declared.server.close();
    undeclared.server.close();
  });

  describe('Kaiwa side (createOutboundHttp, createHostApi)', () => {
    const fetcher = (outbound: string[], extra: object = {}) =>
      createOutboundHttp({ pluginId: 'probe', outbound, timeoutMs: 5_000, ...extra });

    it('classifies addresses: private, loopback, link-local, mapped and reserved ones are not public', () => {
      for (const address of [
        '127.0.0.1',
        '10.1.2.3',
        '172.20.0.1',
        '192.168.1.1',
        '169.254.169.254',
        '100.64.0.1',
        '0.0.0.0',
        '::1',
        '::',
        'fe80::1',
        'fd00::1',
        '::ffff:127.0.0.1',
        '::ffff:10.0.0.1',
        'not an address',
      ]) {
        expect(isPublicAddress(address), address).toBe(false);
      }
      for (const address of ['93.184.215.14', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
        expect(isPublicAddress(address), address).toBe(true);
      }
    });

    it('matches scheme, host and port exactly; a wildcard covers names under the domain only', async () => {
      const fetch = fetcher(['api.example.com', '*.example.org', 'example.net:8443']);
      const denied = async (url: string) =>
        expect(fetch({ url, method: 'GET', headers: {} })).rejects.toMatchObject({
          code: 'capability_denied',
        });
      await denied('http://api.example.com/'); // https only
      await denied('https://api.example.com:8443/'); // port 443 only
      await denied('https://example.com/');
      await denied('https://example.org/'); // the wildcard's domain itself
      await denied('https://example.net/'); // 8443 only
      await denied('https://user:secret@api.example.com/');
      await denied('ftp://api.example.com/');
      const plain = fetcher([`http://127.0.0.1:${declared.port}`]);
      await expect(
        plain({ url: `https://127.0.0.1:${declared.port}/hello`, method: 'GET', headers: {} }),
      ).rejects.toMatchObject({ code: 'capability_denied' });
      expect(
        await plain({ url: `http://127.0.0.1:${declared.port}/hello`, method: 'GET', headers: {} }),
      ).toMatchObject({ status: 200, body: Buffer.from('hello').toString('base64') });
    });

    it('checks every address a declared name resolves to: one private among public ones is refused', async () => {
      const lookups: string[] = [];
      const fetch = fetcher(['*.example.org'], {
        lookup: ((hostname: string, _options: object, callback: (...args: unknown[]) => void) => {
          lookups.push(hostname);
          callback(null, [
            { address: '93.184.215.14', family: 4 },
            { address: '10.0.0.5', family: 4 },
          ]);
        }) as never,
      });
      await expect(
        fetch({ url: 'https://internal.example.org/', method: 'GET', headers: {} }),
      ).rejects.toMatchObject({ code: 'address_denied', message: expect.stringContaining('10.0.0.5') });
      expect(lookups).toEqual(['internal.example.org']);
    });

    it('refuses a request body over 1 MiB (Kaiwa checks, whatever the SDK did) and counts a rate limit', async () => {
      const manifest = parsePluginManifest({
        id: 'probe',
        version: '1.0.0',
        engines: { kaiwa: '*' },
        entry: 'plugin.mjs',
        capabilities: { network: { outbound: [`http://127.0.0.1:${declared.port}`] } },
      });
      const denials: CapabilityDenial[] = [];
      const handle = createHostApi({
        manifest,
        ports: createFakePorts().ports,
        settings: {},
        onLog: () => {},
        onDenied: (denial) => denials.push(denial),
        outboundHttp: { maxPerMinute: 3 },
      });
      const url = `http://127.0.0.1:${declared.port}/echo`;
      await expect(
        handle('http.fetch', {
          url,
          method: 'POST',
          body: Buffer.alloc(MiB + 1).toString('base64'),
          bodyEncoding: 'base64',
        }),
      ).rejects.toMatchObject({
        code: RpcErrorCode.httpFailed,
        data: { code: 'body_too_large' },
        message: expect.stringContaining(`${MiB + 1} bytes`),
      });
      await expect(handle('http.fetch', { url: 'not a url' })).rejects.toMatchObject({
        code: RpcErrorCode.invalidParams,
        message: expect.stringContaining('url'),
      });
      await expect(
        handle('http.fetch', { url, headers: { 'x-evil': 'a\r\nhost: other' } }),
      ).rejects.toMatchObject({ code: RpcErrorCode.invalidParams });
      for (let request = 0; request < 3; request++) {
        expect(await handle('http.fetch', { url, method: 'POST', body: 'hi' })).toMatchObject({
          status: 201,
        });
      }
      await expect(handle('http.fetch', { url })).rejects.toMatchObject({
        code: RpcErrorCode.httpFailed,
        data: { code: 'rate_limited' },
      });
      expect(denials).toEqual([]);
    });

    it('denies http.fetch to a plugin that declares no outbound hosts, reported', async () => {
      const manifest = parsePluginManifest({
        id: 'probe',
        version: '1.0.0',
        engines: { kaiwa: '*' },
        entry: 'plugin.mjs',
      });
      const denials: CapabilityDenial[] = [];
      const handle = createHostApi({
        manifest,
        ports: createFakePorts().ports,
        settings: {},
        onLog: () => {},
        onDenied: (denial) => denials.push(denial),
      });
      const before = declared.connections();
      await expect(
        handle('http.fetch', { url: `http://127.0.0.1:${declared.port}/hello` }),
      ).rejects.toMatchObject({
        code: RpcErrorCode.capabilityDenied,
        data: { capability: 'network.outbound' },
      });
      expect(denials).toEqual([
        expect.objectContaining({ method: 'http.fetch', capability: 'network.outbound' }),
      ]);
      expect(declared.connections()).toBe(before);
    });

    it('reads http:// entries, and refuses a bad port or plain http for a wildcard in the manifest', () => {
      const manifest = (outbound: string[]) => () =>
        parsePluginManifest({
          id: 'probe',
          version: '1.0.0',
          engines: { kaiwa: '*' },
          entry: 'plugin.mjs',
          capabilities: { network: { outbound } },
        });
      expect(manifest(['http://127.0.0.1:8080', 'api.example.com', '*.example.org'])).not.toThrow();
      expect(manifest(['example.com:0'])).toThrow(/network\.outbound\.0: a port from 1 to 65535/);
      expect(manifest(['example.com:70000'])).toThrow(/a port from 1 to 65535/);
      expect(manifest(['http://*.example.org'])).toThrow(/not a wildcard/);
      expect(manifest(['https://example.com'])).toThrow(/a host name/);
    });
  });

  describe('from a real plugin process (process runtime)', () => {
    let folder: string;
    let host: PluginHost;
    const events: PluginEvent[] = [];
    const fetch = async (input: object) =>
      (await host.runStep({ type: 'outbound.fetch', input: input as JsonValue })) as {
        status?: number;
        text?: string;
        headers?: Record<string, string>;
        url?: string;
        redirected?: boolean;
        error?: { code: number; message: string; data: { code?: string; capability?: string } | null };
      };

    beforeAll(async () => {
      folder = await buildPluginFolder(fixture);
      const manifestPath = join(folder, 'kaiwa-plugin.json');
      const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { capabilities: object };
      await writeFile(
        manifestPath,
        JSON.stringify({
          ...manifest,
          capabilities: {
            ...manifest.capabilities,
            network: {
              outbound: [`http://127.0.0.1:${declared.port}`, `http://localhost:${declared.port}`],
            },
          },
        }),
      );
      // Declaring hosts no longer keeps a plugin from the process runtime; it still has no network of its own.
      host = new PluginHost({
        ports: createFakePorts().ports,
        runtime: createProcessRuntime({ acceptUnisolatedNetwork: isolation === undefined }),
        engineVersion: '0.1.0',
        onEvent: (event) => events.push(event),
      });
      await host.add(folder);
      await host.start('outbound');
    }, 30_000);

    afterAll(async () => {
      await host?.stopAll();
      if (folder) await rm(folder, { recursive: true, force: true });
    });

    it('a declared host answers; cookies and hop-by-hop headers are dropped both ways', async () => {
      expect(await fetch({ url: `http://127.0.0.1:${declared.port}/hello` })).toMatchObject({
        status: 200,
        text: 'hello',
        redirected: false,
        headers: expect.objectContaining({ 'x-custom': 'yes', 'content-type': 'text/plain' }),
      });
      const answer = await fetch({
        url: `http://127.0.0.1:${declared.port}/echo`,
        method: 'POST',
        headers: { 'x-test': 'kept', cookie: 'sid=stolen', connection: 'x-hop', 'x-hop': 'dropped' },
        body: 'four',
      });
      expect(answer).toMatchObject({ status: 201, text: JSON.stringify({ bytes: 4 }) });
      expect(answer.headers?.['set-cookie']).toBeUndefined();
      const request = declared.seen.at(-1);
      expect(request?.headers).toMatchObject({ 'x-test': 'kept', 'content-length': '4' });
      expect(request?.headers.cookie).toBeUndefined();
      expect(request?.headers['x-hop']).toBeUndefined();
    });

    it('a body of 1 MiB goes through; one byte more is refused before it is sent', async () => {
      const url = `http://127.0.0.1:${declared.port}/echo`;
      expect(await fetch({ url, method: 'POST', bodyBytes: MiB })).toMatchObject({
        status: 201,
        text: JSON.stringify({ bytes: MiB }),
      });
      const requests = declared.seen.length;
      expect(await fetch({ url, method: 'POST', bodyBytes: MiB + 1 })).toMatchObject({
        error: { code: RpcErrorCode.httpFailed, data: { code: 'body_too_large' } },
      });
      expect(declared.seen.length).toBe(requests);
      expect(host.get('outbound')?.state).toBe('running');
    });

    it('an undeclared host (here: another port) is refused and never contacted, the denial reported', async () => {
      const before = undeclared.connections();
      const answer = await fetch({ url: `http://127.0.0.1:${undeclared.port}/` });
      expect(answer.error).toMatchObject({
        code: RpcErrorCode.capabilityDenied,
        message: expect.stringContaining('not declared in capabilities.network.outbound'),
        data: { capability: `network.outbound:http://127.0.0.1:${undeclared.port}` },
      });
      expect(await fetch({ url: 'https://example.com/' })).toMatchObject({
        error: { code: RpcErrorCode.capabilityDenied },
      });
      expect(undeclared.connections()).toBe(before);
      expect(events).toContainEqual(
        expect.objectContaining({
          type: 'capability-denied',
          pluginId: 'outbound',
          method: 'http.fetch',
          capability: `network.outbound:http://127.0.0.1:${undeclared.port}`,
        }),
      );
    });

    it('redirects are followed to declared hosts only, at most 5', async () => {
      expect(await fetch({ url: `http://127.0.0.1:${declared.port}/to-hello` })).toMatchObject({
        status: 200,
        text: 'hello',
        redirected: true,
        url: `http://127.0.0.1:${declared.port}/hello`,
      });
      const before = undeclared.connections();
      expect(await fetch({ url: `http://127.0.0.1:${declared.port}/to-undeclared` })).toMatchObject({
        error: {
          code: RpcErrorCode.capabilityDenied,
          data: { capability: `network.outbound:http://127.0.0.1:${undeclared.port}` },
        },
      });
      expect(undeclared.connections()).toBe(before);
      // The same host, but https: not declared.
      expect(await fetch({ url: `http://127.0.0.1:${declared.port}/to-https` })).toMatchObject({
        error: { code: RpcErrorCode.capabilityDenied },
      });
      const loops = declared.seen.length;
      expect(await fetch({ url: `http://127.0.0.1:${declared.port}/loop` })).toMatchObject({
        error: {
          code: RpcErrorCode.httpFailed,
          data: { code: 'http_failed' },
          message: expect.stringContaining('more than 5 redirects'),
        },
      });
      expect(declared.seen.length - loops).toBe(6);
    });

    it('a declared name that resolves to 127.0.0.1 is refused: only the literal address may be private', async () => {
      const before = declared.connections();
      expect(await fetch({ url: `http://localhost:${declared.port}/hello` })).toMatchObject({
        error: {
          code: RpcErrorCode.capabilityDenied,
          data: { code: 'address_denied' },
          message: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1)/),
        },
      });
      expect(declared.connections()).toBe(before);
    });

    it('an answer over 5 MiB is an error, not cut', async () => {
      expect(await fetch({ url: `http://127.0.0.1:${declared.port}/big` })).toMatchObject({
        error: {
          code: RpcErrorCode.httpFailed,
          data: { code: 'body_too_large' },
          message: expect.stringContaining(`over ${5 * MiB} bytes`),
        },
      });
    });

    it.skipIf(isolation === undefined)(
      'the plugin itself still cannot open a socket, even to the host it declared',
      async () => {
        const before = declared.connections();
        expect(
          await host.runStep({ type: 'outbound.connect', input: { host: '127.0.0.1', port: declared.port } }),
        ).toMatch(/^denied: /);
        expect(declared.connections()).toBe(before);
      },
    );
  });
});
