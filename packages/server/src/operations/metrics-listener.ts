import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A small HTTP server that only answers `GET /metrics`, on a port of its own. */
export interface MetricsListener {
  /** Where it listens, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the registry's Prometheus text at `http://<host>:<port>/metrics`, by default on 127.0.0.1 only, so
 * metrics need no token: whatever can reach the port runs on this machine (a local Prometheus or agent).
 * Every other path answers 404 in the server's error format.
 *
 * @throws when the port cannot be bound (in use, not allowed), so a start with a wrong port fails loudly.
 * @example
 * const listener = await listenForMetrics(metrics.registry, 9464); // curl http://127.0.0.1:9464/metrics
 */
export async function listenForMetrics(
  registry: Registry,
  port: number,
  host = '127.0.0.1',
): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      const body = JSON.stringify({
        error: { code: 'not_found', message: 'only GET /metrics is served here' },
      });
      response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(body);
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => {
        const body = JSON.stringify({ error: { code: 'internal', message: 'internal server error' } });
        response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(body);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(new Error(`cannot serve metrics on ${host}:${port}: ${error.message}`, { cause: error })),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
