import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import { KyselyReplicationDialect } from 'kysely-replication';
import { RoundRobinReplicaStrategy } from 'kysely-replication/strategy/round-robin';
import type { KaiwaDatabase } from './database.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { queryLogOption, type StoreObservability } from './query-log.js';

export type PostgresStoreConfig = StoreObservability & {
  /**
   * Read replicas (streaming standbys of the primary), e.g. `postgres://kaiwa@replica-1:5432/kaiwa`.
   * Reads through `store.lagTolerant` go to them in turn; everything else, transactions included, goes
   * to the primary.
   */
  replicaConnectionStrings?: string[];
  /** Pool size per replica; pg's default is 10. */
  maxReplicaConnections?: number;
} & (
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
  const pool = config.pool ?? (await openPool(config.connectionString, config.maxConnections));
  const db = new Kysely<KaiwaDatabase>({
    dialect: new PostgresDialect({ pool }),
    ...queryLogOption(config.onQuery),
  });
  const replicas = config.replicaConnectionStrings ?? [];
  if (replicas.length === 0) return new KyselyChatStore({ db, dialect: 'postgres' });

  const replicaPools = await Promise.all(
    replicas.map((connectionString) => openPool(connectionString, config.maxReplicaConnections)),
  );
  const primary = pool;
  const replicaDb = new Kysely<KaiwaDatabase>({
    dialect: new KyselyReplicationDialect({
      // Shares the primary's pool; the store's own kysely instance is the one that ends it.
      primaryDialect: new PostgresDialect({
        pool: { connect: () => primary.connect(), end: async () => {} },
      }),
      replicaDialects: replicaPools.map((replica) => new PostgresDialect({ pool: replica })) as [
        PostgresDialect,
        ...PostgresDialect[],
      ],
      replicaStrategy: new RoundRobinReplicaStrategy({ onTransaction: 'error' }),
    }),
    ...queryLogOption(config.onQuery),
  });
  return new KyselyChatStore({ db, dialect: 'postgres', replicaDb });
}

/** A `pg` pool on `connectionString`; `max` left to pg's default (10) when not given. */
async function openPool(connectionString: string, max: number | undefined): Promise<PostgresPool> {
  const { default: pg } = await importDriver('pg', '^8.13.0', () => import('pg'));
  return new pg.Pool({ connectionString, ...(max === undefined ? {} : { max }) });
}
