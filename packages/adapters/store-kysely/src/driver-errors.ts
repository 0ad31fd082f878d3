import { DatabaseBusyError, DatabaseUnavailableError, KaiwaError } from '@kaiwa/core';

/*
 * Which driver errors mean "the database cannot be reached right now" and which mean "it is busy", for
 * pg, mysql2 and better-sqlite3. The three drivers' codes do not overlap (PostgreSQL SQLSTATEs are five
 * characters, mysql2 names its codes ER_… and PROTOCOL_…, better-sqlite3 SQLITE_…), so one table serves
 * all three. Everything not listed here (constraint violations, syntax errors, bad data) is a bug or a
 * rule and passes through unchanged, so the repositories' own handling (unique-violations.ts) still works.
 */

/** Node's socket errors: the server is down, restarting, or the network between us dropped the link. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs of a lost or refused session: class 08 (connection exception), 57P01
 * admin_shutdown (`pg_terminate_backend`, a fast shutdown), 57P02 crash_shutdown (an immediate shutdown
 * or a crashed backend), 57P03 cannot_connect_now (starting up, shutting down, in recovery).
 */
const POSTGRES_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123])$/;

/** pg's own errors when the socket went away; they carry no code, only these messages. */
const POSTGRES_MESSAGES = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
  /^Client was closed and is not queryable/,
];

/** mysql2 codes for a lost, refused, killed or overloaded server connection. */
const MYSQL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_USER_LIMIT_REACHED',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'ER_SERVER_GONE_ERROR',
  'ER_SERVER_LOST',
  'ER_SERVER_LOST_EXTENDED',
]);

/**
 * The same by number, for servers whose codes mysql2 does not name: 1040 too many connections, 1053
 * shutdown in progress, 1203 and 1226 max_user_connections, 1317 query interrupted (`KILL QUERY`), 1927
 * connection killed (MariaDB's `KILL`), 2006 server gone away, 2013 lost during query.
 */
const MYSQL_ERRNOS = new Set([1040, 1053, 1203, 1226, 1317, 1927, 2006, 2013]);

/** mysql2's message when a command is queued on a connection that already died. */
const MYSQL_MESSAGES = [/^Can't add new command when connection is in closed state/];

/** better-sqlite3's codes for a lock held by another connection, e.g. SQLITE_BUSY_SNAPSHOT. */
const SQLITE_BUSY = /^SQLITE_(BUSY|LOCKED)(_|$)/;

/** How long a caller should wait before retrying, sent as `Retry-After` and `retryAfterMs`. */
export const DATABASE_RETRY_AFTER_MS = 1000;

interface DriverErrorFields {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** True when `error`, from any of the three drivers, means the database cannot be reached right now. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || KaiwaError.isInstance(error)) return false;
  const { code, errno, message, errors } = error as DriverErrorFields;
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code) || POSTGRES_UNAVAILABLE.test(code) || MYSQL_CODES.has(code)) return true;
  }
  // Node's own errnos are negative, so these positive MySQL numbers cannot be mistaken for them.
  if (typeof errno === 'number' && MYSQL_ERRNOS.has(errno)) return true;
  if (typeof message === 'string' && typeof code !== 'string') {
    if (POSTGRES_MESSAGES.some((pattern) => pattern.test(message))) return true;
    if (MYSQL_MESSAGES.some((pattern) => pattern.test(message))) return true;
  }
  // Node reports a refused connection to a host with several addresses as an AggregateError.
  return Array.isArray(errors) && errors.length > 0 && errors.every(isDatabaseUnavailable);
}

/** True when `error` is SQLite's "database is locked" (another connection holds the write lock). */
export function isDatabaseBusy(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code } = error as DriverErrorFields;
  return typeof code === 'string' && SQLITE_BUSY.test(code);
}

/**
 * The typed Kaiwa error for a driver error that means "retry later", or `error` itself when it means
 * anything else. The driver's error stays reachable as `cause`, for logs; the message shown to clients
 * names neither hosts nor SQL.
 *
 * @example
 * try {
 *   await client.query('select 1');
 * } catch (error) {
 *   throw translateDriverError(error); // a DatabaseUnavailableError after pg_terminate_backend
 * }
 */
export function translateDriverError(error: unknown): unknown {
  if (error instanceof DatabaseUnavailableError || error instanceof DatabaseBusyError) return error;
  if (isDatabaseUnavailable(error)) {
    return new DatabaseUnavailableError('the database is not reachable right now; retry shortly', {
      cause: error,
      retryAfterMs: DATABASE_RETRY_AFTER_MS,
    });
  }
  if (isDatabaseBusy(error)) {
    return new DatabaseBusyError('the database is busy with another writer; retry shortly', {
      cause: error,
      retryAfterMs: DATABASE_RETRY_AFTER_MS,
    });
  }
  return error;
}
