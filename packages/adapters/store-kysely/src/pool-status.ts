/**
 * One connection pool's state at the moment it is read, for monitoring (the server's
 * `kaiwa_database_pool_*` gauges). SQLite has no pool: its store reports none.
 */
export interface DatabasePoolStatus {
  /** `primary`, or `replica-1`, `replica-2`, … for PostgreSQL read replicas in the order configured. */
  pool: string;
  /** Connections open to the database server, in use or idle. */
  open: number;
  /** Open connections nobody uses right now. */
  idle: number;
  /** Requests waiting for a connection because the pool has `max` open and all are in use. */
  waiting: number;
  /** The most connections the pool opens. */
  max: number;
}

/** Reads a pool's status; undefined when the pool does not tell (a pool of another kind was passed in). */
export type PoolStatusReader = () => DatabasePoolStatus | undefined;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** pg's Pool: `totalCount`, `idleCount`, `waitingCount` and `options.max` are its public API. */
export function pgPoolStatus(name: string, pool: object): PoolStatusReader {
  const pg = pool as {
    totalCount?: unknown;
    idleCount?: unknown;
    waitingCount?: unknown;
    options?: { max?: unknown };
  };
  return () => {
    const { totalCount, idleCount, waitingCount } = pg;
    const max = pg.options?.max;
    if (!isCount(totalCount) || !isCount(idleCount) || !isCount(waitingCount) || !isCount(max))
      return undefined;
    return { pool: name, open: totalCount, idle: idleCount, waiting: waitingCount, max };
  };
}

/**
 * mysql2's pool (the callback API) has no public statistics: this reads the queues it keeps of all
 * connections, free connections and waiting requests (`_allConnections`, `_freeConnections`,
 * `_connectionQueue`, unchanged since mysql2 1.x and in `mysql` before it) and `config.connectionLimit`.
 * Should a mysql2 release rename them, the status is undefined (the gauges go absent), never a wrong number;
 * the MariaDB test fails then.
 */
export function mysqlPoolStatus(name: string, pool: object): PoolStatusReader {
  const mysql = pool as {
    _allConnections?: { length?: unknown };
    _freeConnections?: { length?: unknown };
    _connectionQueue?: { length?: unknown };
    config?: { connectionLimit?: unknown };
  };
  return () => {
    const open = mysql._allConnections?.length;
    const idle = mysql._freeConnections?.length;
    const waiting = mysql._connectionQueue?.length;
    const max = mysql.config?.connectionLimit;
    if (!isCount(open) || !isCount(idle) || !isCount(waiting) || !isCount(max)) return undefined;
    // A limit of 0 means no limit in mysql2.
    return { pool: name, open, idle, waiting, max: max === 0 ? Number.POSITIVE_INFINITY : max };
  };
}
