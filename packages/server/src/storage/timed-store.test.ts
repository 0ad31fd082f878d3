import { ChatEngine } from '@kaiwa/core';
import { createSqliteStore } from '@kaiwa/store-kysely';
import { describe, expect, it } from 'vitest';
import { ServerMetrics } from '../operations/server-metrics.js';
import { type SlowQuery, timedStore } from './timed-store.js';

describe('timedStore', () => {
  it('times every repository call, inside transactions too, and reports slow ones', async () => {
    const raw = await createSqliteStore({ filename: ':memory:' });
    await raw.migrate();
    const metrics = new ServerMetrics({ collectProcessMetrics: false });
    const slow: SlowQuery[] = [];
    const store = timedStore(raw, { metrics, slowQueryMs: 50, onSlowQuery: (query) => slow.push(query) });
    expect(store.dialect).toBe('sqlite');

    const engine = new ChatEngine({ store });
    const alice = await engine.createUser({ username: 'alice' });
    const room = await engine.createRoom(alice.id, { kind: 'channel', name: 'general' });
    await engine.sendMessage(alice.id, { roomId: room.id, text: 'hello' });

    const original = raw.users.findById.bind(raw.users);
    raw.users.findById = async (id: string) => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      return original(id);
    };
    await engine.getUser(alice.id);

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/kaiwa_store_query_duration_seconds_count\{repository="users",method="insert"\} 1/);
    // nextSeq and append run only inside the send transaction.
    expect(text).toMatch(/kaiwa_store_query_duration_seconds_count\{repository="rooms",method="nextSeq"\} 1/);
    expect(text).toMatch(
      /kaiwa_store_query_duration_seconds_count\{repository="roomEvents",method="append"\} 1/,
    );
    expect(slow).toEqual([{ repository: 'users', method: 'findById', durationMs: expect.any(Number) }]);
    expect(slow[0]!.durationMs).toBeGreaterThanOrEqual(50);
    expect(text).toMatch(/kaiwa_store_slow_queries_total\{repository="users",method="findById"\} 1/);

    engine.close();
    await store.close();
  });

  it('keeps errors as they are', async () => {
    const raw = await createSqliteStore({ filename: ':memory:' });
    await raw.migrate();
    const store = timedStore(raw, {
      metrics: new ServerMetrics({ collectProcessMetrics: false }),
      slowQueryMs: 0,
      onSlowQuery: () => {},
    });
    const engine = new ChatEngine({ store });
    await engine.createUser({ username: 'taken' });
    await expect(engine.createUser({ username: 'taken' })).rejects.toMatchObject({ code: 'conflict' });
    engine.close();
    await store.close();
  });
});
