import type {
  CompiledQuery,
  DatabaseConnection,
  DatabaseIntrospector,
  Dialect,
  DialectAdapter,
  Driver,
  Kysely,
  QueryCompiler,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { isDatabaseUnavailable, translateDriverError } from './driver-errors.js';

/** A change between "the database answers" and "it does not", reported once per outage. */
export type DatabaseAvailabilityChange =
  | {
      available: false;
      /** The driver error that began the outage (a refused connection, a terminated session, …). */
      error: unknown;
    }
  | {
      available: true;
      /** How long the database did not answer, from the first failure to the first success. */
      unavailableMs: number;
    };

/** Options every store factory takes about the database going away. */
export interface StoreAvailability {
  /**
   * Hears when the database stops answering and when it answers again: once per outage each, however
   * many queries failed in between, so it suits a log line or a metric. What it throws is ignored.
   *
   * @example
   * const store = await createPostgresStore({
   *   connectionString,
   *   onAvailabilityChange: (change) =>
   *     change.available
   *       ? logger.info({ unavailableMs: change.unavailableMs }, 'database back')
   *       : logger.warn({ err: change.error }, 'database unavailable'),
   * });
   */
  onAvailabilityChange?: (change: DatabaseAvailabilityChange) => void;
}

/**
 * Whether the database answered last time: flips to unavailable on the first driver error that means
 * "not reachable" (from a query or from an idle pooled connection) and back on the next success.
 */
export class DatabaseAvailability {
  readonly #listener: ((change: DatabaseAvailabilityChange) => void) | undefined;
  #unavailableSince: number | undefined;

  constructor(listener?: (change: DatabaseAvailabilityChange) => void) {
    this.#listener = listener;
  }

  /** False from the first failure of an outage until the next success. */
  get available(): boolean {
    return this.#unavailableSince === undefined;
  }

  /** Notes a driver error; only errors that mean "not reachable" start an outage. */
  failed(error: unknown): void {
    if (this.#unavailableSince !== undefined || !isDatabaseUnavailable(error)) return;
    this.#unavailableSince = Date.now();
    this.#tell({ available: false, error });
  }

  /** Notes that the database answered. */
  answered(): void {
    if (this.#unavailableSince === undefined) return;
    const unavailableMs = Date.now() - this.#unavailableSince;
    this.#unavailableSince = undefined;
    this.#tell({ available: true, unavailableMs });
  }

  #tell(change: DatabaseAvailabilityChange): void {
    try {
      this.#listener?.(change);
    } catch {
      // A broken listener must not turn into a failed query.
    }
  }
}

/**
 * Wraps a kysely dialect so every driver call (connecting, queries, begin, commit, rollback) turns the
 * driver errors that mean "retry later" into Kaiwa's `DatabaseUnavailableError` and `DatabaseBusyError`
 * (see driver-errors.ts), and reports outages to `availability`. It sits below kysely, so every path into
 * the database — repositories, transactions, migrations, replica reads — goes through it once.
 *
 * @example
 * const db = new Kysely<KaiwaDatabase>({ dialect: withDriverErrors(new PostgresDialect({ pool })) });
 */
export function withDriverErrors(dialect: Dialect, availability = new DatabaseAvailability()): Dialect {
  return withDriver(dialect, (driver) => new TranslatingDriver(driver, availability));
}

/** The same dialect with its driver wrapped: the one way the store's dialect layers (errors, WAL sync) stack. */
export function withDriver(dialect: Dialect, wrap: (driver: Driver) => Driver): Dialect {
  return {
    createDriver: () => wrap(dialect.createDriver()),
    createQueryCompiler: (): QueryCompiler => dialect.createQueryCompiler(),
    createAdapter: (): DialectAdapter => dialect.createAdapter(),
    // biome-ignore lint/suspicious/noExplicitAny: kysely's own Dialect signature.
    createIntrospector: (db: Kysely<any>): DatabaseIntrospector => dialect.createIntrospector(db),
  };
}

class TranslatingConnection implements DatabaseConnection {
  readonly inner: DatabaseConnection;
  readonly #availability: DatabaseAvailability;

  constructor(inner: DatabaseConnection, availability: DatabaseAvailability) {
    this.inner = inner;
    this.#availability = availability;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return guarded(this.#availability, () => this.inner.executeQuery<R>(compiledQuery));
  }

  async *streamQuery<R>(
    compiledQuery: CompiledQuery,
    chunkSize?: number,
  ): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(compiledQuery, chunkSize);
      this.#availability.answered();
    } catch (error) {
      this.#availability.failed(error);
      throw translateDriverError(error);
    }
  }
}

class TranslatingDriver implements Driver {
  readonly #inner: Driver;
  readonly #availability: DatabaseAvailability;
  // The inner driver keys its own state on its own connection objects, so it always gets those back.
  readonly #wrappers = new WeakMap<DatabaseConnection, TranslatingConnection>();

  constructor(inner: Driver, availability: DatabaseAvailability) {
    this.#inner = inner;
    this.#availability = availability;
  }

  init(): Promise<void> {
    return guarded(this.#availability, () => this.#inner.init());
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await guarded(this.#availability, () => this.#inner.acquireConnection());
    let wrapper = this.#wrappers.get(connection);
    if (wrapper === undefined) {
      wrapper = new TranslatingConnection(connection, this.#availability);
      this.#wrappers.set(connection, wrapper);
    }
    return wrapper;
  }

  // Transaction control gets the inner connection with the wrapper's `executeQuery`: kysely's drivers run
  // `begin`, `commit` and savepoints through `connection.executeQuery`, and kysely's query log (`onQuery`)
  // sits on the wrapper, while the drivers' own symbol-keyed methods must find their own connection.
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return guarded(this.#availability, () => this.#inner.beginTransaction(forControl(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return guarded(this.#availability, () => this.#inner.commitTransaction(forControl(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return guarded(this.#availability, () => this.#inner.rollbackTransaction(forControl(connection)));
  }

  savepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    const savepoint = this.#inner.savepoint?.bind(this.#inner);
    if (!savepoint) throw new Error('The `savepoint` method is not supported by this driver');
    return guarded(this.#availability, () => savepoint(forControl(connection), savepointName, compileQuery));
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    const rollback = this.#inner.rollbackToSavepoint?.bind(this.#inner);
    if (!rollback) throw new Error('The `rollbackToSavepoint` method is not supported by this driver');
    return guarded(this.#availability, () => rollback(forControl(connection), savepointName, compileQuery));
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    savepointName: string,
    compileQuery: QueryCompiler['compileQuery'],
  ): Promise<void> {
    const release = this.#inner.releaseSavepoint?.bind(this.#inner);
    if (!release) throw new Error('The `releaseSavepoint` method is not supported by this driver');
    return guarded(this.#availability, () => release(forControl(connection), savepointName, compileQuery));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.#inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

const controlViews = new WeakMap<TranslatingConnection, DatabaseConnection>();

/** The inner connection as the driver knows it, but running statements through the (logged) wrapper. */
function forControl(connection: DatabaseConnection): DatabaseConnection {
  if (!(connection instanceof TranslatingConnection)) return connection;
  let view = controlViews.get(connection);
  if (view === undefined) {
    view = new Proxy(connection.inner, {
      get(target, property) {
        if (property === 'executeQuery') {
          return (query: CompiledQuery) => connection.executeQuery(query);
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    controlViews.set(connection, view);
  }
  return view;
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TranslatingConnection ? connection.inner : connection;
}

async function guarded<T>(availability: DatabaseAvailability, call: () => Promise<T>): Promise<T> {
  try {
    const result = await call();
    availability.answered();
    return result;
  } catch (error) {
    availability.failed(error);
    throw translateDriverError(error);
  }
}
