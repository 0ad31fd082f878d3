import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseBusyError, DatabaseUnavailableError } from '@kaiwa/core';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { isDatabaseBusy, isDatabaseUnavailable, translateDriverError } from './driver-errors.js';
import { testDatabaseUrl, testSkipReason } from './test-support.js';

/*
 * The classifier is tested on errors the real drivers throw, provoked against real servers: a port
 * nobody listens on, a backend terminated with pg_terminate_backend, a MariaDB session ended with KILL,
 * a SQLite file another connection holds locked.
 */

const postgresUrl = testDatabaseUrl('postgres');
const mysqlUrl = testDatabaseUrl('mysql');
if (postgresUrl === undefined)
  console.info(`PostgreSQL driver error tests skipped: ${testSkipReason('postgres')}`);
if (mysqlUrl === undefined) console.info(`MariaDB driver error tests skipped: ${testSkipReason('mysql')}`);

async function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

function expectUnavailable(error: unknown): void {
  expect(isDatabaseUnavailable(error)).toBe(true);
  const translated = translateDriverError(error);
  expect(translated).toBeInstanceOf(DatabaseUnavailableError);
  expect(translated).toMatchObject({ code: 'database_unavailable', retryable: true, cause: error });
}

function expectPassedThrough(error: unknown): void {
  expect(isDatabaseUnavailable(error)).toBe(false);
  expect(isDatabaseBusy(error)).toBe(false);
  expect(translateDriverError(error)).toBe(error);
}

describe.skipIf(postgresUrl === undefined)('pg errors', () => {
  const url = postgresUrl!;

  it('a refused connection is unavailable', async () => {
    const client = new pg.Client({
      connectionString: `postgres://postgres@127.0.0.1:${await unusedPort()}/x`,
    });
    const error = await caught(() => client.connect());
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expectUnavailable(error);
  });

  it('a backend terminated mid-query (57P01), and the dead client afterwards, are unavailable', async () => {
    const victim = new pg.Client({ connectionString: url });
    const killer = new pg.Client({ connectionString: url });
    await Promise.all([victim.connect(), killer.connect()]);
    victim.on('error', () => {});
    try {
      const { rows } = await victim.query<{ pid: number }>('select pg_backend_pid() as pid');
      const sleeping = caught(() => victim.query('select pg_sleep(10)'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await killer.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      const terminated = await sleeping;
      expect(terminated).toMatchObject({ code: '57P01' });
      expectUnavailable(terminated);
      const afterwards = await caught(() => victim.query('select 1'));
      expectUnavailable(afterwards);
    } finally {
      await killer.end();
      await victim.end().catch(() => undefined);
    }
  });

  it('a unique violation and a syntax error pass through unchanged', async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('create temporary table driver_errors (id int primary key)');
      await client.query('insert into driver_errors values (1)');
      const duplicate = await caught(() => client.query('insert into driver_errors values (1)'));
      expect(duplicate).toMatchObject({ code: '23505' });
      expectPassedThrough(duplicate);
      const syntax = await caught(() => client.query('selec 1'));
      expect(syntax).toMatchObject({ code: '42601' });
      expectPassedThrough(syntax);
    } finally {
      await client.end();
    }
  });
});

describe.skipIf(mysqlUrl === undefined)('mysql2 errors', () => {
  const url = mysqlUrl!;

  it('a refused connection is unavailable', async () => {
    const error = await caught(() => mysql.createConnection({ host: '127.0.0.1', port: 1, user: 'root' }));
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expectUnavailable(error);
  });

  it('a session ended with KILL mid-query, and the dead connection afterwards, are unavailable', async () => {
    const victim = await mysql.createConnection({ uri: url });
    const killer = await mysql.createConnection({ uri: url });
    victim.on('error', () => {});
    try {
      const sleeping = caught(() => victim.query('select sleep(10)'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await killer.query(`kill ${victim.threadId}`);
      const killed = await sleeping;
      expect(killed).toHaveProperty('code');
      expectUnavailable(killed);
      const afterwards = await caught(() => victim.query('select 1'));
      expectUnavailable(afterwards);
    } finally {
      await killer.end();
      victim.destroy();
    }
  });

  it('KILL QUERY is unavailable (the statement was interrupted, the session lives on)', async () => {
    const victim = await mysql.createConnection({ uri: url });
    const killer = await mysql.createConnection({ uri: url });
    try {
      const sleeping = caught(() => victim.query('select sleep(10)'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await killer.query(`kill query ${victim.threadId}`);
      const interrupted = await sleeping;
      expect(interrupted).toMatchObject({ errno: 1317 });
      expectUnavailable(interrupted);
    } finally {
      await killer.end();
      await victim.end();
    }
  });

  it('a user over its connection limit (1226) is unavailable', async () => {
    const admin = await mysql.createConnection({ uri: url });
    const user = `kaiwa_limit_${process.pid}`;
    await admin.query(`create user if not exists '${user}'@'%' with max_user_connections 1`);
    await admin.query(`create user if not exists '${user}'@'localhost' with max_user_connections 1`);
    const target = new URL(url);
    target.username = user;
    target.pathname = '/';
    const first = await mysql.createConnection({ uri: target.toString() });
    try {
      const error = await caught(() => mysql.createConnection({ uri: target.toString() }));
      expect(error).toMatchObject({ code: 'ER_USER_LIMIT_REACHED', errno: 1226 });
      expectUnavailable(error);
    } finally {
      await first.end();
      await admin.query(`drop user if exists '${user}'@'%'`);
      await admin.query(`drop user if exists '${user}'@'localhost'`);
      await admin.end();
    }
  });

  it('a duplicate key passes through unchanged', async () => {
    const connection = await mysql.createConnection({ uri: url });
    try {
      await connection.query('create temporary table driver_errors (id int primary key)');
      await connection.query('insert into driver_errors values (1)');
      const duplicate = await caught(() => connection.query('insert into driver_errors values (1)'));
      expect(duplicate).toMatchObject({ code: 'ER_DUP_ENTRY' });
      expectPassedThrough(duplicate);
    } finally {
      await connection.end();
    }
  });
});

describe('better-sqlite3 errors', () => {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-driver-errors-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('a write lock held by another connection is busy, not unavailable', () => {
    const filename = join(folder, 'locked.db');
    const holder = new Database(filename);
    const writer = new Database(filename);
    try {
      holder.exec('create table items (id integer primary key)');
      writer.pragma('busy_timeout = 0');
      holder.exec('begin immediate');
      let error: unknown;
      try {
        writer.exec('insert into items values (1)');
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toMatchObject({ code: 'SQLITE_BUSY' });
      expect(isDatabaseBusy(error)).toBe(true);
      expect(isDatabaseUnavailable(error)).toBe(false);
      const translated = translateDriverError(error);
      expect(translated).toBeInstanceOf(DatabaseBusyError);
      expect(translated).toMatchObject({ code: 'busy', retryable: true, cause: error });
      holder.exec('rollback');
    } finally {
      holder.close();
      writer.close();
    }
  });

  it('a constraint violation passes through unchanged', () => {
    const database = new Database(':memory:');
    try {
      database.exec('create table items (id integer primary key)');
      database.exec('insert into items values (1)');
      let error: unknown;
      try {
        database.exec('insert into items values (1)');
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      expectPassedThrough(error);
    } finally {
      database.close();
    }
  });
});
