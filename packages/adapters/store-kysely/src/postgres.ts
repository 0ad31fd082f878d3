import { Kysely, PostgresDialect, type PostgresPool } from 'kysely';
import { KyselyReplicationDialect } from 'kysely-replication';
import { RoundRobinReplicaStrategy } from 'kysely-replication/strategy/round-robin';
import type { KaiwaDatabase } from './database.js';
import { DatabaseAvailability, type StoreAvailability, withDriverErrors } from './driver-error-dialect.js';
import { KyselyChatStore } from './kysely-chat-store.js';
import { importDriver } from './optional-driver.js';
import { pgPoolStatus } from './pool-status.js';
import { DEFAULT_MAX_PREPARED_PER_CONNECTION, preparingPool } from './prepared-statements.js';
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
    /**
     * Server-side prepared statements (default `true`): each SELECT/INSERT/UPDATE/DELETE/WITH statement is
     * sent as a named query (`k_` + a hash of its SQL), so PostgreSQL parses and plans it once per
     * connection rather than on every call. At most `maxPerConnection` (default 500) statements are
     * prepared per connection; more distinct texts go unnamed. DDL through the store (`migrate()`) makes
     * every connection drop and re-prepare its statements; a schema changed by another process is noticed
     * by PostgreSQL's "cached plan must not change result type", which is retried once unnamed outside a
     * transaction (a transaction that meets it fails once per connection, and succeeds when run again).
     * Set `false` behind a pooler that does not keep named statements per client, e.g. PgBouncer in
     * transaction mode before 1.21 (or with `max_prepared_statements = 0`).
     *
     * @example
     * createPostgresStore({ connectionString, preparedStatements: { maxPerConnection: 200 } });
     */
    preparedStatements?: boolean | { maxPerConnection: number };
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
  const prepare = preparedStatementLimit(config.preparedStatements);
  const pool = config.pool ?? (await openPool(config.connectionString, config.maxConnections));
  watchPool(pool, availability);
  // The primary's pool as kysely sees it: the store and the replication dialect share it (and its
  // per-connection statement names).
  const primaryPool = prepare === undefined ? pool : preparingPool(pool, prepare);
  const db = new Kysely<KaiwaDatabase>({
    dialect: withDriverErrors(new PostgresDialect({ pool: primaryPool }), availability),
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
  const replicaDb = new Kysely<KaiwaDatabase>({
    dialect: withDriverErrors(
      new KyselyReplicationDialect({
        // Shares the primary's pool; the store's own kysely instance is the one that ends it.
        primaryDialect: new PostgresDialect({
          pool: { connect: () => primaryPool.connect(), end: async () => {} },
        }),
        replicaDialects: replicaPools.map(
          (replica) =>
            new PostgresDialect({ pool: prepare === undefined ? replica : preparingPool(replica, prepare) }),
        ) as [PostgresDialect, ...PostgresDialect[]],
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

/**
 * How many statements each connection prepares, or undefined when preparing is off.
 *
 * @throws TypeError naming `preparedStatements.maxPerConnection` when it is not a positive integer.
 */
function preparedStatementLimit(option: PostgresStoreConfig['preparedStatements']): number | undefined {
  if (option === false) return undefined;
  if (option === undefined || option === true) return DEFAULT_MAX_PREPARED_PER_CONNECTION;
  const { maxPerConnection } = option;
  if (!Number.isInteger(maxPerConnection) || maxPerConnection < 1) {
    throw new TypeError(
      `preparedStatements.maxPerConnection must be a positive integer, got ${String(maxPerConnection)}`,
    );
  }
  return maxPerConnection;
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
