import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createMysqlStore, createPostgresStore, type KyselyChatStore } from '@kaiwa/store-kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test-support.js';
import { ServerMetrics } from './server-metrics.js';

/*
 * The database pool gauges on real PostgreSQL and MariaDB/MySQL: a pool of two whose connections the test
 * holds makes the store's next call wait, and the gauges say so; a server started on the database by URL
 * exposes them. Each run gets a database of its own, dropped afterwards. Skipped (with a line saying how to
 * run them) when the test database URLs are not set. On SQLite the gauges are declared but have no series.
 */

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

/** A connection of the test's own pool, held until released. */
interface Held {
  release(): void;
}

interface Dialect {
  name: string;
  variable: string;
  example: string;
  admin: (url: string, statement: string) => Promise<void>;
  /** A store on a pool of `max` connections, and a way to take one of them. */
  openStore: (url: string, max: number) => Promise<{ store: KyselyChatStore; hold: () => Promise<Held> }>;
}

const dialects: Dialect[] = [
  {
    name: 'PostgreSQL',
    variable: 'KAIWA_TEST_PG_URL',
    example: 'postgres://postgres@127.0.0.1:5432/test',
    admin: async (url, statement) => {
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    },
    openStore: async (url, max) => {
      const { default: pg } = await import('pg');
      const pool = new pg.Pool({ connectionString: url, max });
      const store = await createPostgresStore({ pool });
      return { store, hold: async () => await pool.connect() };
    },
  },
  {
    name: 'MariaDB/MySQL',
    variable: 'KAIWA_TEST_MYSQL_URL',
    example: 'mysql://root@127.0.0.1:3306/test',
    admin: async (url, statement) => {
      const { createConnection } = await import('mysql2/promise');
      const connection = await createConnection({ uri: url });
      try {
        await connection.query(statement);
      } finally {
        await connection.end();
      }
    },
    openStore: async (url, max) => {
      const { default: mysql } = await import('mysql2');
      const pool = mysql.createPool({ uri: url, connectionLimit: max, charset: 'UTF8MB4_UNICODE_CI' });
      const store = await createMysqlStore({ pool: pool as never });
      const hold = () =>
        new Promise<Held>((resolve, reject) =>
          pool.getConnection((error, connection) => (error ? reject(error) : resolve(connection))),
        );
      return { store, hold };
    },
  },
];

/** The sample lines of the pool gauges in a /metrics text. */
function poolSamples(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('kaiwa_database_pool_'));
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('database pool gauges on SQLite', () => {
  let test: TestServer;
  beforeAll(async () => {
    test = await startTestServer();
  });
  afterAll(async () => {
    await test?.close();
  });

  it('are declared, with no series: SQLite has no pool', async () => {
    const text = (await test.call('GET', '/metrics')).body;
    expect(text).toMatch(/^# TYPE kaiwa_database_pool_connections gauge$/m);
    expect(text).toMatch(/^# TYPE kaiwa_database_pool_waiting_requests gauge$/m);
    expect(text).toMatch(/^# TYPE kaiwa_database_pool_max_connections gauge$/m);
    expect(poolSamples(text)).toEqual([]);
  });
});

for (const dialect of dialects) {
  const url = process.env[dialect.variable];
  if (!url) {
    console.info(
      `[database pool gauges on ${dialect.name}] skipped: set ${dialect.variable}=${dialect.example}`,
    );
  }

  describe.skipIf(!url)(`database pool gauges on ${dialect.name}`, () => {
    const database = `kaiwa_pool_${randomBytes(5).toString('hex')}`;
    let own: string;

    beforeAll(async () => {
      await dialect.admin(url!, `create database ${database}`);
      const parsed = new URL(url!);
      parsed.pathname = `/${database}`;
      own = parsed.toString();
    });
    afterAll(async () => {
      await dialect.admin(url!, `drop database ${database}`);
    });

    it('count idle and in-use connections and the requests waiting for one', async () => {
      const { store, hold } = await dialect.openStore(own, 2);
      const held: Held[] = [];
      try {
        await store.migrate();
        const metrics = new ServerMetrics({ collectProcessMetrics: false });
        metrics.watch({ databasePools: () => store.poolStatus() });

        // Both connections taken: the store's next call queues for one.
        held.push(await hold(), await hold());
        const waiting = store.users.findByUsername('nobody');
        await until('no request waiting', () => store.poolStatus()[0]?.waiting === 1);
        const busy = await metrics.registry.metrics();
        expect(poolSamples(busy).sort()).toEqual([
          'kaiwa_database_pool_connections{pool="primary",state="idle"} 0',
          'kaiwa_database_pool_connections{pool="primary",state="in_use"} 2',
          'kaiwa_database_pool_max_connections{pool="primary"} 2',
          'kaiwa_database_pool_waiting_requests{pool="primary"} 1',
        ]);
        if (hasPromtool) {
          const lint = spawnSync('promtool', ['check', 'metrics'], { input: busy, encoding: 'utf8' });
          expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('');
        }

        // Given back: the waiting call runs, then every connection is idle.
        for (const connection of held.splice(0)) connection.release();
        await expect(waiting).resolves.toBeUndefined();
        await until('connections not idle', () => store.poolStatus()[0]?.idle === 2);
        expect(store.poolStatus()).toEqual([{ pool: 'primary', open: 2, idle: 2, waiting: 0, max: 2 }]);
        expect(poolSamples(await metrics.registry.metrics()).sort()).toEqual([
          'kaiwa_database_pool_connections{pool="primary",state="idle"} 2',
          'kaiwa_database_pool_connections{pool="primary",state="in_use"} 0',
          'kaiwa_database_pool_max_connections{pool="primary"} 2',
          'kaiwa_database_pool_waiting_requests{pool="primary"} 0',
        ]);
      } finally {
        for (const connection of held) connection.release();
        await store.close();
      }
    });

    it('are on the /metrics of a server started on the database by URL', async () => {
      const test = await startTestServer({ databaseUrl: own });
      try {
        expect((await test.call('GET', '/ready')).statusCode).toBe(200); // a query, just before the scrape
        const text = (await test.call('GET', '/metrics')).body;
        // The default pool: ten connections at most (pg's and mysql2's default), at least one opened.
        expect(text).toMatch(/^kaiwa_database_pool_max_connections\{pool="primary"\} 10$/m);
        expect(text).toMatch(/^kaiwa_database_pool_waiting_requests\{pool="primary"\} 0$/m);
        const idle = /^kaiwa_database_pool_connections\{pool="primary",state="idle"\} (\d+)$/m.exec(text);
        expect(Number(idle?.[1])).toBeGreaterThanOrEqual(1);
        expect(text).toMatch(/^kaiwa_database_pool_connections\{pool="primary",state="in_use"\} \d+$/m);
      } finally {
        await test.close();
      }
    });
  });
}
