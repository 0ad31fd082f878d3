import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Socket } from 'node:net';
import type { ChatEvent } from '@kaiwa/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisBus, type RedisBus } from './redis-bus.js';

// A redis-server of this test alone (it is killed and restarted); KAIWA_TEST_REDIS_URL says Redis is here.
const enabled = Boolean(process.env.KAIWA_TEST_REDIS_URL);
if (!enabled)
  console.info(
    '[RedisBus across a Redis restart] skipped: set KAIWA_TEST_REDIS_URL=redis://127.0.0.1:6379 to run it',
  );

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}

async function listening(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => resolve(socket.destroy() !== undefined));
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function roomEvent(seq: number): ChatEvent {
  return {
    roomId: 'room',
    seq,
    type: 'member.left',
    createdAt: '2026-11-25T00:00:00.000Z',
    payload: { roomId: 'room', userId: `u${seq}` },
  } as ChatEvent;
}

async function until(condition: () => boolean, what = '', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!enabled)('RedisBus across a Redis restart', () => {
  let redis: ChildProcess | undefined;
  const buses: RedisBus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close()));
    redis?.kill('SIGKILL');
  });

  it('reconnects, tells its subscribers, and publishes the newest event of each room that Redis missed', async () => {
    const port = await freePort();
    const start = async () => {
      redis = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await listening(port);
    };
    await start();
    const url = `redis://127.0.0.1:${port}`;
    const publisher = await createRedisBus({ url, channel: 'restart' });
    const receiver = await createRedisBus({ url, channel: 'restart' });
    buses.push(publisher, receiver);
    const local: number[] = [];
    const remote: number[] = [];
    publisher.subscribe((event) => local.push('seq' in event ? event.seq : 0));
    receiver.subscribe((event) => remote.push('seq' in event ? event.seq : 0));
    let reconnects = 0;
    receiver.onReconnect(() => {
      reconnects += 1;
    });

    await publisher.publish(roomEvent(1));
    await until(() => remote.length === 1);

    const stopped = once(redis!, 'exit');
    redis!.kill('SIGKILL');
    await stopped;
    await until(() => publisher.connectionState() === 'reconnecting', 'disconnected');
    for (const seq of [2, 3, 4]) await publisher.publish(roomEvent(seq));
    expect(local).toEqual([1, 2, 3, 4]);

    await start();
    await until(() => reconnects === 1 && publisher.connectionState() === 'connected', 'reconnected');
    // 2 and 3 are in the store only; 4 comes again so the receiver sees the gap and reads 2–3 from the store.
    await until(() => remote.length === 2, 'republished');
    expect(remote).toEqual([1, 4]);
    expect(receiver.connectionState()).toBe('connected');
  });
});
