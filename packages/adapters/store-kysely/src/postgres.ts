import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { queryLogOption, type StoreObservability } from './query-log.js';

export type PostgresStoreConfig = StoreObservability &
  (
    | {
        /** e.g. `postgres://kaiwa:secret@127.0.0.1:5432/kaiwa`. */
        connectionString: string;
        /** Pool size; pg's default is 10. */
        maxConnections?: number;
        pool?: never;
      }
    | {
        /** A `pg` Pool; the store ends it on `close()`. Tables go to the pool's `search_path` schema. */
        pool: PostgresPool;
        connectionString?: never;
        maxConnections?: never;
      }
  );

/**
 * A store on PostgreSQL through `pg`. Call `migrate()` before first use.
 *
 * @throws when pg is not installed, naming the version to install.
 * @example
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 * await store.migrate();
 */
export async function createPostgresStore(config: PostgresStoreConfig): Promise<KyselyChatStore> {
  let pool = config.pool;
  if (pool === undefined) {
    const { default: pg } = await importDriver('pg', '^8.13.0', () => import('pg'));
    pool = new pg.Pool({
      connectionString: config.connectionString,
      ...(config.maxConnections === undefined ? {} : { max: config.maxConnections }),
    });
  }
  const db = new Kysely<KaiwaDatabase>({
    dialect: new PostgresDialect({ pool }),
    ...queryLogOption(config.onQuery),
  });
  return new KyselyChatStore({ db, dialect: 'postgres' });
}
