import { CompiledQuery, Kysely, MysqlDialect, type MysqlPool } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { queryLogOption, type StoreObservability } from './query-log.js';

export type MysqlStoreConfig = StoreObservability &
  (
    | {
        /** e.g. `mysql://kaiwa:secret@127.0.0.1:3306/kaiwa`. */
        connectionString: string;
        /** Pool size; mysql2's default is 10. */
        maxConnections?: number;
        pool?: never;
      }
    | {
        /** A mysql2 pool from `createPool` (the callback API, not `mysql2/promise`); ended on `close()`. */
        pool: MysqlPool;
        connectionString?: never;
        maxConnections?: never;
      }
  );

/**
 * A store on MariaDB or MySQL through mysql2. Tables are InnoDB in utf8mb4, so 4-byte characters such
 * as emoji round-trip. Call `migrate()` before first use.
 *
 * @throws when mysql2 is not installed, naming the version to install.
 * @example
 * const store = await createMysqlStore({ connectionString: 'mysql://kaiwa:secret@127.0.0.1:3306/kaiwa' });
 * await store.migrate();
 */
export async function createMysqlStore(config: MysqlStoreConfig): Promise<KyselyChatStore> {
  let pool = config.pool;
  if (pool === undefined) {
    const { default: mysql } = await importDriver('mysql2', '^3.11.0', () => import('mysql2'));
    pool = mysql.createPool({
      uri: config.connectionString,
      charset: 'UTF8MB4_UNICODE_CI',
      ...(config.maxConnections === undefined ? {} : { connectionLimit: config.maxConnections }),
    }) as unknown as MysqlPool;
  }
  const db = new Kysely<KaiwaDatabase>({
    dialect: new MysqlDialect({
      pool,
      // A pool someone else made may speak 3-byte utf8, which cannot carry emoji.
      onCreateConnection: async (connection) => {
        await connection.executeQuery(CompiledQuery.raw('set names utf8mb4'));
      },
    }),
    ...queryLogOption(config.onQuery),
  });
  return new KyselyChatStore({ db, dialect: 'mysql' });
}
