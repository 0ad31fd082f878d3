import { CompiledQuery, Kysely, MysqlDialect, type MysqlPool } from 'kysely';
import type { KaiwaDatabase } from './database.js';
import { DatabaseAvailability, type StoreAvailability, withDriverErrors } from './driver-error-dialect.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { mysqlPoolStatus } from './pool-status.js';
import { queryLogOption, type StoreObservability } from './query-log.js';

export type MysqlStoreConfig = StoreObservability &
  StoreAvailability &
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
 * The process survives the database going away (a restart, `KILL` of a session, too many connections):
 * every pooled connection keeps an `error` listener, calls fail with a retryable
 * `DatabaseUnavailableError` while the server does not answer, mysql2's pool drops dead connections and
 * opens new ones once it does, and `onAvailabilityChange` hears about the outage once.
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
      // A server that does not answer fails a request after 5 s instead of mysql2's 10 s.
      connectTimeout: 5000,
      ...(config.maxConnections === undefined ? {} : { connectionLimit: config.maxConnections }),
    }) as unknown as MysqlPool;
  }
  const availability = new DatabaseAvailability(config.onAvailabilityChange);
  watchPool(pool, availability);
  const db = new Kysely<KaiwaDatabase>({
    dialect: withDriverErrors(
      new MysqlDialect({
        pool,
        // A pool someone else made may speak 3-byte utf8, which cannot carry emoji.
        onCreateConnection: async (connection) => {
          await connection.executeQuery(CompiledQuery.raw('set names utf8mb4'));
        },
      }),
      availability,
    ),
    ...queryLogOption(config.onQuery),
  });
  return new KyselyChatStore({ db, dialect: 'mysql', pools: [mysqlPoolStatus('primary', pool)] });
}

interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * mysql2's pooled connections listen for `error` only once (to leave the pool), so a second fatal error
 * on the same dead connection would be an unhandled `error` event and end the process. A listener of our
 * own on every new connection keeps it up and reports the outage.
 */
function watchPool(pool: MysqlPool, availability: DatabaseAvailability): void {
  const emitter = pool as unknown as Partial<Emitter>;
  if (typeof emitter.on !== 'function') return;
  emitter.on('connection', (connection: Emitter) => {
    connection.on('error', (error: unknown) => availability.failed(error));
  });
}
