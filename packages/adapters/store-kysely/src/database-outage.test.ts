import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createId, DatabaseBusyError, DatabaseUnavailableError, type User } from '@kaiwa/core';
import Database from 'better-sqlite3';
import type { MysqlPool } from 'kysely';
import mysql from 'mysql2';
import mysqlPromise from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseAvailabilityChange } from './driver-error-dialect.js';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createMysqlStore } from './mysql.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import { testDatabaseUrl, testSkipReason } from './test-support.js';

/*
 * The store when its database goes away under it: sessions terminated from another connection (on the
 * shared test servers, so only this store's own sessions, found by a name of their own), a SQLite file
 * locked by another connection. The process must stay up, failures must be typed and retryable, a
 * transaction cut off half-way must leave nothing behind, and the store must work again by itself.
 */

const postgresUrl = testDatabaseUrl('postgres');
const mysqlUrl = testDatabaseUrl('mysql');
if (postgresUrl === undefined) console.info(`PostgreSQL outage tests skipped: ${testSkipReason('postgres')}`);
if (mysqlUrl === undefined) console.info(`MariaDB outage tests skipped: ${testSkipReason('mysql')}`);

function userFixture(): User {
  const at = new Date().toISOString();
  return {
    id: createId(),
    username: `outage-${randomBytes(4).toString('hex')}`,
    displayName: 'Someone',
    role: 'member',
    forcePasswordChange: false,
    createdAt: at,
    updatedAt: at,
  };
}

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** Retries `work` on retryable errors, as a client would, until it succeeds or `timeoutMs` passes. */
async function eventually<T>(work: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof DatabaseUnavailableError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

interface OutageFixture {
  store: KyselyChatStore;
  changes: DatabaseAvailabilityChange[];
  /** Ends every session of this store from the outside; resolves with how many there were. */
  killSessions(): Promise<number>;
  close(): Promise<void>;
}

async function postgresFixture(url: string): Promise<OutageFixture> {
  const name = `kaiwa_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create schema ${name}`);
  // The application name tells this store's sessions apart from everyone else's on the shared server.
  const pool = new pg.Pool({
    connectionString: url,
    options: `-c search_path=${name}`,
    application_name: name,
    max: 4,
  });
  const changes: DatabaseAvailabilityChange[] = [];
  const store = await createPostgresStore({ pool, onAvailabilityChange: (change) => changes.push(change) });
  await store.migrate();
  return {
    store,
    changes,
    async killSessions() {
      const { rows } = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1',
        [name],
      );
      return rows.length;
    },
    async close() {
      await store.close();
      await admin.query(`drop schema ${name} cascade`);
      await admin.end();
    },
  };
}

async function mysqlFixture(url: string): Promise<OutageFixture> {
  const name = `kaiwa_t_${randomBytes(6).toString('hex')}`;
  const admin = await mysqlPromise.createConnection({ uri: url });
  await admin.query(`create database ${name} character set utf8mb4 collate utf8mb4_bin`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const pool = mysql.createPool({
    uri: target.toString(),
    charset: 'UTF8MB4_UNICODE_CI',
    connectionLimit: 4,
  });
  const changes: DatabaseAvailabilityChange[] = [];
  const store = await createMysqlStore({
    pool: pool as unknown as MysqlPool,
    onAvailabilityChange: (change) => changes.push(change),
  });
  await store.migrate();
  return {
    store,
    changes,
    async killSessions() {
      // The database of its own tells this store's sessions apart from everyone else's.
      const [rows] = await admin.query<mysqlPromise.RowDataPacket[]>(
        'select id from information_schema.processlist where db = ? and id <> connection_id()',
        [name],
      );
      for (const row of rows) await admin.query(`kill ${Number(row.id)}`).catch(() => undefined);
      return rows.length;
    },
    async close() {
      await store.close();
      await admin.query(`drop database ${name}`);
      await admin.end();
    },
  };
}

const servers = [
  { name: 'PostgreSQL', url: postgresUrl, open: postgresFixture },
  { name: 'MariaDB/MySQL', url: mysqlUrl, open: mysqlFixture },
];

for (const server of servers) {
  describe.skipIf(server.url === undefined)(`${server.name} store whose sessions are killed`, () => {
    let fixture: OutageFixture;

    beforeAll(async () => {
      fixture = await server.open(server.url!);
    });

    afterAll(async () => {
      await fixture?.close();
    });

    it('survives its idle pooled connections being killed and reconnects by itself', async () => {
      // Fill the pool with idle connections, then end them all while nothing is running.
      await Promise.all(Array.from({ length: 4 }, () => fixture.store.users.count()));
      expect(await fixture.killSessions()).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The first calls may still pick a dead connection; then the pool has opened new ones.
      const user = userFixture();
      await eventually(() => fixture.store.users.insert(user));
      expect(await fixture.store.users.findById(user.id)).toEqual(user);
    });

    it('fails a transaction cut off half-way with a retryable error and keeps none of it', async () => {
      fixture.changes.length = 0;
      const first = userFixture();
      const second = userFixture();
      const error = await caught(() =>
        fixture.store.transaction(async (tx) => {
          await tx.users.insert(first);
          await fixture.killSessions();
          await tx.users.insert(second);
        }),
      );
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
      expect(error).toMatchObject({ code: 'database_unavailable', retryable: true });
      expect(await eventually(() => fixture.store.users.findById(first.id))).toBeUndefined();
      expect(await fixture.store.users.findById(second.id)).toBeUndefined();
      // One outage, heard once when it began and once when it ended.
      expect(fixture.changes.map((change) => change.available)).toEqual([false, true]);
    });

    it('passes other errors through unchanged (a duplicate username is still a conflict)', async () => {
      const user = userFixture();
      await fixture.store.users.insert(user);
      const error = await caught(() =>
        fixture.store.users.insert({ ...userFixture(), username: user.username }),
      );
      expect(error).toMatchObject({ code: 'conflict' });
    });
  });
}

describe('PostgreSQL store on a server that is not there', () => {
  it('answers database_unavailable instead of hanging or crashing', async () => {
    const store = await createPostgresStore({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    try {
      const error = await caught(() => store.users.count());
      expect(error).toBeInstanceOf(DatabaseUnavailableError);
    } finally {
      await store.close();
    }
  });
});

describe('SQLite store on a file another connection holds locked', () => {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-sqlite-busy-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('answers busy (retryable) while the lock is held, writes nothing, and works once it is released', async () => {
    const filename = join(folder, 'kaiwa.db');
    const store = await createSqliteStore({ filename, busyTimeoutMs: 100 });
    await store.migrate();
    const holder = new Database(filename);
    try {
      holder.exec('begin immediate');
      const user = userFixture();
      const started = Date.now();
      const error = await caught(() => store.transaction((tx) => tx.users.insert(user)));
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(error).toBeInstanceOf(DatabaseBusyError);
      expect(error).toMatchObject({ code: 'busy', retryable: true });
      holder.exec('rollback');
      expect(await store.users.findById(user.id)).toBeUndefined();
      await store.users.insert(user);
      expect(await store.users.findById(user.id)).toEqual(user);
    } finally {
      holder.close();
      await store.close();
    }
  });
});
