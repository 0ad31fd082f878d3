import type { NatsBus } from '@kaiwa/bus-nats';
import { Kvm } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { startTestServer } from '../test-support.js';
import { openSharedState } from './bus-composition.js';
import { startRedisServer } from './scale-test-support.js';

const redisUrl = process.env.KAIWA_TEST_REDIS_URL || undefined;
const natsUrl = process.env.KAIWA_TEST_NATS_URL || undefined;
const silent = { error: () => undefined, warn: () => undefined };
if (!redisUrl)
  console.info('[server on Redis] skipped: set KAIWA_TEST_REDIS_URL=redis://127.0.0.1:6379 to run it');
if (!natsUrl)
  console.info('[openSharedState on NATS] skipped: set KAIWA_TEST_NATS_URL=nats://127.0.0.1:4222 to run it');

describe('KAIWA_BUS', () => {
  it('reads memory (the default), redis:// and nats:// URLs, and names the setting when it is wrong', () => {
    expect(loadConfig({ env: {} }).bus).toEqual({ kind: 'memory', url: undefined, channel: 'kaiwa' });
    expect(
      loadConfig({ env: { KAIWA_BUS: 'redis://:secret@10.0.0.5:6379/2', KAIWA_BUS_CHANNEL: 'prod' } }).bus,
    ).toEqual({ kind: 'redis', url: 'redis://:secret@10.0.0.5:6379/2', channel: 'prod' });
    expect(loadConfig({ env: { KAIWA_BUS: 'nats://a:4222,nats://b:4222' } }).bus.kind).toBe('nats');
    let error: unknown;
    try {
      loadConfig({ env: { KAIWA_BUS: 'kafka://:hunter2@broker', KAIWA_BUS_CHANNEL: 'no spaces' } });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('KAIWA_BUS: must be memory, a redis://');
    expect(problems).toContain('KAIWA_BUS_CHANNEL:');
    // A bus URL may hold a password: it is not echoed.
    expect(problems).not.toContain('hunter2');
  });
});

describe.skipIf(!redisUrl)('a server on Redis', () => {
  it('answers /ready with its bus, and 503 while Redis is away', async () => {
    const redis = await startRedisServer();
    const test = await startTestServer({ bus: { kind: 'redis', url: redis.url, channel: 'ready_test' } });
    try {
      expect((await test.call('GET', '/ready')).json()).toEqual({ status: 'ready', bus: 'redis' });
      await redis.kill();
      let down = await test.call('GET', '/ready');
      for (let attempt = 0; down.statusCode !== 503 && attempt < 100; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        down = await test.call('GET', '/ready');
      }
      expect(down.statusCode).toBe(503);
      expect(down.json().error.message).toContain('redis bus is not connected');
      await redis.start();
      const deadline = Date.now() + 10_000;
      while ((await test.call('GET', '/ready')).statusCode !== 200) {
        if (Date.now() > deadline) throw new Error('the bus did not reconnect');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await test.close();
      await redis.stop();
    }
  });
});

describe.skipIf(!redisUrl)('two servers on one Redis', () => {
  it('share the login rate limit', async () => {
    const bus = { kind: 'redis' as const, url: redisUrl, channel: `kaiwa_t_${Date.now().toString(36)}` };
    const first = await startTestServer({ bus, loginRateLimitPerMinute: 3 });
    const second = await startTestServer({ bus, loginRateLimitPerMinute: 3 });
    try {
      const attempt = (server: typeof first) =>
        server.call('POST', '/api/v1/auth/login', {
          body: { username: 'nobody', password: 'wrong password' },
        });
      expect((await attempt(first)).statusCode).toBe(401);
      expect((await attempt(second)).statusCode).toBe(401);
      expect((await attempt(first)).statusCode).toBe(401);
      // The fourth attempt from the same address is one too many, whichever instance it reaches.
      expect((await attempt(second)).statusCode).toBe(429);
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe.skipIf(!natsUrl)('openSharedState on NATS', () => {
  it('connects and shares presence through NATS KV', async () => {
    const channel = `kaiwa_t_${Date.now().toString(36)}`;
    const first = await openSharedState({ kind: 'nats', url: natsUrl, channel }, silent);
    const second = await openSharedState({ kind: 'nats', url: natsUrl, channel }, silent);
    try {
      expect(first.status()).toEqual({ kind: 'nats', connected: true });
      await first.presence.announce('one', [{ userId: 'u', status: 'online' }], 5_000);
      await first.presence.withdraw('one', 'u');
      await second.presence.announce('two', [{ userId: 'u', status: 'online' }], 5_000);
      const deadline = Date.now() + 3_000;
      while ((await first.presence.statuses(['u'])).u !== 'online') {
        if (Date.now() > deadline) throw new Error('presence did not cross');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      // The shared test server keeps buckets: remove this test's.
      await new Kvm((first.bus as NatsBus).connection)
        .open(`${channel}_presence`)
        .then((kv) => kv.destroy())
        .catch(() => undefined);
      await first.close();
      await second.close();
    }
  });
});
