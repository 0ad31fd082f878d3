import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KaiwaServer } from '../app.js';
import { loadConfig } from '../config.js';
import { TestClient } from '../realtime/test-support.js';
import { TEST_PASSWORD } from '../test-support.js';

/*
 * Connection hygiene with short timeouts: idle connections, headers and bodies that trickle in, and idle
 * keep-alive connections are closed; WebSockets are not (they have their own pings); one address cannot
 * hold more than its share of connections.
 */

/** An address of this machine that is not loopback, so the per-address cap applies to connections from it. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
if (!outsideAddress) {
  console.warn(
    'the per-address connection cap test is skipped: this machine has no non-loopback IPv4 address',
  );
}

interface RawConnection {
  socket: Socket;
  received: () => string;
  /** Milliseconds from connect until the server closed it. */
  closedAfter: Promise<number>;
}

function open(host: string, port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host, port });
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => undefined);
    const closedAfter = new Promise<number>((settle) =>
      socket.on('close', () => settle(performance.now() - started)),
    );
    socket.once('connect', () => resolve({ socket, received: () => received, closedAfter }));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until the socket closes. */
function trickle(socket: Socket, text: string, everyMs: number): void {
  let index = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || index >= text.length) {
      clearInterval(timer);
      return;
    }
    socket.write(text[index]!);
    index += 1;
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

describe('connection hygiene', () => {
  let dataDirectory: string;
  let server: KaiwaServer;
  let port: number;

  beforeAll(async () => {
    dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-hygiene-'));
    const config = loadConfig({
      env: {
        KAIWA_DATA_DIR: dataDirectory,
        KAIWA_DATABASE_URL: ':memory:',
        HOST: '0.0.0.0',
        PORT: '0',
        LOG_LEVEL: 'silent',
        NODE_ENV: 'test',
        KAIWA_IDLE_TIMEOUT: '1',
        KAIWA_HEADERS_TIMEOUT: '1',
        KAIWA_REQUEST_TIMEOUT: '2',
        KAIWA_KEEP_ALIVE_TIMEOUT: '1',
        KAIWA_MAX_CONNECTIONS_PER_ADDRESS: '3',
      },
    });
    server = await buildServer(config, { announce: () => undefined });
    port = Number(new URL(await server.listen()).port);
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('closes a connection that never sends anything', async () => {
    const { closedAfter } = await open('127.0.0.1', port);
    expect(await closedAfter).toBeLessThan(4_000);
  });

  it('closes a connection whose headers trickle in', async () => {
    const connection = await open('127.0.0.1', port);
    trickle(connection.socket, `GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(200)}\r\n\r\n`, 100);
    expect(await connection.closedAfter).toBeLessThan(5_000);
  });

  it('closes a request whose body trickles in, with a 408 in the one error format', async () => {
    const connection = await open('127.0.0.1', port);
    connection.socket.write(
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n',
    );
    trickle(connection.socket, 'x'.repeat(1000), 200);
    expect(await connection.closedAfter).toBeLessThan(6_000);
    const answer = connection.received();
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('"code":"request_timeout"');
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const connection = await open('127.0.0.1', port);
    connection.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    const closedAfter = await connection.closedAfter;
    expect(connection.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(closedAfter).toBeLessThan(4_000);
  });

  it('keeps WebSockets open past every HTTP timeout', async () => {
    const username = `ws-${randomBytes(3).toString('hex')}`;
    await server.accounts.createAccount({ username, role: 'member', password: TEST_PASSWORD });
    const { accessToken } = await server.accounts.login(username, TEST_PASSWORD);
    const client = await TestClient.as(`ws://127.0.0.1:${port}/ws`, accessToken, { presence: false });
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await client.request({ type: 'ping' })).type).toBe('pong');
    await client.close();
  });

  it.skipIf(!outsideAddress)('caps open connections per address, and not on loopback', async () => {
    const outside = await Promise.all(Array.from({ length: 5 }, () => open(outsideAddress!, port)));
    const settled = await Promise.all(
      outside.map((connection) =>
        Promise.race([
          connection.closedAfter,
          new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 300)),
        ]),
      ),
    );
    expect(settled.filter((result) => result === 'open')).toHaveLength(3);
    const loopback = await Promise.all(Array.from({ length: 5 }, () => open('127.0.0.1', port)));
    const loopbackSettled = await Promise.all(
      loopback.map((connection) =>
        Promise.race([
          connection.closedAfter,
          new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 300)),
        ]),
      ),
    );
    expect(loopbackSettled.every((result) => result === 'open')).toBe(true);
    for (const connection of [...outside, ...loopback]) connection.socket.destroy();
  });
});
