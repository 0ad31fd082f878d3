import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import { KyselyReplicationDialect } from 'kysely-replication';
import { RoundRobinReplicaStrategy } from 'kysely-replication/strategy/round-robin';
import type { KaiwaDatabase } from './database.js';
import { DatabaseAvailability, type StoreAvailability, withDriverErrors } from './driver-error-dialect.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { pgPoolStatus } from './pool-status.js';
import { queryLogOption, type StoreObservability } from './query-log.js';

export type PostgresStoreConfig = StoreObservability &
  StoreAvailability & {
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
 * The process survives the database going away (a restart, a failover, `pg_terminate_backend`, an idle
 * connection reaper): every pool and pooled client gets an `error` listener, calls fail with a retryable
 * `DatabaseUnavailableError` while the server does not answer, pg's pool opens fresh connections once it
 * does, and `onAvailabilityChange` hears about the outage once. A connection attempt gives up after 5 s.
 *
 * @throws when pg is not installed, naming the version to install.
 * @example
 * const store = await createPostgresStore({ connectionString: process.env.DATABASE_URL! });
 * await store.migrate();
 */
export async function createPostgresStore(config: PostgresStoreConfig): Promise<KyselyChatStore> {
  const availability = new DatabaseAvailability(config.onAvailabilityChange);
  const pool = config.pool ?? (await openPool(config.connectionString, config.maxConnections));
  watchPool(pool, availability);
  const db = new Kysely<KaiwaDatabase>({
    dialect: withDriverErrors(new PostgresDialect({ pool }), availability),
    ...queryLogOption(config.onQuery),
  });
  const replicas = config.replicaConnectionStrings ?? [];
  const primaryStatus = pgPoolStatus('primary', pool);
  if (replicas.length === 0) return new KyselyChatStore({ db, dialect: 'postgres', pools: [primaryStatus] });

  const replicaPools = await Promise.all(
    replicas.map((connectionString) => openPool(connectionString, config.maxReplicaConnections)),
  );
  // Tracked apart from the primary, so a replica that answers does not end an outage of the primary.
  const replicaAvailability = new DatabaseAvailability(config.onAvailabilityChange);
  for (const replica of replicaPools) watchPool(replica, replicaAvailability);
  const primary = pool;
  const replicaDb = new Kysely<KaiwaDatabase>({
    dialect: withDriverErrors(
      new KyselyReplicationDialect({
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
      replicaAvailability,
    ),
    ...queryLogOption(config.onQuery),
  });
  const pools = [
    primaryStatus,
    ...replicaPools.map((replica, index) => pgPoolStatus(`replica-${index + 1}`, replica)),
  ];
  return new KyselyChatStore({ db, dialect: 'postgres', replicaDb, pools });
}

/** How long a request waits for a connection to a database that does not answer, before it fails. */
const CONNECT_TIMEOUT_MS = 5000;

/** A `pg` pool on `connectionString`; `max` left to pg's default (10) when not given. */
async function openPool(connectionString: string, max: number | undefined): Promise<PostgresPool> {
  const { default: pg } = await importDriver('pg', '^8.13.0', () => import('pg'));
  return new pg.Pool({
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(max === undefined ? {} : { max }),
  });
}

interface Emitter {
  on(event: string, listener: (...args: never[]) => void): unknown;
}

/**
 * Listens for errors on the pool (an idle client lost its server) and on every client it opens (a
 * client in use lost its server between queries). Without a listener Node treats an `error` event as
 * fatal and ends the process; pg's pool itself drops the broken client and opens a new one when asked.
 */
function watchPool(pool: PostgresPool, availability: DatabaseAvailability): void {
  const emitter = pool as unknown as Partial<Emitter>;
  if (typeof emitter.on !== 'function') return;
  emitter.on('error', (error: unknown) => availability.failed(error));
  emitter.on('connect', (client: Emitter) => {
    client.on('error', (error: unknown) => availability.failed(error));
  });
}
