import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type KaiwaServer } from '../app.js';
import { ConfigError, loadConfig } from '../config.js';
import { type Frame, TestClient } from '../realtime/test-support.js';
import { TEST_PASSWORD } from '../test-support.js';
import { parseUserRateLimits, UserRateLimiter } from './user-rate-limits.js';

/*
 * Per-user limits hold across every socket and REST call of a user, and across instances when they share
 * Redis: one user with many sockets cannot multiply the limit.
 */

const REDIS_URL = process.env.KAIWA_TEST_REDIS_URL;
if (!REDIS_URL) {
  console.warn(
    'per-user limits across two instances skipped: set KAIWA_TEST_REDIS_URL=redis://127.0.0.1:6379 to run them',
  );
}

async function startServer(
  dataDirectory: string,
  env: Record<string, string>,
): Promise<{ server: KaiwaServer; url: string }> {
  const config = loadConfig({
    env: {
      KAIWA_DATA_DIR: dataDirectory,
      KAIWA_DATABASE_URL: join(dataDirectory, 'kaiwa.sqlite'),
      KAIWA_JWT_SECRET: 'limits-test-secret-'.padEnd(48, 'x'),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      ...env,
    },
  });
  const server = await buildServer(config, { announce: () => undefined });
  return { server, url: (await server.listen()).replace(/^http/, 'ws') };
}

/** A member of a new channel, signed in once. */
async function memberWithRoom(server: KaiwaServer) {
  const username = `sender-${randomBytes(3).toString('hex')}`;
  await server.accounts.createAccount({ username, role: 'member', password: TEST_PASSWORD });
  const session = await server.accounts.login(username, TEST_PASSWORD);
  const room = await server.engine.createRoom(session.user.id, {
    kind: 'channel',
    name: `limits-${randomBytes(3).toString('hex')}`,
  });
  return { session, token: session.accessToken, roomId: room.id };
}

async function socketSend(client: TestClient, roomId: string, label: string): Promise<Frame> {
  return client.request({ type: 'send', roomId, text: label, clientMessageId: label });
}

async function restSend(server: KaiwaServer, token: string, roomId: string, label: string) {
  return server.app.inject({
    method: 'POST',
    url: `/api/v1/rooms/${roomId}/messages`,
    headers: { authorization: `Bearer ${token}` },
    payload: { text: label, clientMessageId: label },
  });
}

describe('per-user limits on one instance', () => {
  let dataDirectory: string;
  let server: KaiwaServer;
  let url: string;

  beforeAll(async () => {
    dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-limits-'));
    ({ server, url } = await startServer(dataDirectory, {
      KAIWA_USER_RATE_LIMITS: 'messages=20/60s,searches=3/60s',
      KAIWA_REALTIME_LIMITS: 'framesPerSecond=1000,frameBurst=1000',
    }));
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('counts messages of one user over ten sockets and REST together; other users are not affected', async () => {
    const { token, roomId, session } = await memberWithRoom(server);
    const sockets = await Promise.all(
      Array.from({ length: 10 }, () => TestClient.as(`${url}/ws`, token, { presence: false })),
    );
    const answers: ('ok' | 'limited')[] = [];
    let rejectedFrame: Frame | undefined;
    let rejectedRest: Awaited<ReturnType<typeof restSend>> | undefined;
    for (let round = 0; round < 3; round += 1) {
      await Promise.all(
        sockets.map(async (socket, index) => {
          const reply = await socketSend(socket, roomId, `s-${round}-${index}`);
          if (reply.type === 'ack') answers.push('ok');
          else {
            rejectedFrame = reply;
            answers.push('limited');
          }
        }),
      );
      const rest = await restSend(server, token, roomId, `r-${round}`);
      if (rest.statusCode === 201) answers.push('ok');
      else {
        rejectedRest = rest;
        answers.push('limited');
      }
    }
    expect(answers.filter((answer) => answer === 'ok')).toHaveLength(20);
    expect(answers).toHaveLength(33);
    expect(rejectedFrame).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(rejectedFrame?.details).toMatchObject({ retryAfterMs: expect.any(Number) });
    expect(rejectedRest?.statusCode).toBe(429);
    expect(rejectedRest?.json().error.code).toBe('rate_limited');
    expect(Number(rejectedRest?.headers['retry-after'])).toBeGreaterThan(0);
    // Nothing rejected was stored.
    const history = await server.engine.history(session.user.id, { roomId, limit: 200 });
    expect(history.messages).toHaveLength(20);

    const other = await memberWithRoom(server);
    expect((await restSend(server, other.token, other.roomId, 'other-1')).statusCode).toBe(201);
    await Promise.all(sockets.map((socket) => socket.close()));
  });

  it('limits searches per user over REST', async () => {
    const { token } = await memberWithRoom(server);
    const codes: number[] = [];
    for (let index = 0; index < 5; index += 1) {
      const answer = await server.app.inject({
        method: 'GET',
        url: '/api/v1/search?query=hello',
        headers: { authorization: `Bearer ${token}` },
      });
      codes.push(answer.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
  });

  it('applies the realtime limits of the configuration', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'kaiwa-limits-'));
    const tight = await startServer(directory, { KAIWA_REALTIME_LIMITS: 'framesPerSecond=1,frameBurst=3' });
    try {
      const { token } = await memberWithRoom(tight.server);
      const client = await TestClient.as(`${tight.url}/ws`, token, { presence: false });
      // The auth frame took one token of the burst of three.
      const replies = [];
      for (let index = 0; index < 4; index += 1)
        replies.push(client.request({ type: 'ping' }).catch(() => undefined));
      const limited = await client.waitFor(
        (frame) => frame.type === 'error' && frame.code === 'rate_limited',
      );
      expect(limited.details).toMatchObject({ retryAfterMs: expect.any(Number) });
      await client.close();
    } finally {
      await tight.server.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!REDIS_URL)('per-user limits across two instances on Redis', () => {
  let dataDirectory: string;
  let first: { server: KaiwaServer; url: string };
  let second: { server: KaiwaServer; url: string };

  beforeAll(async () => {
    dataDirectory = mkdtempSync(join(tmpdir(), 'kaiwa-limits-'));
    const env = {
      KAIWA_BUS: REDIS_URL ?? '',
      KAIWA_BUS_CHANNEL: `kaiwa-limits-${randomBytes(4).toString('hex')}`,
      KAIWA_USER_RATE_LIMITS: 'messages=10/60s',
    };
    first = await startServer(dataDirectory, env);
    second = await startServer(dataDirectory, env);
  });
  afterAll(async () => {
    await second?.server.close();
    await first?.server.close();
    rmSync(dataDirectory, { recursive: true, force: true });
  });

  it('shares the counters, so spreading over instances does not raise the limit', async () => {
    const { token, roomId } = await memberWithRoom(first.server);
    const onFirst = await TestClient.as(`${first.url}/ws`, token, { presence: false });
    const onSecond = await TestClient.as(`${second.url}/ws`, token, { presence: false });
    let accepted = 0;
    for (let index = 0; index < 8; index += 1) {
      for (const socket of [onFirst, onSecond]) {
        const reply = await socketSend(socket, roomId, `m-${index}-${socket === onFirst ? 'a' : 'b'}`);
        if (reply.type === 'ack') accepted += 1;
        else expect(reply.code).toBe('rate_limited');
      }
    }
    expect(accepted).toBe(10);
    expect((await restSend(second.server, token, roomId, 'rest-after')).statusCode).toBe(429);
    await onFirst.close();
    await onSecond.close();
  });
});

describe('limit settings', () => {
  it('parses limits and names every bad entry', () => {
    expect(parseUserRateLimits('messages=50/10s, uploads=5/1m')).toEqual({
      ok: true,
      limits: {
        messages: { points: 50, durationSeconds: 10 },
        uploads: { points: 5, durationSeconds: 60 },
      },
    });
    const bad = parseUserRateLimits('messages=fast,likes=3/1s,searches=0/1s');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.problems).toHaveLength(3);
  });

  it('refuses bad limit settings at start, naming the variable', () => {
    const load = () =>
      loadConfig({
        env: {
          KAIWA_USER_RATE_LIMITS: 'messages=lots',
          KAIWA_REALTIME_LIMITS: 'framesPerSecond=-1,noSuchLimit=3',
        },
      });
    expect(load).toThrow(ConfigError);
    try {
      load();
    } catch (error) {
      const text = String((error as Error).message);
      expect(text).toContain('KAIWA_USER_RATE_LIMITS');
      expect(text).toContain('KAIWA_REALTIME_LIMITS');
      expect(text).toContain('noSuchLimit');
    }
  });

  it('counts in memory while Redis is unreachable, instead of failing or letting everything through', async () => {
    const { Redis } = await import('ioredis');
    // A port nothing listens on: every Redis command fails.
    const redis = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    redis.on('error', () => undefined);
    const limiter = new UserRateLimiter({ limits: { messages: { points: 2, durationSeconds: 60 } }, redis });
    const verdicts = [];
    for (let index = 0; index < 3; index += 1)
      verdicts.push((await limiter.consume('user', 'messages')).allowed);
    expect(verdicts).toEqual([true, true, false]);
    redis.disconnect();
  });
});
