import { createId, type User } from '@kaiwa/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createPostgresStore } from './postgres.js';
import { type ReplicatedPostgres, startReplicatedPostgres } from './replicated-postgres.js';

const enabled = process.env.KAIWA_TEST_PG_REPLICATION === '1';
if (!enabled) {
  console.info(
    'PostgreSQL replica tests skipped: set KAIWA_TEST_PG_REPLICATION=1 to run them (needs initdb and pg_basebackup)',
  );
}

function newUser(username: string): User {
  const now = new Date().toISOString();
  return {
    id: createId(),
    username,
    displayName: username,
    role: 'member',
    forcePasswordChange: false,
    createdAt: now,
    updatedAt: now,
  };
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the replica');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!enabled)('PostgreSQL store with a streaming read replica', () => {
  let cluster: ReplicatedPostgres;
  let store: KyselyChatStore;
  let replicaAdmin: pg.Client;

  beforeAll(async () => {
    cluster = await startReplicatedPostgres();
    store = await createPostgresStore({
      connectionString: cluster.primaryUrl,
      replicaConnectionStrings: [cluster.replicaUrl],
      maxConnections: 4,
      maxReplicaConnections: 4,
    });
    await store.migrate();
    replicaAdmin = new pg.Client({ connectionString: cluster.replicaUrl });
    await replicaAdmin.connect();
    // The schema reaches the standby by replication, like any other write.
    await eventually(async () => (await store.lagTolerant.users.count()) >= 0 || undefined);
  }, 60_000);

  afterAll(async () => {
    await replicaAdmin?.end();
    await store?.close();
    await cluster?.stop();
  });

  it('serves lag-tolerant reads from the standby once a write has replicated', async () => {
    const user = newUser('replicated_alice');
    await store.users.insert(user);
    expect(await store.users.findById(user.id)).toEqual(user);
    expect(await eventually(() => store.lagTolerant.users.findById(user.id))).toEqual(user);
    // Each pool is reported by name and size, the replica's having served that read.
    const pools = store.poolStatus();
    expect(pools.map(({ pool, max }) => [pool, max])).toEqual([
      ['primary', 4],
      ['replica-1', 4],
    ]);
    expect(pools[1]?.open).toBeGreaterThanOrEqual(1);
  });

  it('reads the primary for read-your-own-writes while the standby lags', async () => {
    await replicaAdmin.query('select pg_wal_replay_pause()');
    // A pause is a request: wait until replay has really stopped.
    await eventually(async () => {
      const { rows } = await replicaAdmin.query<{ state: string }>(
        'select pg_get_wal_replay_pause_state() as state',
      );
      return rows[0]?.state === 'paused' ? true : undefined;
    });
    try {
      const user = newUser('lagging_bob');
      await store.users.insert(user);
      // The primary has it at once; the paused standby does not, which proves where each read went.
      expect(await store.users.findById(user.id)).toEqual(user);
      expect(await store.lagTolerant.users.findById(user.id)).toBeUndefined();
      await replicaAdmin.query('select pg_wal_replay_resume()');
      expect(await eventually(() => store.lagTolerant.users.findById(user.id))).toEqual(user);
    } finally {
      await replicaAdmin.query('select pg_wal_replay_resume()').catch(() => undefined);
    }
  });

  it('sends writes and transactions to the primary even through the lag-tolerant repositories', async () => {
    const user = newUser('written_via_replica_view');
    // The standby is read-only: this insert would fail there.
    await store.lagTolerant.users.insert(user);
    expect(await store.users.findById(user.id)).toEqual(user);
    await store.transaction(async (tx) => {
      await tx.users.insert(newUser('in_transaction'));
      expect(await tx.users.findByUsername('in_transaction')).toBeDefined();
    });
    const { rows } = await replicaAdmin.query<{ recovery: boolean }>(
      'select pg_is_in_recovery() as recovery',
    );
    expect(rows[0]?.recovery).toBe(true);
  });
});
