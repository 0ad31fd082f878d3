import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ChatStore } from '@kaiwa/core';
import {
  createMysqlStore,
  createPostgresStore,
  createSqliteStore,
  type DatabaseAvailabilityChange,
  type SqliteSynchronous,
  type StoreQueryListener,
} from '@kaiwa/store-kysely';
import { isSqlitePath } from '../config.js';

/**
 * Opens the store a database setting names: a SQLite file (its folder is created) or `:memory:`, a
 * `postgres://` URL (with optional read replicas) or a `mysql://` / `mariadb://` URL. The schema is not
 * migrated here. `onAvailabilityChange` hears once when the database stops answering and once when it
 * answers again (PostgreSQL and MariaDB/MySQL).
 *
 * @example const store = await openStore('.data/kaiwa.sqlite');
 */
export async function openStore(
  databaseUrl: string,
  options: {
    replicaUrls?: string[];
    /** SQLite's `synchronous`: `full` (the store's default), `full-async` or `normal`. */
    sqliteSynchronous?: SqliteSynchronous;
    onAvailabilityChange?: (change: DatabaseAvailabilityChange) => void;
    /** Hears every statement (tracing spans); none: kysely does no timing. */
    onQuery?: StoreQueryListener;
  } = {},
): Promise<ChatStore> {
  if (isSqlitePath(databaseUrl)) {
    // The data folder holds chat history, uploads and the token secret: this user only (0700).
    if (databaseUrl !== ':memory:') mkdirSync(dirname(databaseUrl), { recursive: true, mode: 0o700 });
    return createSqliteStore({
      filename: databaseUrl,
      ...(options.sqliteSynchronous ? { synchronous: options.sqliteSynchronous } : {}),
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//i.test(databaseUrl)) {
    return createPostgresStore({
      connectionString: databaseUrl,
      replicaConnectionStrings: options.replicaUrls ?? [],
      ...(options.onAvailabilityChange ? { onAvailabilityChange: options.onAvailabilityChange } : {}),
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
  }
  // mysql2 only knows the mysql:// scheme; MariaDB speaks the same protocol.
  return createMysqlStore({
    connectionString: databaseUrl.replace(/^mariadb:\/\//i, 'mysql://'),
    ...(options.onAvailabilityChange ? { onAvailabilityChange: options.onAvailabilityChange } : {}),
    ...(options.onQuery ? { onQuery: options.onQuery } : {}),
  });
}

/** The database setting with any password masked, for logs. */
export function describeDatabase(databaseUrl: string): string {
  if (isSqlitePath(databaseUrl)) return `SQLite ${databaseUrl}`;
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return databaseUrl.replace(/\/\/[^@/]*@/, '//***@');
  }
}
