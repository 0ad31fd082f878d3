import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../test-support.js';

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('metrics on a local port (KAIWA_METRICS_PORT)', () => {
  it('serves /metrics on 127.0.0.1 only, and not on the public port', async () => {
    const metricsPort = await freePort();
    const test = await startTestServer({
      host: '127.0.0.1',
      port: 0,
      metricsPort,
      nodeEnvironment: 'production',
    });
    try {
      const url = await test.server.listen();
      await fetch(`${url}/health`);
      const local = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(local.status).toBe(200);
      expect(local.headers.get('content-type')).toContain('text/plain');
      expect(await local.text()).toMatch(/kaiwa_http_requests_total\{method="GET",route="\/health"/);
      const other = await fetch(`http://127.0.0.1:${metricsPort}/api/v1/rooms`);
      expect(other.status).toBe(404);
      expect(await other.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });

      const publicMetrics = await fetch(`${url}/metrics`);
      expect(publicMetrics.status).toBe(404);
      expect(((await publicMetrics.json()) as { error: { code: string } }).error.code).toBe('not_found');
    } finally {
      await test.close();
    }
    // Closing the server closes the metrics port too.
    await expect(fetch(`http://127.0.0.1:${metricsPort}/metrics`)).rejects.toThrow();
  });

  it('fails the start when the metrics port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port: metricsPort } = taken.address() as { port: number };
    const test = await startTestServer({ host: '127.0.0.1', port: 0, metricsPort });
    try {
      await expect(test.server.listen()).rejects.toThrow(`cannot serve metrics on 127.0.0.1:${metricsPort}`);
    } finally {
      await test.close();
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('does not serve /metrics without a token in production, even when built without loadConfig', async () => {
    const open = await startTestServer({ nodeEnvironment: 'production' });
    try {
      expect((await open.call('GET', '/metrics')).statusCode).toBe(404);
    } finally {
      await open.close();
    }
    const guarded = await startTestServer({
      nodeEnvironment: 'production',
      metricsToken: 'metrics-secret-123456',
    });
    try {
      expect((await guarded.call('GET', '/metrics')).statusCode).toBe(401);
      expect((await guarded.call('GET', '/metrics', { token: 'metrics-secret-123456' })).statusCode).toBe(
        200,
      );
    } finally {
      await guarded.close();
    }
  });
});
