import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createMysqlStore } from './mysql.js';
import { createPostgresStore } from './postgres.js';
import type { StoreQueryEvent } from './query-log.js';
import { createSqliteStore } from './sqlite.js';
import { testDatabaseUrl } from './test-support.js';

const factories = {
  sqlite: (onQuery: (event: StoreQueryEvent) => void) => createSqliteStore({ filename: ':memory:', onQuery }),
  postgres: (onQuery: (event: StoreQueryEvent) => void) =>
    createPostgresStore({ connectionString: testDatabaseUrl('postgres')!, maxConnections: 1, onQuery }),
  mysql: (onQuery: (event: StoreQueryEvent) => void) =>
    createMysqlStore({ connectionString: testDatabaseUrl('mysql')!, maxConnections: 1, onQuery }),
} as const;

describe.each(Object.keys(factories) as (keyof typeof factories)[])('onQuery on %s', (dialect) => {
  const skip = testDatabaseUrl(dialect) === undefined;

  it.skipIf(skip)('hears every statement with its duration, and failures with their error', async () => {
    const events: StoreQueryEvent[] = [];
    const store: KyselyChatStore = await factories[dialect]((event) => events.push(event));
    try {
      events.length = 0;
      await sql`select 1 as one`.execute(store.db);
      expect(events).toHaveLength(1);
      expect(events[0]!.sql).toBe('select 1 as one');
      expect(events[0]!.durationMs).toBeGreaterThanOrEqual(0);
      expect(events[0]).not.toHaveProperty('error');

      events.length = 0;
      const failure = await sql`select * from kaiwa_no_such_table`.execute(store.db).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(Error);
      expect(events).toEqual([
        { sql: 'select * from kaiwa_no_such_table', durationMs: expect.any(Number), error: failure },
      ]);

      events.length = 0;
      await store.db.transaction().execute((trx) => sql`select 2 as two`.execute(trx));
      expect(events.map((event) => event.sql.toLowerCase())).toEqual(['begin', 'select 2 as two', 'commit']);
    } finally {
      await store.close();
    }
  });

  it.skipIf(skip)('ignores a listener that throws', async () => {
    const store = await factories[dialect](() => {
      throw new Error('broken listener');
    });
    try {
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
      expect(Number(rows[0]!.one)).toBe(1);
    } finally {
      await store.close();
    }
  });
});
