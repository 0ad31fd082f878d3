import { randomBytes } from 'node:crypto';
import type { StoreDialect } from '@kaiwa/core';
import { type Kysely, type Migrator, type MysqlPool, sql } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import type { KyselyChatStore } from './kysely-chat-store.js';
import { createKyselyStorage, type KyselyStorage } from './kysely-storage.js';
import { kaiwaMigrator } from './migrations/index.js';
import type { KyselyStorageModule, RepositoriesOf } from './modules/storage-module.js';
import { createMysqlStore } from './mysql.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';

/*
 * Test helpers, not part of the public API: every call to `openTestStore` gets a database of its own, so
 * test files can run in parallel against one PostgreSQL or MariaDB server.
 */

const ENVIRONMENT = {
  postgres: { variable: 'KAIWA_TEST_PG_URL', example: 'postgres://postgres@127.0.0.1:5432/test' },
  mysql: { variable: 'KAIWA_TEST_MYSQL_URL', example: 'mysql://root@127.0.0.1:3306/test' },
} as const;

/** Where a dialect's test server is, from the environment; SQLite needs none. */
export function testDatabaseUrl(dialect: StoreDialect): string | undefined {
  if (dialect === 'sqlite') return ':memory:';
  return process.env[ENVIRONMENT[dialect].variable] || undefined;
}

/** Why a dialect's tests cannot run here, or undefined when they can. */
export function testSkipReason(dialect: StoreDialect): string | undefined {
  if (testDatabaseUrl(dialect) !== undefined) return undefined;
  const { variable, example } = ENVIRONMENT[dialect as 'postgres' | 'mysql'];
  return `set ${variable}=${example} to run them`;
}

function isolatedName(): string {
  return `kaiwa_t_${randomBytes(6).toString('hex')}`;
}

/** Runs `cleanup` after the store has closed its connections, once. */
function closeThen(store: KyselyChatStore, cleanup: () => Promise<void>): KyselyChatStore {
  const close = store.close.bind(store);
  let closing: Promise<void> | undefined;
  store.close = () => {
    closing ??= close().then(cleanup);
    return closing;
  };
  return store;
}

async function openPostgres(url: string): Promise<KyselyChatStore> {
  const { default: pg } = await import('pg');
  const schema = isolatedName();
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create schema ${schema}`);
  const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${schema}`, max: 8 });
  const store = await createPostgresStore({ pool });
  return closeThen(store, () => admin(`drop schema ${schema} cascade`));
}

async function openMysql(url: string): Promise<KyselyChatStore> {
  const { default: mysql } = await import('mysql2');
  const { createConnection } = await import('mysql2/promise');
  const database = isolatedName();
  const admin = async (statement: string) => {
    const connection = await createConnection({ uri: url });
    try {
      await connection.query(statement);
    } finally {
      await connection.end();
    }
  };
  await admin(`create database ${database} character set utf8mb4 collate utf8mb4_bin`);
  const target = new URL(url);
  target.pathname = `/${database}`;
  const pool = mysql.createPool({
    uri: target.toString(),
    charset: 'UTF8MB4_UNICODE_CI',
    connectionLimit: 8,
  });
  const store = await createMysqlStore({ pool: pool as unknown as MysqlPool });
  return closeThen(store, () => admin(`drop database ${database}`));
}

/**
 * A migrated store on a database of its own: SQLite in memory, a fresh PostgreSQL schema or a fresh
 * MariaDB/MySQL database. `close()` drops the schema or database again.
 *
 * @param options.migrate false leaves the database empty, for tests of the migrations themselves.
 * @throws when the dialect's URL variable is not set (see `testSkipReason`).
 * @example
 * const store = await openTestStore('postgres');
 * try { await store.users.insert(user); } finally { await store.close(); }
 */
export async function openTestStore(
  dialect: StoreDialect,
  options: { migrate?: boolean } = {},
): Promise<KyselyChatStore> {
  const url = testDatabaseUrl(dialect);
  if (url === undefined) throw new Error(`cannot open a ${dialect} test store: ${testSkipReason(dialect)}`);
  const store =
    dialect === 'sqlite'
      ? await createSqliteStore({ filename: url })
      : dialect === 'postgres'
        ? await openPostgres(url)
        : await openMysql(url);
  if (options.migrate === false) return store;
  try {
    await store.migrate();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/**
 * A migrator of every Kaiwa migration for a test store opened with `migrate: false`, to step through them
 * (`migrateTo('0009_knowledge')`). Pinned to the store's own schema, as `migrateToLatest` does: kysely's
 * Migrator otherwise takes another test file's kysely_migration_lock (files run in parallel on one database).
 *
 * @example
 * const migrator = await testMigrator(store, 'postgres');
 * expect((await migrator.migrateTo('0007_audit_log')).error).toBeUndefined();
 */
export async function testMigrator(store: KyselyChatStore, dialect: StoreDialect): Promise<Migrator> {
  return kaiwaMigrator(store.db, dialect);
}

/** The dialects every storage test runs on, each with the reason it is skipped here (undefined: it runs). */
export const testDialects: { dialect: StoreDialect; skip: string | undefined }[] = (
  ['sqlite', 'postgres', 'mysql'] as const
).map((dialect) => ({ dialect, skip: testSkipReason(dialect) }));

/**
 * Migrated storage of only `modules`, on a database of its own (as `openTestStore`); `close()` drops it.
 *
 * @example
 * const storage = await openTestStorage('mysql', [auditStorageModule]);
 * try { await storage.audit.append(entry, seal); } finally { await storage.close(); }
 */
export async function openTestStorage<const Modules extends readonly KyselyStorageModule[]>(
  dialect: StoreDialect,
  modules: Modules,
): Promise<KyselyStorage<RepositoriesOf<Modules>>> {
  // The store only provides the empty database and its connection; the storage on the same connection
  // closes it (kysely destroys a connection once), then the store drops the database.
  const database = await openTestStore(dialect, { migrate: false });
  const storage = createKyselyStorage({ db: database.db, dialect, modules });
  const close = async () => {
    try {
      await storage.close();
    } finally {
      await database.close();
    }
  };
  try {
    await storage.migrate();
  } catch (error) {
    await close();
    throw error;
  }
  return { ...storage, close };
}

/**
 * A second store on the database `db` belongs to (a PostgreSQL schema or MariaDB/MySQL database from
 * `openTestStore` or `openTestStorage`), on a connection pool of its own: another server instance sharing the
 * database, for tests of what two instances do at once. Its `close()` ends only its pool. Not for SQLite.
 *
 * @example
 * const storage = await openTestStorage('postgres', [pluginStorageModule]);
 * const peer = await openTestPeer('postgres', storage.db);
 */
export async function openTestPeer(
  dialect: StoreDialect,
  db: Kysely<KaiwaDatabase>,
): Promise<KyselyChatStore> {
  const url = testDatabaseUrl(dialect);
  if (url === undefined || dialect === 'sqlite') {
    throw new Error(
      `no test peer for ${dialect}: ${testSkipReason(dialect) ?? 'SQLite in memory is one connection'}`,
    );
  }
  if (dialect === 'postgres') {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, options: `-c search_path=${rows[0]?.schema}`, max: 8 });
    return createPostgresStore({ pool });
  }
  const { rows } = await sql<{ name: string }>`select database() as name`.execute(db);
  const { default: mysql } = await import('mysql2');
  const target = new URL(url);
  target.pathname = `/${rows[0]?.name}`;
  const pool = mysql.createPool({
    uri: target.toString(),
    charset: 'UTF8MB4_UNICODE_CI',
    connectionLimit: 8,
  });
  return createMysqlStore({ pool: pool as unknown as MysqlPool });
}
